# CTest examples.train_multipie. Inputs: MAKE_FAKE, TRAIN, FRONTALIZE, EXPORT, CMU, WORK_DIR.
# Makes a fake Multi-PIE folder from the CMU faces (mapping in make_fake_multipie.cpp), trains
# config::Tiny on it: 3 steps straight, and 2 steps then 1 resumed, which must end with the same
# losses; runs tsgan-frontalize on the checkpoint, and on the model file tsgan-export makes of it.
# Leaves WORK_DIR/multipie and WORK_DIR/train/checkpoint.safetensors for examples.evaluate.
cmake_minimum_required(VERSION 3.24)
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})
set(data ${WORK_DIR}/multipie)

execute_process(COMMAND ${MAKE_FAKE} ${CMU} ${data} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_fake_multipie failed (${rc}): ${out}${err}")
endif()
# A PNG whose name is not a crop name (reported, not used) and a file that is not a PNG (ignored).
file(WRITE ${data}/notes.png "not an image")
file(WRITE ${data}/README.txt "fake Multi-PIE crops for a test")

function(train out steps)
  execute_process(COMMAND ${TRAIN} --data ${data} --out ${out} --steps ${steps} --config tiny --log-every 1 --seed 5
                          --threads 2 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-train-multipie failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  set(stdout "${stdout}" PARENT_SCOPE)
  set(stderr "${stderr}" PARENT_SCOPE)
endfunction()

train(${WORK_DIR}/train 3)
message(STATUS "stderr of the first run:\n${stderr}")
# 8 training subjects; the notes.png name is reported.
if(NOT stderr MATCHES "training pairs of 8 subjects")
  message(FATAL_ERROR "expected the 8 training subjects of the fake folder:\n${stderr}")
endif()
if(NOT stderr MATCHES "notes.png' is not a Multi-PIE crop name")
  message(FATAL_ERROR "notes.png was not reported as a bad crop name:\n${stderr}")
endif()
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(LENGTH lines n)
if(NOT n EQUAL 3)
  message(FATAL_ERROR "expected 3 JSON lines, got ${n}:\n${stdout}")
endif()
list(GET lines 2 straight_last)
foreach(f grid_000001.png grid_000003.png checkpoint.safetensors)
  if(NOT EXISTS ${WORK_DIR}/train/${f})
    message(FATAL_ERROR "missing output ${f}")
  endif()
endforeach()

train(${WORK_DIR}/resumed 2)
train(${WORK_DIR}/resumed 3 --resume)
string(REGEX MATCHALL "{\"step\":[0-9]+[^\n]*}" lines "${stdout}")
list(LENGTH lines n)
list(GET lines -1 resumed_last)
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" a "${straight_last}")
string(REGEX REPLACE ",\"ms_per_step\":[0-9.]+" "" b "${resumed_last}")
if(NOT n EQUAL 1 OR NOT a STREQUAL b)
  message(FATAL_ERROR "a resumed run differs from an uninterrupted one (${n} lines):\n  ${a}\n  ${b}")
endif()

# --mirror trains too (one step).
train(${WORK_DIR}/mirrored 1 --mirror)
if(NOT stderr MATCHES "negative yaws mirrored")
  message(FATAL_ERROR "--mirror is not reported:\n${stderr}")
endif()

# A folder without crops: exit status 1 and a message naming it.
file(MAKE_DIRECTORY ${WORK_DIR}/empty)
execute_process(COMMAND ${TRAIN} --data ${WORK_DIR}/empty --out ${WORK_DIR}/bad --steps 1 --config tiny
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT err MATCHES "empty: no Multi-PIE crop")
  message(FATAL_ERROR "a folder without crops must fail naming it (${rc}): ${err}")
endif()

# tsgan-frontalize on two crops and a missing file: two rows of 4 tiles, one error, exit status 1.
set(a_crop ${data}/201_01_01_080_07_cmu.png)
set(b_crop ${data}/202_02_01_190_05_cmu.png)
execute_process(COMMAND ${FRONTALIZE} --model ${WORK_DIR}/train/checkpoint.safetensors --config tiny
                        --out ${WORK_DIR}/front --occlusion both_eyes ${a_crop} ${WORK_DIR}/missing.png ${b_crop}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 1 OR NOT err MATCHES "missing.png")
  message(FATAL_ERROR "tsgan-frontalize: exit status ${rc} (1 expected) and an error naming missing.png:\n${out}\n${err}")
endif()
foreach(f 201_01_01_080_07_cmu.png 201_01_01_080_07_cmu_frontal.png 201_01_01_080_07_cmu_deoccluded.png
          202_02_01_190_05_cmu.png)
  if(NOT EXISTS ${WORK_DIR}/front/${f})
    message(FATAL_ERROR "tsgan-frontalize did not write ${f}:\n${out}\n${err}")
  endif()
endforeach()
# 4 tiles of 32 px and 3 gaps of 2: 134 x 32 (PNG IHDR: width and height at bytes 16-23).
file(READ ${WORK_DIR}/front/201_01_01_080_07_cmu.png header LIMIT 24 HEX)
string(SUBSTRING "${header}" 32 16 size)
if(NOT size STREQUAL "0000008600000020")
  message(FATAL_ERROR "the row should be 134 x 32 pixels (IHDR ${size})")
endif()

# Issue 11: tsgan-frontalize never writes over an input or an earlier output unless asked, gives
# inputs with the same stem distinct names, reads --config from the checkpoint.
set(ckpt ${WORK_DIR}/train/checkpoint.safetensors)
function(frontalize want pattern)
  execute_process(COMMAND ${FRONTALIZE} --model ${ckpt} --occlusion nose --threads 1 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc STREQUAL want OR NOT "${out}${err}" MATCHES "${pattern}")
    message(FATAL_ERROR "tsgan-frontalize ${ARGN}: expected exit status ${want} and '${pattern}', got ${rc}:\n${out}\n${err}")
  endif()
endfunction()
file(SHA256 ${WORK_DIR}/front/201_01_01_080_07_cmu.png row)
frontalize(1 "201_01_01_080_07_cmu.png.*exist.* already \\(pass --overwrite" --out ${WORK_DIR}/front ${a_crop})
file(SHA256 ${WORK_DIR}/front/201_01_01_080_07_cmu.png now)
if(NOT now STREQUAL row)
  message(FATAL_ERROR "tsgan-frontalize replaced an output without --overwrite")
endif()
frontalize(0 "front/201_01_01_080_07_cmu.png" --out ${WORK_DIR}/front --overwrite ${a_crop})
# --out is the input's own folder: the input stays, the outputs take the next free name.
file(MAKE_DIRECTORY ${WORK_DIR}/own ${WORK_DIR}/s1 ${WORK_DIR}/s2)
file(COPY_FILE ${a_crop} ${WORK_DIR}/own/face.png)
file(SHA256 ${WORK_DIR}/own/face.png input)
frontalize(0 "own/face_2.png" --out ${WORK_DIR}/own ${WORK_DIR}/own/face.png)
file(SHA256 ${WORK_DIR}/own/face.png now)
if(NOT now STREQUAL input OR NOT EXISTS ${WORK_DIR}/own/face_2_frontal.png)
  message(FATAL_ERROR "tsgan-frontalize --out INPUT_FOLDER replaced its input or did not write face_2*.png")
endif()
# Two inputs with the same stem: two sets of outputs.
file(COPY_FILE ${a_crop} ${WORK_DIR}/s1/face.png)
file(COPY_FILE ${b_crop} ${WORK_DIR}/s2/face.png)
frontalize(0 "same/face.png\n.*same/face_2.png" --out ${WORK_DIR}/same ${WORK_DIR}/s1/face.png ${WORK_DIR}/s2/face.png)
# --out a file; usage errors exit 2.
frontalize(1 "tsgan-frontalize: .*front/201_01_01_080_07_cmu.png: the output folder is a file"
           --out ${WORK_DIR}/front/201_01_01_080_07_cmu.png ${a_crop})
frontalize(2 "IMAGE is required" --out ${WORK_DIR}/u)
frontalize(2 "--config: .*not in" --out ${WORK_DIR}/u --config huge ${a_crop})
# tsgan-export: the checkpoint's generators as a model file; in f32, tsgan-frontalize gives the
# same pictures from it as from the checkpoint. An --out that exists is refused and kept.
execute_process(COMMAND ${EXPORT} --checkpoint ${ckpt} --out ${WORK_DIR}/model.safetensors --dtype f32 --note test
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0 OR NOT out MATCHES "model.safetensors: tiny at step [1-9]")
  message(FATAL_ERROR "tsgan-export: exit status ${rc}:\n${out}\n${err}")
endif()
foreach(source checkpoint model)
  set(file ${WORK_DIR}/train/checkpoint.safetensors)
  if(source STREQUAL "model")
    set(file ${WORK_DIR}/model.safetensors)
  endif()
  execute_process(COMMAND ${FRONTALIZE} --model ${file} --out ${WORK_DIR}/from-${source} --occlusion both_eyes ${a_crop}
                  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-frontalize --model ${file}: exit status ${rc}:\n${err}")
  endif()
endforeach()
foreach(f 201_01_01_080_07_cmu.png 201_01_01_080_07_cmu_deoccluded.png 201_01_01_080_07_cmu_frontal.png)
  file(SHA256 ${WORK_DIR}/from-checkpoint/${f} from_checkpoint)
  file(SHA256 ${WORK_DIR}/from-model/${f} from_model)
  if(NOT from_checkpoint STREQUAL from_model)
    message(FATAL_ERROR "${f}: the exported model file restores differently from its checkpoint")
  endif()
endforeach()
file(SHA256 ${WORK_DIR}/model.safetensors exported)
execute_process(COMMAND ${EXPORT} --checkpoint ${ckpt} --out ${WORK_DIR}/model.safetensors
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
file(SHA256 ${WORK_DIR}/model.safetensors now)
if(NOT rc EQUAL 1 OR NOT err MATCHES "model.safetensors: exists already" OR NOT now STREQUAL exported)
  message(FATAL_ERROR "tsgan-export over an existing --out: exit status ${rc} (1 expected), file kept: ${err}")
endif()
message(STATUS "train_multipie: 3 steps, resume identical: ${a}")
