# tests/distributed/extra.cmake — the rank-failure tests (DISTILLERY_MPI=ON only).
#
# distributed/mpi_failure_kill   rank 1 SIGKILLs itself at step 3 of a data-parallel loop
# distributed/mpi_failure_throw  rank 1 throws at step 3 (distributed::run -> MPI_Abort)
# distributed/mpi_failure_hang   rank 1 sleeps at step 3; rank 0's 3 s collective timeout aborts
# Both run test_distributed_mpi_ddp --distillery-test-fail=... under mpirun -np 2 through
# mpi_failure.cmake, which requires: mpirun exits non-zero well before its 60 s limit (no hang)
# and rank 0 printed why it was stopped ("distillery [rank 0/2 ...]: terminated by SIGTERM while
# in all_reduce ..."; for throw also rank 1's "error: ... injected failure"; for hang rank 0's
# "error: ... did not complete within 3 s" and rank 1's SIGTERM line).
if(DISTILLERY_MPI AND TARGET test_distributed_mpi_ddp)
  string(REPLACE ";" "|" _mpiexec "${DISTILLERY_MPIEXEC}")  # a list through add_test: use |
  foreach(_how kill throw hang)
    add_test(NAME distributed/mpi_failure_${_how}
      COMMAND ${CMAKE_COMMAND}
        "-DMPIEXEC=${_mpiexec}"
        -DEXE=$<TARGET_FILE:test_distributed_mpi_ddp>
        -DHOW=${_how}
        -P ${CMAKE_CURRENT_LIST_DIR}/mpi_failure.cmake)
    set_tests_properties(distributed/mpi_failure_${_how} PROPERTIES
      LABELS "distributed;mpi" TIMEOUT 120 PROCESSORS 2
      ENVIRONMENT "${_distillery_test_env}")
  endforeach()
endif()
