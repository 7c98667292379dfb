# Shared helpers for Kiln targets.

# kiln_warnings(target): the warning set every Kiln target builds with.
function(kiln_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()

# kiln_library(name SOURCES ... DEPS ...): a static library rooted at the
# repository so that includes read "services/common/config.h".
function(kiln_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS})
  kiln_warnings(${name})
endfunction()

# kiln_executable(name SOURCES ... DEPS ...)
function(kiln_executable name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  kiln_warnings(${name})
endfunction()

# kiln_test(name LABEL unit|integration|e2e SOURCES ... DEPS ... [TIMEOUT s])
# One GoogleTest binary registered with CTest under a label.
function(kiln_test name)
  cmake_parse_arguments(ARG "" "LABEL;TIMEOUT" "SOURCES;DEPS" ${ARGN})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  kiln_warnings(${name})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS ${ARG_LABEL} TIMEOUT ${ARG_TIMEOUT}
    ENVIRONMENT "KILN_SOURCE_DIR=${PROJECT_SOURCE_DIR};KILN_BINARY_DIR=${PROJECT_BINARY_DIR}")
endfunction()
