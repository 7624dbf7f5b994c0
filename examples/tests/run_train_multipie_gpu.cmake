# CTest examples.train_multipie_gpu. Inputs: MAKE_FAKE, TRAIN (tsgan-train-multipie-gpu),
# TRAIN_CPU (tsgan-train-multipie), CMU, WORK_DIR.
# Without a usable GPU the program must stop with exit status 1 and say so; the test then reports
# itself skipped (tsgan-skip:). With one: config::Tiny on a fake Multi-PIE folder, 2 steps straight
# and 1 + 1 resumed must end with the same losses (the GPU is deterministic), and the CPU program
# continues from the GPU's checkpoint.
cmake_minimum_required(VERSION 3.24)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(data ${WORK_DIR}/multipie)
execute_process(COMMAND ${MAKE_FAKE} ${CMU} ${data} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_fake_multipie failed (${rc}): ${out}${err}")
endif()

function(train program out steps)
  execute_process(COMMAND ${program} --data ${data} --out ${out} --steps ${steps} --config tiny --log-every 1 --seed 5
                          --threads 2 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  set(rc "${rc}" PARENT_SCOPE)
  set(stdout "${stdout}" PARENT_SCOPE)
  set(stderr "${stderr}" PARENT_SCOPE)
endfunction()

train(${TRAIN} ${WORK_DIR}/straight 2)
if(rc EQUAL 1 AND stderr MATCHES "tsgan-train-multipie-gpu: no CUDA device is available")
  if(EXISTS ${WORK_DIR}/straight)
    message(FATAL_ERROR "without a GPU the program must stop before writing anything")
  endif()
  message("tsgan-skip: no GPU here; tsgan-train-multipie-gpu stopped as it should: ${stderr}")
  return()
endif()
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "tsgan-train-multipie-gpu failed (${rc}):\n${stdout}\n${stderr}")
endif()
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(LENGTH lines n)
if(NOT n EQUAL 2 OR NOT EXISTS ${WORK_DIR}/straight/checkpoint.safetensors OR NOT EXISTS ${WORK_DIR}/straight/grid_000002.png)
  message(FATAL_ERROR "expected 2 JSON lines, a grid and a checkpoint:\n${stdout}\n${stderr}")
endif()
list(GET lines 1 straight_last)

# 1 step, then 1 more resumed (--resume needs the checkpoint of the first run).
foreach(steps_and_flag "1" "2;--resume")
  train(${TRAIN} ${WORK_DIR}/resumed ${steps_and_flag})
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-train-multipie-gpu ${steps_and_flag} failed (${rc}):\n${stdout}\n${stderr}")
  endif()
endforeach()
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(GET lines -1 resumed_last)
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" a "${straight_last}")
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" b "${resumed_last}")
if(NOT a STREQUAL b)
  message(FATAL_ERROR "a resumed GPU run differs from an uninterrupted one:\n  ${a}\n  ${b}")
endif()

# The GPU's checkpoint is the CPU's format: the CPU program continues from it.
train(${TRAIN_CPU} ${WORK_DIR}/straight 3 --resume)
if(NOT rc EQUAL 0 OR NOT stderr MATCHES "resumed from [^\n]* at step 2")
  message(FATAL_ERROR "tsgan-train-multipie could not continue from the GPU's checkpoint (${rc}):\n${stdout}\n${stderr}")
endif()
message(STATUS "train_multipie_gpu: 2 steps, resume identical: ${a}")
