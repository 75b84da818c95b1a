# tests/rl/extra.cmake — the MuJoCo environment test links MuJoCo when the root found it; without
# MuJoCo it compiles to a program that exits 77, which ctest reports as skipped.
if(TARGET test_rl_mujoco_env)
  set_tests_properties(rl/mujoco_env PROPERTIES SKIP_RETURN_CODE 77)
  if(DISTILLERY_HAS_MUJOCO)
    target_link_libraries(test_rl_mujoco_env PRIVATE mujoco::mujoco)
    target_compile_definitions(test_rl_mujoco_env PRIVATE DISTILLERY_HAS_MUJOCO=1)
  endif()
endif()
