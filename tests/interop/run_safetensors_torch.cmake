# Usage: cmake -DINTEROP=<safetensors_interop> -DSCRIPT=<safetensors_torch.py> -DWORK_DIR=<dir>
#              [-DPYTHON=<python>] -P run_safetensors_torch.cmake
# Exchanges safetensors files between tsgan and PyTorch in both directions. Uses PYTHON when given,
# else the first python3 on PATH, then /usr/bin/python3 (Debian's python3-torch lives there, and a
# pyenv or venv python3 earlier on PATH often lacks it), that imports torch and numpy. Without one
# it prints the skip marker the CTest case is registered with.
set(candidates ${PYTHON})
if(NOT candidates)
  find_program(path_python python3 NO_CACHE)
  set(candidates ${path_python} /usr/bin/python3)
endif()
set(python "")
foreach(p IN LISTS candidates)
  execute_process(COMMAND ${p} -c "import torch, numpy" RESULT_VARIABLE r OUTPUT_QUIET ERROR_QUIET)
  if(r EQUAL 0)
    set(python ${p})
    break()
  endif()
endforeach()
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
