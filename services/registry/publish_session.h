// The PublishVersion stream as a state machine, free of gRPC: a header, then
// every manifest file as chunks, then a commit. Each step checks what it
// gets and says precisely what is wrong; only Commit() hands out a version
// to store, so a stream that breaks off anywhere stores nothing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kiln/v1/registry.pb.h"
#include "services/common/file_chunks.h"
#include "services/common/sha256.h"
#include "services/registry/new_version.h"

namespace kiln::registry {

// The stream limit every Kiln stream shares (services/common/file_chunks.h).
inline constexpr int64_t kMaxChunkBytes = static_cast<int64_t>(kMaxFileChunkBytes);
// Manifest included.
inline constexpr int64_t kMaxPublishBytes = int64_t{256} << 20;

class PublishSession {
 public:
  // The first message. Validates the model name, the manifest (see
  // ParseManifest), the declared total size, metrics and description.
  absl::Status Start(const kiln::v1::PublishHeader& header);

  // A file chunk: a manifest path, at the offset where the file's bytes so
  // far end, one file at a time. The file's size and sha256 are checked as
  // soon as its `last` chunk arrives.
  absl::Status Add(const kiln::v1::FileChunk& chunk);

  // The commit: every file must be complete. Moves the contents out.
  absl::StatusOr<NewVersion> Commit();

  bool started() const { return started_; }
  // What the started stream's manifest and files add up to.
  int64_t declared_bytes() const { return declared_bytes_; }

 private:
  struct Progress {
    int64_t received = 0;
    bool complete = false;
  };
  absl::Status Close(const kiln::v1::FileDigest& expected, const std::string& bytes);

  bool started_ = false;
  int64_t declared_bytes_ = 0;
  NewVersion version_;
  // Path -> index in version_.manifest.files.
  std::map<std::string, int> index_;
  std::map<std::string, Progress> progress_;
  // The file being received, empty between files.
  std::string open_path_;
  std::unique_ptr<Sha256> open_hash_;
};

}  // namespace kiln::registry
