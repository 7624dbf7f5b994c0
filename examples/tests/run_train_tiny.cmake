# Usage: cmake -DTRAIN=tsgan-train-tiny -DDATA=folder -DWORK_DIR=dir -P run_train_tiny.cmake
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(train out steps)
  execute_process(COMMAND ${TRAIN} --data ${DATA} --out ${out} --steps ${steps} --log-every 2 --seed 3 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-train-tiny failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  set(stdout "${stdout}" PARENT_SCOPE)
endfunction()

# One run of 6 steps: three JSON lines with every loss term, grids and a checkpoint.
train(${WORK_DIR}/straight 6)
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(LENGTH lines n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected 3 JSON lines, got ${n}:\n${stdout}")
endif()
list(GET lines 2 straight_last)
foreach(key L_Dd L_Df L_adv L_dtri L_ip L_pix L_sym L_tv L_G)
  if(NOT straight_last MATCHES "\"${key}\":[0-9.e+-]+")
    message(FATAL_ERROR "the log line lacks ${key}: ${straight_last}")
  endif()
endforeach()
foreach(f grid_000002.png grid_000006.png checkpoint.safetensors)
  if(NOT EXISTS ${WORK_DIR}/straight/${f})
    message(FATAL_ERROR "missing output ${f}")
  endif()
endforeach()

# The same run stopped after 4 steps and resumed to 6 ends with the same losses.
train(${WORK_DIR}/resumed 4)
train(${WORK_DIR}/resumed 6 --resume)
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(GET lines -1 resumed_last)
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" a "${straight_last}")
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" b "${resumed_last}")
if(NOT a STREQUAL b)
  message(FATAL_ERROR "a resumed run differs from an uninterrupted one:\n  ${a}\n  ${b}")
endif()

# A folder without index.csv: a clear error, exit status 1.
execute_process(COMMAND ${TRAIN} --data ${WORK_DIR} --out ${WORK_DIR}/bad --steps 1
                RESULT_VARIABLE rc ERROR_VARIABLE stderr OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT stderr MATCHES "index.csv")
  message(FATAL_ERROR "a folder without index.csv must fail and say so (${rc}): ${stderr}")
endif()
message(STATUS "train_tiny: 6 steps, resume identical: ${a}")
