# kiln_embed_migrations(<target> <schema> <dir>)
#
# Compiles the schema's migrations, <dir>/NNN_name.sql (version NNN, any
# number of digits), into <target> as
#
#   #include "<path of the calling directory>/<schema>_migrations.h"
#   std::vector<kiln::db::Migration> kiln::<schema>::Migrations();
#
# so that the SQL lives in .sql files yet ships inside the binary. The header
# and source are regenerated whenever a .sql file changes, and CMake
# re-globs <dir> on every build, so adding a file needs no manual re-run.
function(kiln_embed_migrations target schema dir)
  if(NOT schema MATCHES "^[a-z_][a-z0-9_]*$")
    message(FATAL_ERROR
      "kiln_embed_migrations: schema '${schema}' must match [a-z_][a-z0-9_]*")
  endif()
  get_filename_component(dir "${dir}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  file(GLOB sql_files CONFIGURE_DEPENDS RELATIVE "${dir}" "${dir}/*.sql")
  if(NOT sql_files)
    message(FATAL_ERROR "kiln_embed_migrations: no .sql files in ${dir}")
  endif()
  list(TRANSFORM sql_files PREPEND "${dir}/" OUTPUT_VARIABLE sql_paths)

  set(header "${CMAKE_CURRENT_BINARY_DIR}/${schema}_migrations.h")
  set(source "${CMAKE_CURRENT_BINARY_DIR}/${schema}_migrations.cc")
  file(RELATIVE_PATH header_include "${PROJECT_BINARY_DIR}" "${header}")
  set(generator "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/embed_migrations.cmake")
  add_custom_command(
    OUTPUT "${header}" "${source}"
    COMMAND "${CMAKE_COMMAND}"
      "-DSCHEMA=${schema}"
      "-DSQL_DIR=${dir}"
      # On the command line so that removing or renaming a file, which
      # changes no remaining dependency, still reruns the generator.
      "-DSQL_FILES=${sql_files}"
      "-DHEADER=${header}"
      "-DHEADER_INCLUDE=${header_include}"
      "-DSOURCE=${source}"
      -P "${generator}"
    DEPENDS ${sql_paths} "${generator}"
    COMMENT "Embedding the ${schema} schema migrations from ${dir}"
    VERBATIM)
  target_sources(${target} PRIVATE "${header}" "${source}")
  # Generated headers are included by their path under the build tree,
  # mirroring the source tree's repo-rooted includes.
  target_include_directories(${target} PUBLIC "${PROJECT_BINARY_DIR}")
  target_link_libraries(${target} PUBLIC kiln_db)
endfunction()
