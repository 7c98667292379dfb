// Bundle size and test recall for each weight encoding: trains the seed
// article's classifier with the default job spec (what `kiln train` runs
// when given no options) on its 8 topics of 20 Newsgroups, writes the
// float32, float16 and uint8 bundles, reads each back and scores the read-back
// weights on the whole test split, as the evaluation service would.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_archive.h"
#include "kiln/v1/training.pb.h"
#include "services/evaluation/metrics.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_reader.h"
#include "services/model/bundle_writer.h"
#include "services/model/predict.h"
#include "services/model/trainer.h"
#include "services/text/encoder.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"
#include "services/training/job_spec.h"

ABSL_FLAG(std::string, archive, "",
          "20news-bydate.tar.gz; default $KILN_DATASET, else ../shared/datasets/ next to the "
          "source tree");
ABSL_FLAG(std::string, out, "", "also write the three bundles into DIR/<encoding>/");
ABSL_FLAG(int, threads, 2, "intra-op threads for training");

namespace {

using kiln::ingest::NewsgroupsPost;
using kiln::model::WeightEncoding;

struct Split {
  std::vector<const NewsgroupsPost*> posts;
  std::vector<int32_t> labels;
};

std::vector<int32_t> Encode(const kiln::text::Vocabulary& vocabulary, const Split& split,
                            int max_length) {
  kiln::text::TextEncoder encoder(vocabulary);
  std::vector<int32_t> ids(split.posts.size() * max_length);
  for (size_t i = 0; i < split.posts.size(); ++i) {
    encoder.Encode(split.posts[i]->body,
                   absl::MakeSpan(ids.data() + i * max_length, static_cast<size_t>(max_length)));
  }
  return ids;
}

struct EncodingResult {
  std::string name;
  int64_t bytes = 0;
  int shards = 0;
  kiln::v1::EvaluationReport report;
  std::vector<int> top1;  // predicted class of every test post
};

absl::Status Run() {
  kiln::v1::JobSpec spec;
  kiln::training::ApplyDefaults(spec, 1);
  const std::vector<std::string> topics(spec.topics().begin(), spec.topics().end());
  const int max_length = spec.max_length();

  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::ingest::NewsgroupsArchivePath(KILN_SOURCE_DIR);
  absl::StatusOr<std::vector<NewsgroupsPost>> posts = kiln::ingest::ReadNewsgroupsArchive(archive);
  if (!posts.ok()) return posts.status();
  // The archive's own split is the one `kiln ingest` maps to the default
  // spec's train and test years.
  Split train, test;
  for (const NewsgroupsPost& post : *posts) {
    const auto topic = std::find(topics.begin(), topics.end(), post.category);
    if (topic == topics.end()) continue;
    Split& split = post.split == "train" ? train : test;
    split.posts.push_back(&post);
    split.labels.push_back(static_cast<int32_t>(topic - topics.begin()));
  }

  kiln::text::Tokenizer tokenizer;
  kiln::text::TokenCounter counter;
  for (const NewsgroupsPost* post : train.posts) counter.Add(tokenizer.Tokenize(post->body));
  absl::StatusOr<kiln::text::Vocabulary> vocabulary = kiln::text::Vocabulary::Build(
      counter, {spec.vocabulary().min_count(), spec.vocabulary().max_size()});
  if (!vocabulary.ok()) return vocabulary.status();

  kiln::model::ModelShape shape;
  shape.vocab_size = vocabulary->size();
  shape.max_length = max_length;
  shape.embedding_dim = spec.embedding_dim();
  shape.hidden_units = spec.hidden_units();
  shape.num_classes = static_cast<int>(topics.size());
  shape.pooling = spec.pooling() == kiln::v1::POOLING_FLATTEN ? kiln::model::Pooling::kFlatten
                                                                : kiln::model::Pooling::kGlobalAverage;
  kiln::model::TrainingOptions options;
  options.epochs = spec.epochs();
  options.batch_size = spec.batch_size();
  options.learning_rate = static_cast<float>(spec.learning_rate());
  options.seed = spec.seed();
  options.threads = absl::GetFlag(FLAGS_threads);
  kiln::model::Examples examples;
  examples.ids = Encode(*vocabulary, train, max_length);
  examples.labels = train.labels;
  std::printf("%zu train / %zu test posts, vocabulary %d ids; %d epochs, batch %d, lr %g, dim %d, "
              "hidden %d, max_length %d, seed %llu\n",
              train.posts.size(), test.posts.size(), vocabulary->size(), options.epochs,
              options.batch_size, options.learning_rate, shape.embedding_dim, shape.hidden_units,
              max_length, static_cast<unsigned long long>(options.seed));
  absl::StatusOr<std::unique_ptr<kiln::model::Trainer>> trainer =
      kiln::model::Trainer::Create(shape, options, std::move(examples));
  if (!trainer.ok()) return trainer.status();
  while (!(*trainer)->done()) {
    absl::StatusOr<kiln::model::EpochMetrics> epoch = (*trainer)->RunEpoch();
    if (!epoch.ok()) return epoch.status();
  }
  const kiln::model::ModelWeights weights = (*trainer)->ExportWeights();

  std::vector<EncodingResult> results;
  for (WeightEncoding encoding : {WeightEncoding::kFloat32, WeightEncoding::kFloat16,
                                  WeightEncoding::kUint8}) {
    EncodingResult result;
    result.name = kiln::model::WeightEncodingName(encoding);
    kiln::model::BundleMetadata metadata;
    metadata.weight_encoding = encoding;
    absl::StatusOr<kiln::model::BundleFiles> files =
        kiln::model::WriteBundle(weights, topics, *vocabulary, metadata);
    if (!files.ok()) return files.status();
    for (const auto& [path, content] : *files) {
      result.bytes += static_cast<int64_t>(content.size());
      result.shards += absl::EndsWith(path, ".bin");
    }
    if (const std::string out = absl::GetFlag(FLAGS_out); !out.empty()) {
      absl::Status written =
          kiln::model::WriteBundleDirectory(*files, absl::StrCat(out, "/", result.name));
      if (!written.ok()) return written;
    }
    // Scored as read back: the weights the browser runs after dequantizing.
    absl::StatusOr<kiln::model::Bundle> bundle = kiln::model::ReadBundle(*files);
    if (!bundle.ok()) return bundle.status();
    absl::StatusOr<std::vector<float>> probabilities = kiln::model::Predict(
        bundle->weights, Encode(bundle->vocabulary, test, max_length));
    if (!probabilities.ok()) return probabilities.status();
    kiln::evaluation::MetricsAccumulator metrics(topics);
    metrics.Add(*probabilities, test.labels);
    metrics.Fill(result.report);
    for (size_t i = 0; i < test.posts.size(); ++i) {
      const float* row = probabilities->data() + i * topics.size();
      // First maximum: ties go to the lower class, as in the report.
      result.top1.push_back(static_cast<int>(std::max_element(row, row + topics.size()) - row));
    }
    results.push_back(std::move(result));
  }

  std::printf("\n%-9s %12s %7s %9s %9s %9s\n", "encoding", "bytes", "shards", "recall@1",
              "recall@3", "recall@5");
  for (const EncodingResult& r : results) {
    std::printf("%-9s %12lld %7d %9.4f %9.4f %9.4f\n", r.name.c_str(),
                static_cast<long long>(r.bytes), r.shards, r.report.recall_at_1(),
                r.report.recall_at_3(), r.report.recall_at_5());
  }
  std::printf("\n");
  for (size_t e = 1; e < results.size(); ++e) {
    int64_t same = 0;
    for (size_t i = 0; i < test.posts.size(); ++i) same += results[e].top1[i] == results[0].top1[i];
    std::printf("%s vs float32: top-1 agreement %.4f (%lld of %zu posts), size %.3f of float32\n",
                results[e].name.c_str(), static_cast<double>(same) / test.posts.size(),
                static_cast<long long>(same), test.posts.size(),
                static_cast<double>(results[e].bytes) / results[0].bytes);
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  if (absl::Status status = Run(); !status.ok()) {
    std::fprintf(stderr, "kiln_bench_bundle: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
