# Whole-corpus parity: C++ (kiln_text_parity_dump) encodes every 20news post,
# then the JavaScript twin (corpus_parity.mjs) must reproduce every token and
# id, and its TF-IDF features within 1e-7. A missing corpus fails the test: it is never skipped.
# Inputs: DUMP, NODE, COMPARE, SOURCE_DIR, WORK_DIR.
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")

execute_process(COMMAND "${DUMP}" "${SOURCE_DIR}" "${WORK_DIR}" RESULT_VARIABLE dump_result)
if(NOT dump_result EQUAL 0)
  message(FATAL_ERROR "the C++ side of the parity test failed (${dump_result})")
endif()

execute_process(COMMAND "${NODE}" "${COMPARE}" "${WORK_DIR}" RESULT_VARIABLE compare_result)
if(NOT compare_result EQUAL 0)
  message(FATAL_ERROR "C++ and JavaScript disagree (${compare_result}); "
                      "the dump is kept in ${WORK_DIR}")
endif()

# The dump is ~100 MB: keep it only when it explains a failure.
file(REMOVE_RECURSE "${WORK_DIR}")
