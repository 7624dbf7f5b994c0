# Configures, builds and runs tests/consumer in MODE find_package (after installing tsgan from
# TSGAN_BINARY_DIR into a private prefix) or add_subdirectory.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
set(args -S ${TSGAN_SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build -G ${GENERATOR}
         -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DTSGAN_CONSUMER_MODE=${MODE}
         -DTSGAN_SOURCE_DIR=${TSGAN_SOURCE_DIR} -DTSGAN_CUDA=OFF)
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${TSGAN_BINARY_DIR} --prefix ${prefix}
                  RESULT_VARIABLE r OUTPUT_QUIET)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "installing tsgan into ${prefix} failed")
  endif()
  list(APPEND args -DCMAKE_PREFIX_PATH=${prefix})
endif()
foreach(step configure build run)
  if(step STREQUAL "configure")
    set(cmd ${CMAKE_COMMAND} ${args})
  elseif(step STREQUAL "build")
    set(cmd ${CMAKE_COMMAND} --build ${WORK_DIR}/build)
  else()
    set(cmd ${WORK_DIR}/build/consumer)
  endif()
  execute_process(COMMAND ${cmd} RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "consumer (${MODE}) ${step} failed:\n${out}\n${err}")
  endif()
endforeach()
message(STATUS "consumer (${MODE}): ${out}")
