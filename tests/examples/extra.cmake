# tests/examples/extra.cmake — the demo path, as a newcomer runs it (scripts/demo.sh -> tour):
#   examples/tour_quick   `tour --quick` in an empty temporary working directory (no out/, no
#                         build artefacts, only the binary and the data path); checks its JSON
#                         (keys, three methods, sane accuracies) and that out/ was created.
#   examples/tour_errors  a bad output path and a bad flag: exactly one stderr line
#                         "tour: error: ...", exit status 1, nothing trained.
# Both skip (they print "SKIP: ...") when the tour is not built or data/mnist is missing (scripts/get-data.sh).
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_tour)
  foreach(_case quick errors)
    add_test(NAME examples/tour_${_case}
      COMMAND ${CMAKE_COMMAND} -DCASE=${_case} -DTOUR=$<TARGET_FILE:example_tour>
              -DDATA=${PROJECT_SOURCE_DIR}/data/mnist
              -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples_tour_${_case}
              -P ${CMAKE_CURRENT_LIST_DIR}/tour_check.cmake)
    set_tests_properties(examples/tour_${_case} PROPERTIES
      LABELS "examples" TIMEOUT ${DISTILLERY_TEST_TIMEOUT} SKIP_REGULAR_EXPRESSION "SKIP: "
      ENVIRONMENT "OMP_WAIT_POLICY=passive;OMP_NUM_THREADS=2")
  endforeach()
endif()

#   examples/embedded_lenet  `lenet_mnist --epochs 1 --limit 1000 --save` into a temporary dir, then
#                            `embedded_lenet` on that checkpoint: same held-out accuracy (issue 25).
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_lenet_mnist AND TARGET example_embedded_lenet)
  add_test(NAME examples/embedded_lenet
    COMMAND ${CMAKE_COMMAND} -DLENET=$<TARGET_FILE:example_lenet_mnist>
            -DEMBEDDED=$<TARGET_FILE:example_embedded_lenet> -DDATA=${PROJECT_SOURCE_DIR}/data
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples_embedded_lenet
            -P ${CMAKE_CURRENT_LIST_DIR}/embedded_check.cmake)
  set_tests_properties(examples/embedded_lenet PROPERTIES
    LABELS "examples" TIMEOUT ${DISTILLERY_TEST_TIMEOUT} SKIP_REGULAR_EXPRESSION "SKIP: "
    ENVIRONMENT "OMP_WAIT_POLICY=passive;OMP_NUM_THREADS=1")
endif()

#   examples/dpd_run_dir  `dpd --run-dir`: a job split over processes gives one process's returns;
#                         live claims are respected, stale ones taken over (issue 22's long runs).
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_dpd)
  add_test(NAME examples/dpd_run_dir
    COMMAND ${CMAKE_COMMAND} -DDPD=$<TARGET_FILE:example_dpd>
            -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples_dpd_run_dir
            -P ${CMAKE_CURRENT_LIST_DIR}/dpd_run_dir_check.cmake)
  set_tests_properties(examples/dpd_run_dir PROPERTIES
    LABELS "examples" TIMEOUT ${DISTILLERY_TEST_TIMEOUT} SKIP_REGULAR_EXPRESSION "SKIP: "
    ENVIRONMENT "OMP_WAIT_POLICY=passive;OMP_NUM_THREADS=1")
endif()
