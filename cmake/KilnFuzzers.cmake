# The libFuzzer build (tests/fuzz), in a build directory of its own: clang
# with AddressSanitizer and UndefinedBehaviorSanitizer on every Kiln library
# it compiles, libFuzzer's coverage hooks everywhere, and libFuzzer's main()
# only in the fuzzers. tests/fuzz/run.sh configures it with clang++-14.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "KILN_BUILD_FUZZERS needs clang, not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure with -DCMAKE_CXX_COMPILER=clang++-14 (tests/fuzz/run.sh does)")
endif()
# Any UB aborts, so that libFuzzer records the input; a float division by
# zero (not in "undefined") is how NaN weights start. -O1 keeps executions
# fast and stack traces readable; line tables are all the traces need and
# compile far faster than full debug information; asserts stay on.
set(KILN_SANITIZERS address,undefined,float-divide-by-zero)
add_compile_options(-fsanitize=fuzzer-no-link,${KILN_SANITIZERS} -fno-sanitize-recover=all
                    -fno-omit-frame-pointer -gline-tables-only -O1)
add_link_options(-fsanitize=${KILN_SANITIZERS})

add_custom_target(kiln_fuzzers)

# kiln_fuzzer(name DEPS ...): tests/fuzz/<name>.cc as a libFuzzer binary,
# built by the kiln_fuzzers target; tests/fuzz/run.sh runs it on the seed
# corpus tests/fuzz/corpus/<name>.
function(kiln_fuzzer name)
  cmake_parse_arguments(ARG "" "" "DEPS" ${ARGN})
  kiln_executable(${name} SOURCES ${name}.cc DEPS ${ARG_DEPS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(kiln_fuzzers ${name})
endfunction()
