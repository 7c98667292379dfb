// The fuzz input as a file, for the parsers that only open paths (the ingest
// sources): one private directory per process, emptied and the file written
// again for every input (so that no journal SQLite left behind carries over
// to the next one), removed at exit.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/fuzz/fuzz_check.h"

namespace kiln::fuzz {

class FuzzInputFile {
 public:
  // `name` is the file's name in the directory, e.g. "posts.csv".
  explicit FuzzInputFile(const std::string& name) {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/kiln-fuzz-XXXXXX";
    FUZZ_CHECK(mkdtemp(pattern.data()) != nullptr);
    directory_ = pattern;
    path_ = directory_ + "/" + name;
  }
  ~FuzzInputFile() {
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
  }
  FuzzInputFile(const FuzzInputFile&) = delete;
  FuzzInputFile& operator=(const FuzzInputFile&) = delete;

  // Replaces the directory's contents with the file and returns its path.
  const std::string& Write(const uint8_t* data, size_t size) {
    for (const auto& entry : std::filesystem::directory_iterator(directory_)) {
      std::filesystem::remove_all(entry.path());
    }
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    out.close();
    FUZZ_CHECK(out.good());
    return path_;
  }

 private:
  std::string directory_;
  std::string path_;
};

}  // namespace kiln::fuzz
