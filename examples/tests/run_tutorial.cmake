# Usage: cmake -DPROGRAM=tutorial-cmu-classifier -DDATA=data -DWORK_DIR=dir -P run_tutorial.cmake
# Runs docs/tutorial.md's program three times: 12 epochs uninterrupted, then 6 epochs that stop,
# then a run that resumes them to 12. Both must reach the held-out accuracy the tutorial states, and
# the resumed run must end with the checkpoint of the uninterrupted one, byte for byte.
set(min_accuracy 0.9)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(run name)
  execute_process(COMMAND ${PROGRAM} ${DATA} ${ARGN}
                  RESULT_VARIABLE r OUTPUT_VARIABLE out ERROR_VARIABLE err)
  message(STATUS "${name}:\n${out}")
  if(NOT r EQUAL 0)
    message(FATAL_ERROR "tutorial (${name}) failed with ${r}:\n${out}\n${err}")
  endif()
  set(out "${out}" PARENT_SCOPE)
endfunction()

run(uninterrupted ${WORK_DIR}/full.safetensors --epochs 12 --min-accuracy ${min_accuracy})
set(full "${out}")
run(stopped ${WORK_DIR}/resumed.safetensors --epochs 12 --stop-after 6)
if(NOT out MATCHES "stopped after epoch 6" OR out MATCHES "epoch  7")
  message(FATAL_ERROR "tutorial: --stop-after 6 did not stop after epoch 6")
endif()
run(resumed ${WORK_DIR}/resumed.safetensors --epochs 12 --min-accuracy ${min_accuracy})
if(NOT out MATCHES "resumed from .* after epoch 6" OR out MATCHES "epoch  6")
  message(FATAL_ERROR "tutorial: the second run did not resume after epoch 6")
endif()

string(REGEX MATCH "epoch 12  loss [0-9.]+\nheld-out accuracy [0-9.]+" full_end "${full}")
string(REGEX MATCH "epoch 12  loss [0-9.]+\nheld-out accuracy [0-9.]+" resumed_end "${out}")
if(NOT full_end OR NOT full_end STREQUAL resumed_end)
  message(FATAL_ERROR "tutorial: the resumed run ends with '${resumed_end}', the uninterrupted one with '${full_end}'")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${WORK_DIR}/full.safetensors ${WORK_DIR}/resumed.safetensors
                RESULT_VARIABLE same)
if(NOT same EQUAL 0)
  message(FATAL_ERROR "tutorial: the resumed run's checkpoint differs from the uninterrupted run's")
endif()
