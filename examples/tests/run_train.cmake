# Usage: cmake -DTRAIN=tsgan-train -DPOISON=poison_checkpoint -DDATA=folder -DWORK_DIR=dir
#        -P run_train.cmake
# Training, resuming, and the findings of issue 11 with the least input that shows each: an
# existing run folder without --resume, a read-only checkpoint, --resume without a checkpoint,
# --out a file, usage errors, a diverging run, a dead process's temporary checkpoint. Then
# --photos (pairs made on the fly): its usage errors, the message without the face models, and,
# when the models are there, a run on a few CMU photos, resumed bit for bit, and the same photos
# as a plain folder of images.
file(REMOVE_RECURSE ${WORK_DIR})
file(MAKE_DIRECTORY ${WORK_DIR})

function(train out steps)
  execute_process(COMMAND ${TRAIN} --config tiny --data ${DATA} --out ${out} --steps ${steps} --log-every 2 --seed 3 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-train failed (${rc}):\n${stdout}\n${stderr}")
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

# OUT/log.jsonl holds the lines of stdout.
file(STRINGS ${WORK_DIR}/resumed/log.jsonl log)
list(LENGTH log n)
list(GET log -1 log_last)
if(NOT n EQUAL 3 OR NOT log_last STREQUAL resumed_last)
  message(FATAL_ERROR "log.jsonl should hold the 3 lines of steps 2, 4, 6 (${n}):\n${log}")
endif()

# Runs the trainer, expects exit status `want` and stderr matching `pattern`.
function(expect want pattern)
  execute_process(COMMAND ${TRAIN} --config tiny --data ${DATA} --log-every 2 --seed 3 --threads 1 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc STREQUAL want OR NOT stderr MATCHES "${pattern}")
    message(FATAL_ERROR "tsgan-train ${ARGN}: expected exit status ${want} and '${pattern}', got ${rc}:\n${stderr}")
  endif()
  set(stderr "${stderr}" PARENT_SCOPE)
endfunction()
set(ckpt ${WORK_DIR}/straight/checkpoint.safetensors)
file(SHA256 ${ckpt} ckpt_hash)
function(expect_unchanged what)
  file(SHA256 ${ckpt} now)
  if(NOT now STREQUAL ckpt_hash)
    message(FATAL_ERROR "${what} changed the checkpoint")
  endif()
endfunction()

# An existing run folder without --resume: refused, the checkpoint untouched (it was replaced).
expect(1 "a checkpoint exists; pass --resume to continue it or --overwrite" --out ${WORK_DIR}/straight --steps 2)
expect_unchanged("a run without --resume")
# A read-only checkpoint is never replaced, not by --resume either (the rename used to reset it).
file(CHMOD ${ckpt} PERMISSIONS OWNER_READ GROUP_READ WORLD_READ)
expect(1 "checkpoint is read-only" --out ${WORK_DIR}/straight --steps 8 --resume)
expect(1 "checkpoint is read-only" --out ${WORK_DIR}/straight --steps 2 --overwrite)
expect_unchanged("a read-only checkpoint")
file(CHMOD ${ckpt} PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# --resume without a checkpoint is an error (it used to start from 0), and creates nothing.
expect(1 "no checkpoint to resume" --out ${WORK_DIR}/none --steps 2 --resume)
if(EXISTS ${WORK_DIR}/none)
  message(FATAL_ERROR "--resume without a checkpoint created the run folder")
endif()
# --out a file: a message, exit status 1 (it was std::terminate, 134).
file(WRITE ${WORK_DIR}/a-file "")
expect(1 "tsgan-train: .*a-file: the run folder is a file" --out ${WORK_DIR}/a-file --steps 2)
# Usage errors: exit status 2 and CLI11's message; option values say what is wrong with them.
expect(2 "--steps is required" --out ${WORK_DIR}/u)
expect(2 "--steps: 'ten' is not a whole number" --out ${WORK_DIR}/u --steps ten)
expect(2 "--steps: must be at least 1 \\(got 0\\)" --out ${WORK_DIR}/u --steps 0)
expect(2 "--resume excludes --overwrite" --out ${WORK_DIR}/u --steps 1 --resume --overwrite)
# --overwrite starts again from step 0 and starts a new log.
file(MAKE_DIRECTORY ${WORK_DIR}/again)
file(COPY ${ckpt} ${WORK_DIR}/straight/log.jsonl DESTINATION ${WORK_DIR}/again)
# A temporary checkpoint of a process that died during a save (no process has pid 999999999).
file(WRITE ${WORK_DIR}/again/.checkpoint.safetensors.tmp.999999999.0 "torn")
expect(0 "removed 1 temporary checkpoint file" --out ${WORK_DIR}/again --steps 2 --overwrite)
file(STRINGS ${WORK_DIR}/again/log.jsonl log)
list(LENGTH log n)
if(NOT n EQUAL 1 OR EXISTS ${WORK_DIR}/again/.checkpoint.safetensors.tmp.999999999.0)
  message(FATAL_ERROR "--overwrite: expected a new log of 1 line and no temporary file (${n} lines)")
endif()

# Divergence: weights scaled to overflow make the next step's losses non-finite. The run stops
# naming the step and the term, exit status 1, and keeps the checkpoint it resumed from.
file(MAKE_DIRECTORY ${WORK_DIR}/diverge)
execute_process(COMMAND ${POISON} ${ckpt} ${WORK_DIR}/diverge/checkpoint.safetensors scale gd. RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "poison_checkpoint failed (${rc})")
endif()
file(SHA256 ${WORK_DIR}/diverge/checkpoint.safetensors poisoned)
expect(1 "training diverged at step 7: L_[A-Za-z]+ is (NaN|\\+inf|-inf); stopped without saving \\(the checkpoint of step 6 is kept\\)"
       --out ${WORK_DIR}/diverge --steps 10 --resume)
file(SHA256 ${WORK_DIR}/diverge/checkpoint.safetensors after)
file(READ ${WORK_DIR}/diverge/log.jsonl log)
if(NOT after STREQUAL poisoned OR EXISTS ${WORK_DIR}/diverge/grid_000008.png OR NOT log MATCHES "\"step\":7,\"diverged\"")
  message(FATAL_ERROR "a diverged run must keep the checkpoint, write no grid and log the divergence:\n${log}")
endif()
# A checkpoint holding a NaN is refused on load, naming the tensor.
execute_process(COMMAND ${POISON} ${ckpt} ${WORK_DIR}/nan.safetensors nan gd. RESULT_VARIABLE rc)
file(MAKE_DIRECTORY ${WORK_DIR}/nan)
file(RENAME ${WORK_DIR}/nan.safetensors ${WORK_DIR}/nan/checkpoint.safetensors)
expect(1 "tensor 'gd\\.[^']+' is not finite \\(nan at element 0\\)" --out ${WORK_DIR}/nan --steps 8 --resume)

# A folder without index.csv: a clear error, exit status 1.
execute_process(COMMAND ${TRAIN} --config tiny --data ${WORK_DIR} --out ${WORK_DIR}/bad --steps 1
                RESULT_VARIABLE rc ERROR_VARIABLE stderr OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT stderr MATCHES "index.csv")
  message(FATAL_ERROR "a folder without index.csv must fail and say so (${rc}): ${stderr}")
endif()
message(STATUS "train (tiny): 6 steps, resume identical: ${a}")

# --photos: pairs made on the fly from photos (a folder of 7 frontal CMU photos of 4 people, one
# the detector misses, and a side view that is not a source). Usage errors first: they need no model.
expect(2 "--data excludes --photos" --photos ${DATA} --out ${WORK_DIR}/u --steps 1)
expect(2 "--yaws requires --photos" --yaws 30 --out ${WORK_DIR}/u --steps 1)
file(MAKE_DIRECTORY ${WORK_DIR}/no-models)
execute_process(COMMAND ${CMAKE_COMMAND} -E env TSGAN_MODELS_DIR=${WORK_DIR}/no-models
                        ${TRAIN} --config tiny --photos ${DATA} --out ${WORK_DIR}/u --steps 1
                RESULT_VARIABLE rc ERROR_VARIABLE stderr OUTPUT_QUIET)
if(NOT rc EQUAL 2 OR NOT stderr MATCHES "no-models/tiny_face_detector_model-weights_manifest.json is missing.*fetch-face-models.sh"
   OR EXISTS ${WORK_DIR}/u)
  message(FATAL_ERROR "--photos without the face models must fail naming the missing file and the fetch script (${rc}): ${stderr}")
endif()
if(DEFINED ENV{TSGAN_MODELS_DIR} AND NOT "$ENV{TSGAN_MODELS_DIR}" STREQUAL "")
  set(models "$ENV{TSGAN_MODELS_DIR}")
else()
  set(models "$ENV{HOME}/.cache/tsgan/models")
endif()
foreach(f tiny_face_detector_model-weights_manifest.json facemesh.json face_mesh_canonical.txt)
  if(NOT EXISTS "${models}/${f}")
    message(STATUS "train --photos not run: ${f} is absent from ${models} (scripts/fetch-face-models.sh, scripts/fetch-face-mesh.sh)")
    return()
  endif()
endforeach()
set(photos ${WORK_DIR}/photos)
set(rows "path,identity,pose\n")
foreach(f alex/alex_forward_angry_eyes alex/alex_forward_happy_eyes fred/fred_forward_angry_eyes fred/fred_forward_happy_eyes
          henry/henry_forward_happy_eyes henry/henry_forward_neutral_eyes bob/bob_forward_angry_eyes alex/alex_left_angry_eyes)
  get_filename_component(person_dir ${f} DIRECTORY)
  file(COPY ${DATA}/images/${f}.pgm DESTINATION ${photos}/${person_dir})
  string(REGEX MATCH "^[a-z]+" person ${f})
  string(REGEX MATCH "_(forward|left)_" pose ${f})
  set(rows "${rows}${f}.pgm,${person},${CMAKE_MATCH_1}\n")
endforeach()
file(WRITE ${photos}/index.csv "${rows}")
function(train_photos out steps)
  execute_process(COMMAND ${TRAIN} --config tiny --photos ${photos} --yaws 30,60 --out ${out} --steps ${steps} --log-every 2
                          --seed 3 --threads 1 ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "tsgan-train --photos failed (${rc}):\n${stdout}\n${stderr}")
  endif()
  set(stderr "${stderr}" PARENT_SCOPE)
endfunction()
train_photos(${WORK_DIR}/photos-straight 6)
if(NOT stderr MATCHES "6 of 7 photos fitted; pairs made on the fly \\(profile, yaws ±30/60, the face turns\\)"
   OR NOT stderr MATCHES "bob_forward_angry_eyes.pgm: no face fitted; not used" OR NOT stderr MATCHES "1 photos not used: no face detected")
  message(FATAL_ERROR "--photos: expected 6 of the 7 frontal photos fitted and bob's named as not used:\n${stderr}")
endif()
file(STRINGS ${WORK_DIR}/photos-straight/log.jsonl log)
list(LENGTH log n)
if(NOT n EQUAL 3 OR NOT EXISTS ${WORK_DIR}/photos-straight/grid_000006.png)
  message(FATAL_ERROR "--photos: expected a log of 3 lines and the grid of step 6 (${n} lines)")
endif()
# Stopped after 4 steps and resumed to 6: the same checkpoint, byte for byte (the loader draws
# from the model's generator, which the checkpoint holds); and not the --data run's.
train_photos(${WORK_DIR}/photos-resumed 4)
train_photos(${WORK_DIR}/photos-resumed 6 --resume)
file(SHA256 ${WORK_DIR}/photos-straight/checkpoint.safetensors straight_photos)
file(SHA256 ${WORK_DIR}/photos-resumed/checkpoint.safetensors resumed_photos)
if(NOT straight_photos STREQUAL resumed_photos OR straight_photos STREQUAL ckpt_hash)
  message(FATAL_ERROR "--photos: a resumed run's checkpoint must equal the uninterrupted one's and differ from --data's")
endif()
# The same frontal photos as a plain folder, one subfolder per person and no index.csv: the same
# sources in the same order (alex, fred, henry; bob's missed), so the same checkpoint byte for byte.
foreach(f alex/alex_forward_angry_eyes alex/alex_forward_happy_eyes bob/bob_forward_angry_eyes fred/fred_forward_angry_eyes
          fred/fred_forward_happy_eyes henry/henry_forward_happy_eyes henry/henry_forward_neutral_eyes)
  get_filename_component(person_dir ${f} DIRECTORY)
  file(COPY ${DATA}/images/${f}.pgm DESTINATION ${WORK_DIR}/plain/${person_dir})
endforeach()
set(photos ${WORK_DIR}/plain)
train_photos(${WORK_DIR}/photos-plain 6)
file(SHA256 ${WORK_DIR}/photos-plain/checkpoint.safetensors plain_photos)
if(NOT stderr MATCHES "6 of 7 photos fitted" OR NOT plain_photos STREQUAL straight_photos)
  message(FATAL_ERROR "--photos with a plain folder of the same photos must train to the same checkpoint:\n${stderr}")
endif()
message(STATUS "train --photos (tiny): 6 of 7 photos fitted, 6 steps, resumed checkpoint identical; a plain folder the same")
