// A version's files as one deterministic tar.gz: the same files always give
// the same bytes, so the archive can carry an ETag and be cached forever.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln::registry {

struct ArchiveFile {
  std::string path;
  std::shared_ptr<const std::string> bytes;
};

// Regular files, mode 0644, owner 0:0, every mtime `mtime_seconds`, in the
// given order; no gzip timestamp.
absl::StatusOr<std::string> MakeTarGz(const std::vector<ArchiveFile>& files,
                                      int64_t mtime_seconds);

}  // namespace kiln::registry
