# tests/ops/extra.cmake — included by tests/CMakeLists.txt after the ops/* tests are defined.
#
# The op table and the determinism test run many short OpenMP regions (the "large" entries sit
# just above the parallel grain). libgomp's default active wait spins between regions; on a
# loaded or oversubscribed machine (ctest -j with 2 threads per test on 2 cores) that made
# ops/ops_table ~15x slower. A passive wait changes timing only: the same threads and the same
# code paths run.
foreach(_distillery_ops_test ops/ops_table ops/determinism ops/autograd)
  if(TEST ${_distillery_ops_test})
    set_property(TEST ${_distillery_ops_test} APPEND PROPERTY ENVIRONMENT "OMP_WAIT_POLICY=passive")
  endif()
endforeach()
