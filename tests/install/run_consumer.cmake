# tests/install/run_consumer.cmake — cmake -P driver for the install tests (see ../CMakeLists.txt).
#   MODE=package       cmake --install DISTILLERY_BINARY_DIR into WORK_DIR/prefix, then configure
#                      the consumer with -DCMAKE_PREFIX_PATH=WORK_DIR/prefix
#   MODE=subdirectory  configure the consumer with -DDISTILLERY_SOURCE_DIR (add_subdirectory)
#   LINK=distillery|headers  which target the consumer links (tests/install/CMakeLists.txt)
# then build the consumer and run it.
foreach(_var MODE DISTILLERY_SOURCE_DIR DISTILLERY_BINARY_DIR CONSUMER_SOURCE_DIR WORK_DIR)
  if(NOT DEFINED ${_var} OR "${${_var}}" STREQUAL "")
    message(FATAL_ERROR "run_consumer.cmake: -D${_var}=... is required")
  endif()
endforeach()
if(NOT CONFIG)
  set(CONFIG Release)
endif()

function(run_step what)
  message(STATUS "[install test] ${what}")
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE _rc)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "[install test] ${what} failed (${_rc}): ${ARGN}")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(_configure_args -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build -DCMAKE_BUILD_TYPE=${CONFIG}
                    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF)
if(GENERATOR)
  list(APPEND _configure_args -G ${GENERATOR})
endif()
if(LINK)
  list(APPEND _configure_args -DCONSUMER_LINK=${LINK})
endif()
if(CXX_COMPILER)
  list(APPEND _configure_args -DCMAKE_CXX_COMPILER=${CXX_COMPILER})
endif()

if(MODE STREQUAL "package")
  set(_prefix ${WORK_DIR}/prefix)
  run_step("install into ${_prefix}"
           ${CMAKE_COMMAND} --install ${DISTILLERY_BINARY_DIR} --prefix ${_prefix} --config ${CONFIG})
  if(NOT EXISTS ${_prefix}/include/distillery/distillery.hpp)
    message(FATAL_ERROR "[install test] include/distillery/distillery.hpp was not installed")
  endif()
  file(GLOB_RECURSE _kernels_lib ${_prefix}/*distillery_kernels*)
  if(NOT _kernels_lib)
    message(FATAL_ERROR "[install test] the distillery_kernels library was not installed")
  endif()
  list(APPEND _configure_args -DCMAKE_PREFIX_PATH=${_prefix})
elseif(MODE STREQUAL "subdirectory")
  list(APPEND _configure_args -DDISTILLERY_SOURCE_DIR=${DISTILLERY_SOURCE_DIR})
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

run_step("configure consumer (${MODE})" ${CMAKE_COMMAND} ${_configure_args})
run_step("build consumer" ${CMAKE_COMMAND} --build ${WORK_DIR}/build --config ${CONFIG})

if(EXISTS ${WORK_DIR}/build/consumer)
  set(_exe ${WORK_DIR}/build/consumer)
else()
  set(_exe ${WORK_DIR}/build/${CONFIG}/consumer)  # multi-config generators
endif()
run_step("run consumer" ${_exe})
