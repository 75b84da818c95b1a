# tests/examples/embedded_check.cmake — run by tests/examples/extra.cmake with
#   -DLENET=<lenet_mnist> -DEMBEDDED=<embedded_lenet> -DDATA=<data dir> -DWORK_DIR=<fresh temp dir>
# Trains LeNet-5 briefly (1 epoch on 1,000 digits) with `--save`, then classifies the 2,000 held-out
# digits with embedded_lenet (nn::InferencePlan, batch 1) from that checkpoint: the accuracy it
# prints must equal the held-out accuracy lenet_mnist printed (same images, same numbers).
# A skip prints "SKIP: why" (ctest: SKIP_REGULAR_EXPRESSION).
foreach(_bin "${LENET}" "${EMBEDDED}")
  if(NOT EXISTS "${_bin}")
    message("SKIP: ${_bin} not built")
    return()
  endif()
endforeach()
if(NOT EXISTS "${DATA}/mnist")
  message("SKIP: ${DATA}/mnist missing (scripts/get-data.sh)")
  return()
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(_ckpt "${WORK_DIR}/lenet.safetensors")

execute_process(COMMAND "${LENET}" --epochs 1 --limit 1000 --data "${DATA}" --save "${_ckpt}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0 OR NOT EXISTS "${_ckpt}")
  message(FATAL_ERROR "lenet_mnist --save: exit status ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()
if(NOT out MATCHES "held-out accuracy ([0-9.]+) \\(2000 images\\)")
  message(FATAL_ERROR "lenet_mnist printed no held-out accuracy:\n${out}")
endif()
set(_trained "${CMAKE_MATCH_1}")

execute_process(COMMAND "${EMBEDDED}" --checkpoint "${_ckpt}" --data "${DATA}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 120)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "embedded_lenet: exit status ${rc}\nstdout: ${out}\nstderr: ${err}")
endif()
if(NOT out MATCHES "2000 images, accuracy ([0-9.]+),")
  message(FATAL_ERROR "embedded_lenet printed no accuracy over 2000 images:\n${out}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL _trained)
  message(FATAL_ERROR "embedded_lenet accuracy ${CMAKE_MATCH_1} != lenet_mnist's ${_trained}\n${out}")
endif()
message("lenet_mnist held-out accuracy ${_trained}; embedded_lenet: ${out}")
