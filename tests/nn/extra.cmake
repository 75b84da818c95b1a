# tests/nn/extra.cmake — nn/inference_oversubscribed: the InferencePlan zero-allocation checks
# again with 8 threads on however many cores there are. Workers then claim chunks late and
# irregularly, so a chunk the caller ran during warm-up is later run by a worker: per-THREAD
# scratch allocated there (seen in CI at 2 threads, and every time at 8); per-CHUNK scratch
# (backend/cpu/parallel.hpp) does not.
if(TARGET test_nn_inference)
  add_test(NAME nn/inference_oversubscribed COMMAND test_nn_inference
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(nn/inference_oversubscribed PROPERTIES
    LABELS "nn" TIMEOUT ${DISTILLERY_TEST_TIMEOUT}
    ENVIRONMENT "${_distillery_test_env};OMP_NUM_THREADS=8")
endif()
