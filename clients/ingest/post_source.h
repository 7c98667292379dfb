// Where `kiln ingest` reads posts from: one interface over the 20news
// tarball, the article's SQLite table, JSONL and CSV.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace kiln::ingest {

struct RawPost {
  std::string body;
  std::string category;
  // Wider than the API's int32 so that no source year wraps into range.
  int64_t year = 0;
  // Where it came from, e.g. "news.db:row 17" or "posts.jsonl:42".
  std::string source;
  // Set when the record itself could not be read (malformed line, wrong
  // type); such a post is reported as rejected without being sent.
  std::string problem;
};

class PostSource {
 public:
  virtual ~PostSource() = default;
  // Fills `post` and returns true, or returns false at the end. An error
  // means the source as a whole cannot be read any further.
  virtual absl::StatusOr<bool> Next(RawPost& post) = 0;
  // Share of the input consumed so far, 0..1, or -1 when unknown.
  virtual double Progress() const = 0;
};

enum class Format { kAuto, kNewsgroups, kSqlite, kJsonl, kCsv };

absl::StatusOr<Format> ParseFormat(const std::string& name);

struct SourceOptions {
  Format format = Format::kAuto;
  // 20news only: seed of the deterministic year assignment.
  uint64_t seed = 0;
};

// Opens `path`, guessing the format from its name when kAuto.
absl::StatusOr<std::unique_ptr<PostSource>> OpenPostSource(const std::string& path,
                                                           const SourceOptions& options);

}  // namespace kiln::ingest
