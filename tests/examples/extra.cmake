# tests/examples/extra.cmake — the demo path, as a newcomer runs it (scripts/demo.sh -> tour):
#   examples/tour_quick   `tour --quick` in an empty temporary working directory (no out/, no
#                         build artefacts, only the binary and the data path); checks its JSON
#                         (keys, three methods, sane accuracies) and that out/ was created.
#   examples/tour_errors  a bad output path and a bad flag: exactly one stderr line
#                         "tour: error: ...", exit status 1, nothing trained.
# Both skip (they print "SKIP: ...") when the tour is not built or data/mnist is missing (scripts/get-data.sh).
# example_check(NAME SCRIPT THREADS -DVAR=value ...): `cmake -P SCRIPT` with the given -D values
# and WORK_DIR, labelled "examples", skipped when the script prints "SKIP: ".
function(example_check name script threads)
  add_test(NAME examples/${name}
    COMMAND ${CMAKE_COMMAND} ${ARGN} -DWORK_DIR=${CMAKE_CURRENT_BINARY_DIR}/examples_${name}
            -P ${CMAKE_CURRENT_LIST_DIR}/${script})
  set_tests_properties(examples/${name} PROPERTIES
    LABELS "examples" TIMEOUT ${DISTILLERY_TEST_TIMEOUT} SKIP_REGULAR_EXPRESSION "SKIP: "
    ENVIRONMENT "OMP_WAIT_POLICY=passive;OMP_NUM_THREADS=${threads}")
endfunction()

if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_tour)
  foreach(_case quick errors)
    example_check(tour_${_case} tour_check.cmake 2 -DCASE=${_case}
                  -DTOUR=$<TARGET_FILE:example_tour> -DDATA=${PROJECT_SOURCE_DIR}/data/mnist)
  endforeach()
endif()

#   examples/embedded_lenet  `lenet_mnist --epochs 1 --limit 1000 --save` into a temporary dir, then
#                            `embedded_lenet` on that checkpoint: same held-out accuracy (issue 25).
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_lenet_mnist AND TARGET example_embedded_lenet)
  example_check(embedded_lenet embedded_check.cmake 1 -DLENET=$<TARGET_FILE:example_lenet_mnist>
                -DEMBEDDED=$<TARGET_FILE:example_embedded_lenet> -DDATA=${PROJECT_SOURCE_DIR}/data)
endif()

#   examples/dpd_run_dir  `dpd --run-dir`: a job split over processes gives one process's returns;
#                         live claims are respected, stale ones taken over (issue 22's long runs).
if(DISTILLERY_BUILD_EXAMPLES AND TARGET example_dpd)
  example_check(dpd_run_dir dpd_run_dir_check.cmake 1 -DDPD=$<TARGET_FILE:example_dpd>)
endif()
