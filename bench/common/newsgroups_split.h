// The 20 Newsgroups bydate split as Kiln's benchmarks train on it: chosen
// topics, kiln-text-1 encoding, a vocabulary from the training posts, and
// optionally a validation share of them held out by a stable hash.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/model/model_weights.h"
#include "services/model/trainer.h"

namespace kiln::bench {

// The seed article's 8 topics.
const std::vector<std::string>& DefaultTopics();

// $KILN_DATASET, else ../shared/datasets/20news-bydate.tar.gz beside the
// source tree.
std::string DefaultArchive();

struct SplitOptions {
  std::vector<std::string> topics = DefaultTopics();  // {"all"}: all 20
  // Held out of the training posts: FNV-1a of the body under
  // fraction * 2^64 (a job's split hashes the stored content hash instead).
  double validation_fraction = 0;
  int max_length = 256;
  int min_count = 2;
};

struct NewsgroupsSplit {
  std::vector<std::string> topics;
  int vocab_size = 0;
  model::Examples train, validation, test;
};

absl::StatusOr<NewsgroupsSplit> LoadNewsgroupsSplit(const std::string& archive,
                                                    const SplitOptions& options);

struct Recall {
  double at1 = 0, at3 = 0, at5 = 0;
};

// Shares of `examples` whose label is among the model's top 1, 3, 5.
absl::StatusOr<Recall> ScoreRecall(const model::ModelWeights& weights,
                                   const model::Examples& examples);

}  // namespace kiln::bench
