// `kiln ingest --format 20news` (clients/ingest/newsgroups_source.h) on any
// file: the 20news-bydate tar.gz reader, its path layout and its years.
#include <cstddef>
#include <cstdint>

#include "clients/ingest/newsgroups_source.h"
#include "tests/fuzz/drain_post_source.h"
#include "tests/fuzz/fuzz_input_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static kiln::fuzz::FuzzInputFile file("20news-bydate.tar.gz");
  kiln::fuzz::DrainPostSource(
      kiln::ingest::OpenNewsgroupsSource(file.Write(data, size), /*seed=*/size));
  return 0;
}
