// `kiln ingest --format sqlite` (clients/ingest/sqlite_source.h) on any
// file: the article's `news` table as our reader takes it from a database
// SQLite itself may find damaged.
#include <cstddef>
#include <cstdint>

#include "clients/ingest/sqlite_source.h"
#include "tests/fuzz/drain_post_source.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("news.db");
  kiln::fuzz::DrainPostSource(kiln::ingest::OpenSqliteSource(file.Write(data, size)));
  return 0;
}
