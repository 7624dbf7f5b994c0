# Usage: cmake -DINTEROP=<module_interop> -DSCRIPT=<module_torch.py> -DWORK_DIR=<dir>
#              [-DPYTHON=<python>] -P run_module_torch.cmake
# tsgan writes a module checkpoint and its output; PyTorch loads the checkpoint into the same
# network and compares its forward pass. Skipped (tsgan-skip:) without a Python that imports torch.
include(${CMAKE_CURRENT_LIST_DIR}/find_torch_python.cmake)
if(NOT python)
  message("tsgan-skip: no python3 that imports torch and numpy (tried: ${candidates}); "
          "install python3-torch or set TSGAN_TEST_PYTHON")
  return()
endif()
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
execute_process(COMMAND ${INTEROP} ${WORK_DIR}/net.safetensors ${WORK_DIR}/io.safetensors
                RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT r EQUAL 0)
  message(FATAL_ERROR "module_interop failed (${r}):\n${out}${err}")
endif()
execute_process(COMMAND ${python} ${SCRIPT} ${WORK_DIR}/net.safetensors ${WORK_DIR}/io.safetensors
                RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "${out}")
if(NOT r EQUAL 0)
  message(FATAL_ERROR "PyTorch disagrees with tsgan (${r}):\n${out}${err}")
endif()
