// `kiln ingest --format csv` (clients/ingest/text_sources.h) on any file.
#include <cstddef>
#include <cstdint>

#include "clients/ingest/text_sources.h"
#include "tests/fuzz/drain_post_source.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("posts.csv");
  kiln::fuzz::DrainPostSource(kiln::ingest::OpenCsvSource(file.Write(data, size)));
  return 0;
}
