# Sets `python` to a Python that imports torch and numpy: PYTHON when given, else the first
# python3 on PATH, then /usr/bin/python3 (Debian's python3-torch lives there; a pyenv or venv
# python3 earlier on PATH often lacks it). Leaves it empty, with `candidates` listing what was
# tried, when there is none.
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
