// Reads the 20 Newsgroups "bydate" archive (20news-bydate.tar.gz): the
// corpus behind `kiln ingest`, the text benchmarks and the parity tests.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace kiln::ingest {

// One file of the archive, "20news-bydate-<split>/<category>/<id>".
struct NewsgroupsPost {
  std::string split;     // "train" or "test"
  std::string category;  // the newsgroup, e.g. "sci.space"
  std::string id;        // the file name, e.g. "59848"
  std::string body;      // the whole file, headers included, as UTF-8
};

// Calls `visit` on every post in byte order of the archive paths, whatever
// the order inside the archive, stopping at the first error it returns.
// Errors: NotFound for a missing archive, DataLoss for one that is not a
// readable tar.gz, InvalidArgument for files outside the bydate layout or an
// archive without posts.
absl::Status ForEachNewsgroupsPost(
    const std::string& archive_path,
    absl::FunctionRef<absl::Status(const NewsgroupsPost&)> visit);

// All posts at once, in the same order.
absl::StatusOr<std::vector<NewsgroupsPost>> ReadNewsgroupsArchive(
    const std::string& archive_path);

// Where the archive is by convention: $KILN_DATASET when set, otherwise
// <repo_root>/../shared/datasets/20news-bydate.tar.gz.
std::string NewsgroupsArchivePath(std::string_view repo_root);

// The posts are Latin-1 (ISO-8859-1); every byte is one code point.
std::string Latin1ToUtf8(std::string_view latin1);

}  // namespace kiln::ingest
