# Usage: cmake -DINTEROP=<tsgan_interop> -DSCRIPT=<tsgan_torch.py> -DWORK_DIR=<dir>
#              [-DPYTHON=<python>] -P run_tsgan_torch.cmake
# tsgan writes a seeded TSGAN<config::Tiny>, a batch and the results of one train_step; the PyTorch
# model of bench/reference/tsgan.py loads the checkpoint, takes the same step and compares. Without
# a Python that imports torch (find_torch_python.cmake) it prints the skip marker the CTest case is
# registered with.
include(${CMAKE_CURRENT_LIST_DIR}/find_torch_python.cmake)
if(NOT python)
  message("tsgan-skip: no python3 that imports torch and numpy (tried: ${candidates}); "
          "install python3-torch or set TSGAN_TEST_PYTHON")
  return()
endif()

file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(step_1 ${INTEROP} ${WORK_DIR})
set(step_2 ${python} ${SCRIPT} ${WORK_DIR})
foreach(i 1 2)
  execute_process(COMMAND ${step_${i}} RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "step ${i} failed (${r}): ${step_${i}}\n${out}${err}")
  endif()
  message(STATUS "${out}")
endforeach()
