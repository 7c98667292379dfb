// Training throughput and test recall of Kiln's trainer against the eager
// PyTorch baseline (../shared/bench/torch_baseline.py) on the seed article's
// 8 topics, same split and hyperparameters, in one run; then world size 2
// (two processes on loopback) against world size 1: time to the same
// recall@1.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "bench/common/median.h"
#include "clients/ingest/newsgroups_archive.h"
#include "nlohmann/json.hpp"
#include "services/model/communicator.h"
#include "services/model/predict.h"
#include "services/model/trainer.h"
#include "services/text/encoder.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

ABSL_FLAG(std::string, archive, "",
          "20news-bydate.tar.gz; default $KILN_DATASET, else ../shared/datasets/ next to the "
          "source tree");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "interpreter for the baseline");
ABSL_FLAG(bool, baseline, true, "run torch_baseline.py (takes minutes)");
ABSL_FLAG(int, runs, 5,
          "Kiln training runs at world size 1, with seeds seed, seed+1, ...; medians are "
          "reported (recall moves by about a point from seed to seed)");
ABSL_FLAG(int, threads, 2, "intra-op threads at world size 1 (the baseline's THREADS)");
ABSL_FLAG(int, epochs, 15, "epochs (the baseline's EPOCHS)");
ABSL_FLAG(uint64_t, seed, 0, "Kiln's seed (initialisation and shuffling)");
ABSL_FLAG(bool, distributed, true, "also compare world size 2 with world size 1");
// Set only on the second process that the world-size-2 comparison starts.
ABSL_FLAG(int, worker_rank1_port, 0, "internal: run as rank 1 against this store port");

namespace {

using kiln::bench::Median;

using kiln::ingest::NewsgroupsPost;
using kiln::model::Examples;
using kiln::model::ModelShape;
using kiln::model::ModelWeights;
using kiln::model::Trainer;
using kiln::model::TrainingOptions;

// The baseline's defaults (torch_baseline.py).
constexpr int kMaxLength = 256;
constexpr int kEmbeddingDim = 64;
constexpr int kHiddenUnits = 128;
constexpr int kBatchSize = 64;
constexpr float kLearningRate = 5e-3f;
constexpr int kMinCount = 2;
const std::vector<std::string> kTopics = {"comp.graphics",
                                          "comp.sys.mac.hardware",
                                          "rec.autos",
                                          "rec.sport.hockey",
                                          "sci.med",
                                          "sci.space",
                                          "talk.politics.guns",
                                          "soc.religion.christian"};

std::string Join(const std::vector<double>& values, const absl::FormatSpec<double>& format) {
  return absl::StrJoin(values, " ", [&](std::string* out, double value) {
    absl::StrAppend(out, absl::StrFormat(format, value));
  });
}

struct Dataset {
  ModelShape shape;
  Examples train;
  Examples test;
};

// Kiln's preprocessing (kiln-text-1) of the baseline's topics and split.
absl::StatusOr<Dataset> LoadDataset(const std::string& archive) {
  absl::StatusOr<std::vector<NewsgroupsPost>> posts = kiln::ingest::ReadNewsgroupsArchive(archive);
  if (!posts.ok()) return posts.status();
  std::vector<const NewsgroupsPost*> train_posts, test_posts;
  std::vector<int32_t> train_labels, test_labels;
  for (const NewsgroupsPost& post : *posts) {
    const auto topic = std::find(kTopics.begin(), kTopics.end(), post.category);
    if (topic == kTopics.end()) continue;
    const int32_t label = static_cast<int32_t>(topic - kTopics.begin());
    if (post.split == "train") {
      train_posts.push_back(&post);
      train_labels.push_back(label);
    } else {
      test_posts.push_back(&post);
      test_labels.push_back(label);
    }
  }
  kiln::text::Tokenizer tokenizer;
  kiln::text::TokenCounter counter;
  for (const NewsgroupsPost* post : train_posts) counter.Add(tokenizer.Tokenize(post->body));
  absl::StatusOr<kiln::text::Vocabulary> vocab =
      kiln::text::Vocabulary::Build(counter, {kMinCount});
  if (!vocab.ok()) return vocab.status();

  kiln::text::TextEncoder encoder(*vocab);
  const auto encode = [&](const std::vector<const NewsgroupsPost*>& from,
                          std::vector<int32_t> labels) {
    Examples examples;
    examples.ids.resize(from.size() * kMaxLength);
    for (size_t i = 0; i < from.size(); ++i) {
      encoder.Encode(from[i]->body, absl::MakeSpan(examples.ids.data() + i * kMaxLength,
                                                   static_cast<size_t>(kMaxLength)));
    }
    examples.labels = std::move(labels);
    return examples;
  };
  Dataset dataset;
  dataset.shape.vocab_size = vocab->size();
  dataset.shape.max_length = kMaxLength;
  dataset.shape.embedding_dim = kEmbeddingDim;
  dataset.shape.hidden_units = kHiddenUnits;
  dataset.shape.num_classes = static_cast<int>(kTopics.size());
  dataset.train = encode(train_posts, std::move(train_labels));
  dataset.test = encode(test_posts, std::move(test_labels));
  return dataset;
}

struct Recall {
  double at1 = 0, at3 = 0, at5 = 0;
};

absl::StatusOr<Recall> TestRecall(const ModelWeights& weights, const Examples& test) {
  absl::StatusOr<std::vector<float>> probabilities = kiln::model::Predict(weights, test.ids);
  if (!probabilities.ok()) return probabilities.status();
  const int classes = weights.shape.num_classes;
  int64_t hits1 = 0, hits3 = 0, hits5 = 0;
  for (int64_t i = 0; i < test.size(); ++i) {
    const float* row = probabilities->data() + i * classes;
    const float truth = row[test.labels[i]];
    // Rank of the true class: how many classes score strictly higher.
    const int64_t above = std::count_if(row, row + classes, [&](float p) { return p > truth; });
    hits1 += above < 1;
    hits3 += above < 3;
    hits5 += above < 5;
  }
  const double n = static_cast<double>(test.size());
  return Recall{hits1 / n, hits3 / n, hits5 / n};
}

TrainingOptions BaselineOptions(int threads, uint64_t seed) {
  TrainingOptions options;
  options.epochs = absl::GetFlag(FLAGS_epochs);
  options.batch_size = kBatchSize;
  options.learning_rate = kLearningRate;
  options.seed = seed;
  options.threads = threads;
  return options;
}

struct BaselineResult {
  double samples_per_second = 0;
  Recall recall;
  int vocab = 0, train = 0, test = 0;
  std::vector<double> epoch_seconds;
};

absl::StatusOr<BaselineResult> RunBaseline(const std::string& archive) {
  const std::string script = absl::StrCat(KILN_SOURCE_DIR, "/../shared/bench/torch_baseline.py");
  const std::string command =
      absl::StrCat("EPOCHS=", absl::GetFlag(FLAGS_epochs), " '", absl::GetFlag(FLAGS_python), "' '",
                   script, "' '", archive, "'");
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return absl::InternalError(absl::StrCat("cannot run ", command));
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  if (pclose(pipe) != 0) return absl::InternalError(absl::StrCat("the baseline failed: ", command));
  // Its report is the last line.
  const size_t last_line = output.find_last_of('{');
  const nlohmann::json report = nlohmann::json::parse(
      last_line == std::string::npos ? output : output.substr(last_line), nullptr, false);
  if (!report.is_object() || !report.contains("samples_per_s") || !report.contains("recall@1")) {
    return absl::InternalError(absl::StrCat("unexpected baseline output: ", output));
  }
  BaselineResult result;
  result.samples_per_second = report["samples_per_s"].get<double>();
  result.recall = {report["recall@1"].get<double>(), report["recall@3"].get<double>(),
                   report["recall@5"].get<double>()};
  result.vocab = report["vocab"].get<int>();
  result.train = report["train"].get<int>();
  result.test = report["test"].get<int>();
  result.epoch_seconds = report["epoch_s"].get<std::vector<double>>();
  return result;
}

struct KilnRun {
  std::vector<double> epoch_seconds;
  // Test recall@1 after each epoch, when tracked.
  std::vector<double> recall_after_epoch;
  Recall recall;
  double fastest_samples_per_second = 0;
};

// Trains to the end; `track_recall` evaluates after every epoch (outside
// the timed epochs).
absl::StatusOr<KilnRun> TrainKiln(const Dataset& data, const TrainingOptions& options,
                                  Examples shard, kiln::model::Communicator* communicator,
                                  bool track_recall) {
  absl::StatusOr<std::unique_ptr<Trainer>> trainer =
      Trainer::Create(data.shape, options, std::move(shard), communicator);
  if (!trainer.ok()) return trainer.status();
  KilnRun run;
  while (!(*trainer)->done()) {
    absl::StatusOr<kiln::model::EpochMetrics> metrics = (*trainer)->RunEpoch();
    if (!metrics.ok()) return metrics.status();
    run.epoch_seconds.push_back(metrics->seconds);
    run.fastest_samples_per_second =
        std::max(run.fastest_samples_per_second, metrics->samples_per_second);
    if (track_recall) {
      absl::StatusOr<Recall> recall = TestRecall((*trainer)->ExportWeights(), data.test);
      if (!recall.ok()) return recall.status();
      run.recall_after_epoch.push_back(recall->at1);
    }
  }
  absl::StatusOr<Recall> recall = TestRecall((*trainer)->ExportWeights(), data.test);
  if (!recall.ok()) return recall.status();
  run.recall = *recall;
  return run;
}

kiln::model::DistributedOptions LoopbackOptions(int rank, int port) {
  kiln::model::DistributedOptions options;
  options.rank = rank;
  options.world_size = 2;
  options.store_host = "127.0.0.1";
  options.store_port = port;
  options.transport_host = "127.0.0.1";
  options.key_prefix = "kiln_bench_train";
  return options;
}

// The second process of the world-size-2 run.
absl::Status RunRank1(const Dataset& data, int port) {
  absl::StatusOr<std::unique_ptr<kiln::model::Communicator>> communicator =
      kiln::model::Communicator::Create(LoopbackOptions(1, port));
  if (!communicator.ok()) return communicator.status();
  if (absl::Status status = (*communicator)->Connect(); !status.ok()) return status;
  return TrainKiln(data, BaselineOptions(1, absl::GetFlag(FLAGS_seed)),
                   kiln::model::ShardExamples(data.train, kMaxLength, 1, 2), communicator->get(),
                   false)
      .status();
}

// Rank 0 here, rank 1 in a child process of this same binary.
absl::StatusOr<KilnRun> RunWorldSizeTwo(const Dataset& data, const std::string& archive) {
  absl::StatusOr<std::unique_ptr<kiln::model::Communicator>> communicator =
      kiln::model::Communicator::Create(LoopbackOptions(0, 0));
  if (!communicator.ok()) return communicator.status();
  const std::string self = "/proc/self/exe";
  std::vector<std::string> args = {
      "kiln_bench_train", absl::StrCat("--archive=", archive),
      absl::StrCat("--epochs=", absl::GetFlag(FLAGS_epochs)),
      absl::StrCat("--worker_rank1_port=", (*communicator)->store_port())};
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  pid_t child = 0;
  if (posix_spawn(&child, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) {
    return absl::InternalError("cannot start the rank-1 process");
  }
  absl::StatusOr<KilnRun> run;
  if (absl::Status status = (*communicator)->Connect(); !status.ok()) {
    run = status;
  } else {
    run = TrainKiln(data, BaselineOptions(1, absl::GetFlag(FLAGS_seed)),
                    kiln::model::ShardExamples(data.train, kMaxLength, 0, 2), communicator->get(),
                    true);
  }
  int child_status = 0;
  waitpid(child, &child_status, 0);
  if (run.ok() && !(WIFEXITED(child_status) && WEXITSTATUS(child_status) == 0)) {
    return absl::InternalError("the rank-1 process failed");
  }
  return run;
}

// Seconds of training until recall@1 first reached `target`, and the epoch.
std::pair<double, int> TimeToRecall(const KilnRun& run, double target) {
  double seconds = 0;
  for (size_t i = 0; i < run.epoch_seconds.size(); ++i) {
    seconds += run.epoch_seconds[i];
    if (run.recall_after_epoch[i] >= target) return {seconds, static_cast<int>(i) + 1};
  }
  return {-1, -1};
}

void PrintRecall(const char* name, double samples_per_second, const Recall& recall,
                 const std::string& note) {
  absl::PrintF("%-30s %12.0f %9.4f %9.4f %9.4f  %s\n", name, samples_per_second, recall.at1,
               recall.at3, recall.at5, note);
}

absl::Status Run() {
  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::ingest::NewsgroupsArchivePath(KILN_SOURCE_DIR);
  absl::StatusOr<Dataset> data = LoadDataset(archive);
  if (!data.ok()) return data.status();
  if (const int port = absl::GetFlag(FLAGS_worker_rank1_port); port != 0) {
    return RunRank1(*data, port);
  }

  std::optional<BaselineResult> baseline;
  if (absl::GetFlag(FLAGS_baseline)) {
    std::cout << "running torch_baseline.py (a few minutes)..." << std::endl;
    absl::StatusOr<BaselineResult> result = RunBaseline(archive);
    if (!result.ok()) return result.status();
    baseline = *result;
  }

  const int runs = absl::GetFlag(FLAGS_runs);
  const int threads = absl::GetFlag(FLAGS_threads);
  std::vector<KilnRun> kiln_runs;
  for (int i = 0; i < runs; ++i) {
    std::cout << "Kiln world size 1, run " << i + 1 << " of " << runs << "..." << std::endl;
    // Run 1 (the flag's seed) also tracks recall by epoch for world size 2.
    absl::StatusOr<KilnRun> run =
        TrainKiln(*data, BaselineOptions(threads, absl::GetFlag(FLAGS_seed) + i), data->train,
                  nullptr, /*track_recall=*/i == 0);
    if (!run.ok()) return run.status();
    kiln_runs.push_back(*run);
  }
  std::vector<double> speeds, recalls1, recalls3, recalls5;
  for (const KilnRun& run : kiln_runs) {
    speeds.push_back(run.fastest_samples_per_second);
    recalls1.push_back(run.recall.at1);
    recalls3.push_back(run.recall.at3);
    recalls5.push_back(run.recall.at5);
  }
  const double kiln_speed = Median(speeds);
  const Recall kiln_recall{Median(recalls1), Median(recalls3), Median(recalls5)};

  absl::PrintF("\n8 topics, max_length %d, dim %d, hidden %d, batch %d, lr %g, %d epochs\n",
               kMaxLength, kEmbeddingDim, kHiddenUnits, kBatchSize, kLearningRate,
               absl::GetFlag(FLAGS_epochs));
  absl::PrintF("Kiln: %d train / %d test posts, vocabulary %d (kiln-text-1, min_count %d)\n",
               data->train.size(), data->test.size(), data->shape.vocab_size, kMinCount);
  if (baseline) {
    absl::PrintF("baseline: %d train / %d test posts, vocabulary %d ([^a-z0-9]+ split)\n",
                 baseline->train, baseline->test, baseline->vocab);
  }
  absl::PrintF("\n%-30s %12s %9s %9s %9s\n", "", "samples/s", "recall@1", "recall@3", "recall@5");
  if (baseline) {
    PrintRecall("PyTorch eager (baseline)", baseline->samples_per_second, baseline->recall,
                absl::StrCat("epochs ", Join(baseline->epoch_seconds, "%.3f"), " s"));
  }
  PrintRecall(absl::StrCat("Kiln, ", threads, " threads").c_str(), kiln_speed, kiln_recall,
              absl::StrCat("medians of ", runs, " seeds from ", absl::GetFlag(FLAGS_seed)));
  absl::PrintF("  per seed: samples/s %s; recall@1 %s\n  seed %d epochs %s s\n",
               Join(speeds, "%.0f"), Join(recalls1, "%.4f"), absl::GetFlag(FLAGS_seed),
               Join(kiln_runs[0].epoch_seconds, "%.3f"));
  if (baseline) {
    absl::PrintF(
        "\nratio Kiln / baseline: %.2fx samples/s (target >= 4x); recall@1 %+.2f points "
        "(target >= -0.5)\n",
        kiln_speed / baseline->samples_per_second, 100 * (kiln_recall.at1 - baseline->recall.at1));
  }

  if (absl::GetFlag(FLAGS_distributed)) {
    std::cout << "\nKiln world size 2 (two processes, one thread each, loopback Gloo)..."
              << std::endl;
    absl::StatusOr<KilnRun> two = RunWorldSizeTwo(*data, archive);
    if (!two.ok()) return two.status();
    const KilnRun& one = kiln_runs[0];
    // The recall both reach by their last epoch.
    const double target = std::min(one.recall.at1, two->recall.at1);
    const auto [one_seconds, one_epoch] = TimeToRecall(one, target);
    const auto [two_seconds, two_epoch] = TimeToRecall(*two, target);
    absl::PrintF("\n%-30s %12s %9s %14s %8s\n", "time to recall@1 >= target", "samples/s",
                 "recall@1", "train seconds", "epoch");
    absl::PrintF("%-30s %12.0f %9.4f %14.2f %8d\n",
                 absl::StrCat("world size 1, ", threads, " threads"),
                 one.fastest_samples_per_second, one.recall.at1, one_seconds, one_epoch);
    absl::PrintF("%-30s %12.0f %9.4f %14.2f %8d\n", "world size 2, 1 thread each",
                 two->fastest_samples_per_second, two->recall.at1, two_seconds, two_epoch);
    absl::PrintF("target recall@1 %.4f; world size 2 / 1 time: %.2fx\n", target,
                 two_seconds / one_seconds);
  }
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  const absl::Status status = Run();
  if (!status.ok()) {
    std::cerr << "kiln_bench_train: " << status << "\n";
    return 1;
  }
  return 0;
}
