# Runs anomaly_synth twice with one seed and once with another, then checks that the first two
# runs wrote byte-identical files (same names, same MD5) and the third run did not.
# Invoked by ctest: cmake -DSYNTH=<path> -DWORK=<dir> -P synth_determinism.cmake
if(NOT SYNTH OR NOT WORK)
  message(FATAL_ERROR "SYNTH and WORK must be set")
endif()
file(REMOVE_RECURSE "${WORK}")

function(generate dir seed)
  execute_process(
    COMMAND "${SYNTH}" --out "${WORK}/${dir}" --seed ${seed} --train 6 --test-good 3
            --test-defect 3 --size 128 --surface grainy_plastic
    RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "anomaly_synth failed (${rc}): ${err}")
  endif()
endfunction()

function(digest dir out_var)
  file(GLOB_RECURSE files RELATIVE "${WORK}/${dir}" "${WORK}/${dir}/*")
  list(SORT files)
  set(lines "")
  foreach(f ${files})
    file(MD5 "${WORK}/${dir}/${f}" hash)
    list(APPEND lines "${f}=${hash}")
  endforeach()
  set(${out_var} "${lines}" PARENT_SCOPE)
endfunction()

generate(a 7)
generate(b 7)
generate(c 8)
digest(a digest_a)
digest(b digest_b)
digest(c digest_c)

list(LENGTH digest_a count)
# 6 train + 3 good test + 4 defect types x 3 images and 3 masks each.
if(NOT count EQUAL 33)
  message(FATAL_ERROR "expected 33 files, found ${count}: ${digest_a}")
endif()
if(NOT digest_a STREQUAL digest_b)
  message(FATAL_ERROR "two runs with seed 7 differ:\n${digest_a}\nvs\n${digest_b}")
endif()
if(digest_a STREQUAL digest_c)
  message(FATAL_ERROR "seeds 7 and 8 wrote identical datasets")
endif()
file(REMOVE_RECURSE "${WORK}")
message(STATUS "anomaly_synth: ${count} files byte-identical across two runs with seed 7")
