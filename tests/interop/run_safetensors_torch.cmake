# Usage: cmake -DINTEROP=<safetensors_interop> -DSCRIPT=<safetensors_torch.py> -DWORK_DIR=<dir>
#              [-DPYTHON=<python>] -P run_safetensors_torch.cmake
# Exchanges safetensors files between tsgan and PyTorch in both directions. Without a Python that
# imports torch (find_torch_python.cmake) it prints the skip marker the CTest case is registered with.
include(${CMAKE_CURRENT_LIST_DIR}/find_torch_python.cmake)
if(NOT python)
  message("tsgan-skip: no python3 that imports torch and numpy (tried: ${candidates}); "
          "install python3-torch or set TSGAN_TEST_PYTHON")
  return()
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(from_cpp ${WORK_DIR}/from_tsgan.safetensors)
set(from_torch ${WORK_DIR}/from_torch.safetensors)
set(step_1 ${INTEROP} write ${from_cpp})
set(step_2 ${python} ${SCRIPT} check ${from_cpp})
set(step_3 ${python} ${SCRIPT} write ${from_torch})
set(step_4 ${INTEROP} check ${from_torch})
foreach(i 1 2 3 4)
  execute_process(COMMAND ${step_${i}} RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "step ${i} failed (${r}): ${step_${i}}\n${out}${err}")
  endif()
  message(STATUS "${out}")
endforeach()
