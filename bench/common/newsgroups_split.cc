#include "bench/common/newsgroups_split.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_archive.h"
#include "services/model/predict.h"
#include "services/text/encoder.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace kiln::bench {
namespace {

uint64_t Fnv1a(const std::string& text) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (unsigned char c : text) hash = (hash ^ c) * 0x100000001b3ULL;
  return hash;
}

}  // namespace

const std::vector<std::string>& DefaultTopics() {
  static const std::vector<std::string> topics = {
      "comp.graphics", "comp.sys.mac.hardware", "rec.autos",          "rec.sport.hockey",
      "sci.med",       "sci.space",             "talk.politics.guns", "soc.religion.christian"};
  return topics;
}

std::string DefaultArchive() {
  if (const char* dataset = std::getenv("KILN_DATASET"); dataset != nullptr && *dataset) {
    return dataset;
  }
  return absl::StrCat(KILN_SOURCE_DIR, "/../shared/datasets/20news-bydate.tar.gz");
}

absl::StatusOr<NewsgroupsSplit> LoadNewsgroupsSplit(const std::string& archive,
                                                    const SplitOptions& options) {
  absl::StatusOr<std::vector<ingest::NewsgroupsPost>> posts =
      ingest::ReadNewsgroupsArchive(archive);
  if (!posts.ok()) return posts.status();
  NewsgroupsSplit data;
  if (options.topics == std::vector<std::string>{"all"}) {
    for (const ingest::NewsgroupsPost& post : *posts) data.topics.push_back(post.category);
    std::sort(data.topics.begin(), data.topics.end());
    data.topics.erase(std::unique(data.topics.begin(), data.topics.end()), data.topics.end());
  } else {
    data.topics = options.topics;
  }
  std::vector<const ingest::NewsgroupsPost*> split[3];  // train, validation, test
  std::vector<int32_t> labels[3];
  for (const ingest::NewsgroupsPost& post : *posts) {
    const auto topic = std::find(data.topics.begin(), data.topics.end(), post.category);
    if (topic == data.topics.end()) continue;
    int side = post.split == "train" ? 0 : 2;
    if (side == 0 &&
        static_cast<double>(Fnv1a(post.body)) < options.validation_fraction * 18446744073709551616.0) {
      side = 1;
    }
    split[side].push_back(&post);
    labels[side].push_back(static_cast<int32_t>(topic - data.topics.begin()));
  }
  text::Tokenizer tokenizer;
  text::TokenCounter counter;
  for (const ingest::NewsgroupsPost* post : split[0]) counter.Add(tokenizer.Tokenize(post->body));
  absl::StatusOr<text::Vocabulary> vocab = text::Vocabulary::Build(counter, {options.min_count});
  if (!vocab.ok()) return vocab.status();
  data.vocab_size = vocab->size();
  text::TextEncoder encoder(*vocab);
  const int length = options.max_length;
  model::Examples* targets[3] = {&data.train, &data.validation, &data.test};
  for (int side = 0; side < 3; ++side) {
    model::Examples& examples = *targets[side];
    examples.ids.resize(split[side].size() * length);
    for (size_t i = 0; i < split[side].size(); ++i) {
      encoder.Encode(split[side][i]->body,
                     absl::MakeSpan(examples.ids.data() + i * length, static_cast<size_t>(length)));
    }
    examples.labels = labels[side];
  }
  return data;
}

absl::StatusOr<Recall> ScoreRecall(const model::ModelWeights& weights,
                                   const model::Examples& examples) {
  absl::StatusOr<std::vector<float>> probabilities = model::Predict(weights, examples.ids);
  if (!probabilities.ok()) return probabilities.status();
  const int classes = weights.shape.num_classes;
  Recall recall;
  for (int64_t i = 0; i < examples.size(); ++i) {
    const float* row = probabilities->data() + i * classes;
    const float truth = row[examples.labels[i]];
    // The true class's rank: how many classes score strictly higher.
    const int64_t above = std::count_if(row, row + classes, [&](float p) { return p > truth; });
    recall.at1 += above < 1;
    recall.at3 += above < 3;
    recall.at5 += above < 5;
  }
  const double n = static_cast<double>(examples.size());
  recall.at1 /= n;
  recall.at3 /= n;
  recall.at5 /= n;
  return recall;
}

}  // namespace kiln::bench
