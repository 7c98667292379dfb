// The 20 Newsgroups corpus multiplied for scale runs (bench/scale): every
// post as `kiln ingest` imports it from the tarball, followed by copies whose
// words are perturbed (so that no copy is byte-identical to another and the
// vocabulary grows with the corpus) and whose years are drawn afresh from
// the range of the original's split (a test post's copies stay in the test
// years, or the test set would leak into training). A training post's
// copies also stay on its side of a job's validation holdout, which the
// data service decides by content hash (services/data/holdout.h): copies of
// one post on both sides would leak training posts into validation, whose
// recall then saturates and early stopping never fires.
#pragma once

#include <cstdint>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "clients/ingest/newsgroups_archive.h"

namespace kiln::bench {

struct ScaleOptions {
  // Posts per original post, the original included: 1 is the plain import.
  int copies = 1;
  // Draws the years (as `kiln ingest --seed` does for copy 0) and the edits.
  uint64_t seed = 0;
  // Share of the words (runs of three or more ASCII letters) a copy edits;
  // every copy edits at least one.
  double edit_rate = 0.05;
  // The job's validation_fraction whose holdout side every copy of a
  // training post shares with its original (the default job's, 0.1); 0
  // leaves the sides to chance.
  double validation_fraction = 0.1;
};

// Most copies per post: 1000x the corpus is ~37 GB of JSON lines.
constexpr int kMaxCopies = 1000;

struct ScaledPost {
  std::string body;
  std::string category;
  int year = 0;
  // "20news-bydate-<split>/<category>/<id>" for copy 0, as the tarball
  // import names it, with "#<copy>" appended for the others: the same
  // source prefixes, so jobs filtering on sources still match.
  std::string source;
  std::string split;  // the original's: "train" or "test"
  int copy = 0;
};

// Checks the options: copies 1..kMaxCopies, edit_rate in (0, 1],
// validation_fraction in [0, 0.5] (a job's range).
absl::Status ValidateScaleOptions(const ScaleOptions& options);

// Calls `visit` with the options.copies copies of `post`, copy 0 first,
// stopping at the first error it returns. Holds one post's copies' hashes,
// never the copies: memory is constant in the corpus size.
absl::Status ForEachCopy(const ingest::NewsgroupsPost& post, const ScaleOptions& options,
                         absl::FunctionRef<absl::Status(const ScaledPost&)> visit);

// Every post of the 20news-bydate archive, each followed by its copies, in
// the archive's path order. Reading the archive holds the original corpus
// (~35 MB) once, whatever the number of copies.
absl::Status ForEachScaledPost(const std::string& archive_path, const ScaleOptions& options,
                               absl::FunctionRef<absl::Status(const ScaledPost&)> visit);

// Whether the data service holds `post` out for validation_fraction
// `fraction` (in (0, 1)): its content hash's side of HeldOutBound.
bool IsHeldOut(const ScaledPost& post, double fraction);

// The post as one line of the JSON-lines format `kiln ingest` reads (body,
// category, year, source), without the newline.
std::string ToJsonLine(const ScaledPost& post);

}  // namespace kiln::bench
