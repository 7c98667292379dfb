# kiln_embed_files(target NAMESPACE ns FUNCTION Name FILES name=path ...)
# A static library `target` whose header "<target>.h" declares
#   const std::vector<std::pair<std::string_view, std::string_view>>& ns::Name();
# returning each file's {name, contents}, in the order given. The files are
# read at build time, so a program ships them inside its binary; editing one
# rebuilds the library.
set(KILN_EMBED_SCRIPT ${CMAKE_CURRENT_LIST_DIR}/embed_files.cmake)

function(kiln_embed_files target)
  cmake_parse_arguments(ARG "" "NAMESPACE;FUNCTION" "FILES" ${ARGN})
  set(header ${CMAKE_CURRENT_BINARY_DIR}/${target}.h)
  set(source ${CMAKE_CURRENT_BINARY_DIR}/${target}.cc)
  set(paths "")
  foreach(entry IN LISTS ARG_FILES)
    string(REGEX REPLACE "^[^=]*=" "" path "${entry}")
    list(APPEND paths "${path}")
  endforeach()
  string(REPLACE ";" "|" files_arg "${ARG_FILES}")
  add_custom_command(
    OUTPUT ${header} ${source}
    COMMAND ${CMAKE_COMMAND} "-DFILES=${files_arg}" -DNAMESPACE=${ARG_NAMESPACE}
            -DFUNCTION=${ARG_FUNCTION} -DHEADER=${header} -DSOURCE=${source} -DTARGET=${target}
            -P ${KILN_EMBED_SCRIPT}
    DEPENDS ${paths} ${KILN_EMBED_SCRIPT}
    COMMENT "Embedding ${ARG_FUNCTION}() for ${target}"
    VERBATIM)
  add_library(${target} STATIC ${source} ${header})
  target_include_directories(${target} PUBLIC ${CMAKE_CURRENT_BINARY_DIR})
  kiln_warnings(${target})
endfunction()
