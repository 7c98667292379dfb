// Model quality of Kiln's trainer against the scikit-learn anchor
// (../shared/bench/sklearn_anchor.py) on the same topics and split, in one
// run: test recall@1/3/5 of several seeds (medians), with the validation
// split and early stopping a default job uses, and the time each run takes.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "bench/common/median.h"
#include "bench/common/newsgroups_split.h"
#include "nlohmann/json.hpp"
#include "services/model/trainer.h"
#include "services/model/training_run.h"

ABSL_FLAG(std::string, archive, "", "20news-bydate.tar.gz; default $KILN_DATASET");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "interpreter for the anchor");
ABSL_FLAG(bool, anchor, true, "run sklearn_anchor.py on the same topics");
ABSL_FLAG(std::string, topics, "",
          "comma-separated topics, \"all\" for the 20; default the article's 8");
ABSL_FLAG(std::string, architecture, "tfidf", "tfidf or article");
ABSL_FLAG(int, seeds, 5, "runs with seeds 0, 1, ...");
ABSL_FLAG(int, hidden_units, 0, "0 = the architecture's default");
ABSL_FLAG(int, epochs, 0, "most epochs; 0 = the architecture's default");
ABSL_FLAG(int, batch_size, 0, "0 = the architecture's default");
ABSL_FLAG(double, learning_rate, 0, "0 = the architecture's default");
ABSL_FLAG(double, dropout, -1, "-1 = the architecture's default");
ABSL_FLAG(double, validation_fraction, 0.1, "held out of the training split");
ABSL_FLAG(int, patience, 3, "epochs without a lower validation loss before stopping");
ABSL_FLAG(int, max_length, 256, "ids per post");
ABSL_FLAG(int, threads, 2, "intra-op threads");

namespace {

using kiln::bench::Median;

using kiln::model::ModelShape;
using kiln::model::ModelWeights;

using kiln::bench::NewsgroupsSplit;
using kiln::bench::Recall;

struct Run {
  int best_epoch = 0, epochs = 0;
  kiln::model::ValidationFigures validation;  // of the best epoch
  Recall test;
  double seconds = 0;
};

template <typename T>
T Or(T flag, T fallback) {
  return flag > 0 ? flag : fallback;
}

absl::StatusOr<Run> Train(const NewsgroupsSplit& data, uint64_t seed) {
  const bool tfidf = absl::GetFlag(FLAGS_architecture) == "tfidf";
  ModelShape shape;
  shape.architecture = tfidf ? kiln::model::Architecture::kTfidf
                             : kiln::model::Architecture::kArticle;
  shape.vocab_size = data.vocab_size;
  shape.max_length = absl::GetFlag(FLAGS_max_length);
  shape.hidden_units = Or(absl::GetFlag(FLAGS_hidden_units), tfidf ? 48 : 128);
  shape.embedding_dim = tfidf ? shape.hidden_units : 64;
  shape.num_classes = static_cast<int>(data.topics.size());
  const double dropout = absl::GetFlag(FLAGS_dropout);
  shape.dropout = static_cast<float>(dropout >= 0 ? dropout : (tfidf ? 0.5 : 0.0));
  kiln::model::TrainingOptions options;
  options.epochs = Or(absl::GetFlag(FLAGS_epochs), tfidf ? 30 : 15);
  options.batch_size = Or(absl::GetFlag(FLAGS_batch_size), 64);
  options.learning_rate =
      static_cast<float>(Or(absl::GetFlag(FLAGS_learning_rate), 5e-3));
  options.seed = seed;
  options.threads = absl::GetFlag(FLAGS_threads);

  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<std::unique_ptr<kiln::model::Trainer>> trainer =
      kiln::model::Trainer::Create(shape, options, data.train);
  if (!trainer.ok()) return trainer.status();
  // The worker's own loop: validation after every epoch, early stopping,
  // the best epoch's weights.
  kiln::model::RunOptions run_options;
  run_options.patience = absl::GetFlag(FLAGS_patience);
  kiln::model::TrainingRun training(std::move(*trainer), data.validation, run_options);
  while (!training.done()) {
    absl::StatusOr<kiln::model::RunEpochReport> epoch = training.RunEpoch();
    if (!epoch.ok()) return epoch.status();
  }
  Run run;
  run.epochs = training.epochs_done();
  run.best_epoch = training.best_epoch();
  run.validation = training.best_report().validation.value_or(kiln::model::ValidationFigures{});
  absl::StatusOr<ModelWeights> best = training.TakeBestWeights();
  if (!best.ok()) return best.status();
  run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  absl::StatusOr<Recall> test = kiln::bench::ScoreRecall(*best, data.test);
  if (!test.ok()) return test.status();
  run.test = *test;
  return run;
}

std::string RunAnchor(const std::string& archive, const std::vector<std::string>& topics) {
  const std::string script = absl::StrCat(KILN_SOURCE_DIR, "/../shared/bench/sklearn_anchor.py");
  const std::string command = absl::StrCat("TOPICS='", absl::StrJoin(topics, ","), "' '",
                                           absl::GetFlag(FLAGS_python), "' '", script, "' '",
                                           archive, "'");
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

}  // namespace

int main(int argc, char** argv) {
  absl::ParseCommandLine(argc, argv);
  std::string archive = absl::GetFlag(FLAGS_archive);
  if (archive.empty()) archive = kiln::bench::DefaultArchive();
  kiln::bench::SplitOptions split;
  if (const std::string topics = absl::GetFlag(FLAGS_topics); !topics.empty()) {
    split.topics = absl::StrSplit(topics, ',');
  }
  split.validation_fraction = absl::GetFlag(FLAGS_validation_fraction);
  split.max_length = absl::GetFlag(FLAGS_max_length);
  absl::StatusOr<NewsgroupsSplit> data = kiln::bench::LoadNewsgroupsSplit(archive, split);
  if (!data.ok()) {
    std::cerr << "kiln_bench_quality: " << data.status() << "\n";
    return 1;
  }
  std::cout << absl::StrFormat(
      "%d topics: %d training posts (%d held out for validation), %d test, vocabulary %d\n",
      data->topics.size(), data->train.size() + data->validation.size(), data->validation.size(),
      data->test.size(), data->vocab_size);
  std::vector<double> at1, at3, at5, seconds;
  for (int seed = 0; seed < absl::GetFlag(FLAGS_seeds); ++seed) {
    absl::StatusOr<Run> run = Train(*data, static_cast<uint64_t>(seed));
    if (!run.ok()) {
      std::cerr << "kiln_bench_quality: " << run.status() << "\n";
      return 1;
    }
    std::cout << absl::StrFormat(
        "kiln %s seed %d: best epoch %d of %d, validation loss %.4f recall@1 %.4f; test "
        "recall@1 %.4f @3 %.4f @5 %.4f; %.1f s\n",
        absl::GetFlag(FLAGS_architecture), seed, run->best_epoch, run->epochs,
        run->validation.loss, run->validation.recall_at_1, run->test.at1, run->test.at3, run->test.at5,
        run->seconds);
    at1.push_back(run->test.at1);
    at3.push_back(run->test.at3);
    at5.push_back(run->test.at5);
    seconds.push_back(run->seconds);
  }
  std::cout << absl::StrFormat(
      "kiln %s median: recall@1 %.4f (min %.4f) @3 %.4f @5 %.4f, %.1f s per run\n",
      absl::GetFlag(FLAGS_architecture), Median(at1), *std::min_element(at1.begin(), at1.end()),
      Median(at3), Median(at5), Median(seconds));
  if (absl::GetFlag(FLAGS_anchor)) {
    const std::string output = RunAnchor(archive, data->topics);
    const size_t line = output.find_last_of('{') == std::string::npos ? 0 : output.rfind("{\"topics");
    const nlohmann::json anchor = nlohmann::json::parse(output.substr(line), nullptr, false);
    if (!anchor.is_object() || !anchor.contains("tfidf1_logreg")) {
      std::cerr << "kiln_bench_quality: unexpected anchor output: " << output << "\n";
      return 1;
    }
    for (const char* variant : {"tfidf1_logreg", "tfidf12_linsvc"}) {
      const double anchor_at1 = anchor[variant]["recall@1"].get<double>();
      std::cout << absl::StrFormat(
          "scikit-learn %s: recall@1 %.4f @3 %.4f @5 %.4f, %.1f s; kiln median - anchor = "
          "%+.4f\n",
          variant, anchor_at1, anchor[variant]["recall@3"].get<double>(),
          anchor[variant]["recall@5"].get<double>(), anchor[variant]["seconds"].get<double>(),
          Median(at1) - anchor_at1);
    }
  }
  return 0;
}
