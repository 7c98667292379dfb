// kiln train: submits a training job (spec from flags and/or a JSON file)
// and, unless --detach, follows it to its end.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_split.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/job_watch.h"
#include "clients/cli/year_ranges.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/proto_json.h"

namespace kiln::cli {
namespace {

struct TrainOptions {
  std::string spec_file;
  std::string model;
  std::string topics;
  std::string train_years;
  std::string test_years;
  int min_count = 0;
  int max_vocabulary = 0;
  int max_length = 0;
  int embedding_dim = 0;
  int hidden_units = 0;
  std::string pooling;
  std::string architecture;
  double dropout = -1;  // unset
  int epochs = 0;
  int batch_size = 0;
  double learning_rate = 0;
  int64_t seed = -1;
  int world_size = 0;
  std::string weights;
  int max_attempts = 0;
  std::string description;
  double validation_fraction = -1;  // < 0: unset
  int patience = -1;                // < 0: unset
  bool detach = false;
};

int Train(const CliContext& context, const TrainOptions& options) {
  kiln::v1::JobSpec spec;
  if (!options.spec_file.empty()) {
    std::ifstream in(options.spec_file);
    std::stringstream text;
    text << in.rdbuf();
    if (!in) {
      std::cerr << "kiln train: cannot read " << options.spec_file << "\n";
      return 2;
    }
    if (absl::Status parsed = FromJson(text.str(), &spec); !parsed.ok()) {
      std::cerr << "kiln train: " << options.spec_file << " is not a job spec: "
                << parsed.message() << "\n";
      return 2;
    }
  }
  // Flags override the file; anything left unset takes the service's default.
  if (!options.model.empty()) spec.set_model(options.model);
  if (!options.topics.empty()) {
    spec.clear_topics();
    for (absl::string_view topic : absl::StrSplit(options.topics, ',', absl::SkipWhitespace())) {
      spec.add_topics(std::string(topic));
    }
  }
  if (!options.train_years.empty() && !ParseYearRanges(options.train_years, spec.mutable_train_years())) {
    std::cerr << "kiln train: --train-years wants ranges like 1922-1953[,1960-1961]\n";
    return 2;
  }
  if (!options.test_years.empty() && !ParseYearRanges(options.test_years, spec.mutable_test_years())) {
    std::cerr << "kiln train: --test-years wants ranges like 1990-2000\n";
    return 2;
  }
  if (options.min_count) spec.mutable_vocabulary()->set_min_count(options.min_count);
  if (options.max_vocabulary) spec.mutable_vocabulary()->set_max_size(options.max_vocabulary);
  if (options.max_length) spec.set_max_length(options.max_length);
  if (options.embedding_dim) spec.set_embedding_dim(options.embedding_dim);
  if (options.hidden_units) spec.set_hidden_units(options.hidden_units);
  if (options.pooling == "average") spec.set_pooling(kiln::v1::POOLING_GLOBAL_AVERAGE);
  if (options.pooling == "flatten") spec.set_pooling(kiln::v1::POOLING_FLATTEN);
  if (options.architecture == "article") spec.set_architecture(kiln::v1::ARCHITECTURE_ARTICLE);
  if (options.architecture == "tfidf") spec.set_architecture(kiln::v1::ARCHITECTURE_TFIDF);
  if (options.dropout >= 0) spec.set_dropout(options.dropout);
  if (options.epochs) spec.set_epochs(options.epochs);
  if (options.batch_size) spec.set_batch_size(options.batch_size);
  if (options.learning_rate) spec.set_learning_rate(options.learning_rate);
  if (options.seed >= 0) spec.set_seed(static_cast<uint64_t>(options.seed));
  if (options.world_size) spec.set_world_size(options.world_size);
  if (options.weights == "float32") spec.set_weight_encoding(kiln::v1::WEIGHT_ENCODING_FLOAT32);
  if (options.weights == "float16") spec.set_weight_encoding(kiln::v1::WEIGHT_ENCODING_FLOAT16);
  if (options.weights == "uint8") spec.set_weight_encoding(kiln::v1::WEIGHT_ENCODING_UINT8);
  if (options.max_attempts) spec.set_max_attempts(options.max_attempts);
  if (!options.description.empty()) spec.set_description(options.description);
  if (options.validation_fraction >= 0) spec.set_validation_fraction(options.validation_fraction);
  if (options.patience >= 0) spec.set_early_stopping_patience(options.patience);

  auto stub = kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
  grpc::ClientContext call;
  PrepareContext(call, context.token, absl::Seconds(30));
  kiln::v1::SubmitJobRequest request;
  *request.mutable_spec() = spec;
  kiln::v1::Job job;
  const grpc::Status status = stub->SubmitJob(&call, request, &job);
  if (!status.ok()) {
    std::cerr << "kiln train: " << status.error_message() << "\n";
    return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? 2 : 1;
  }
  if (context.json) {
    std::cout << ToJson(job) << std::endl;
  } else {
    std::cout << "submitted " << job.id() << " (model " << job.spec().model() << ", "
              << job.spec().topics_size() << " topics, " << job.spec().epochs()
              << " epochs, world size " << job.spec().world_size() << ")" << std::endl;
  }
  if (options.detach) return 0;
  return WatchJobToEnd(context, job.id());
}

}  // namespace

void AddTrainCommand(CLI::App& app, CliContext& context, Action& run) {
  auto* command = app.add_subcommand(
      "train", "submit a training job and follow it (defaults: the article's 8-topic model)");
  auto o = std::make_shared<TrainOptions>();
  command->add_option("--spec", o->spec_file, "JSON job spec (kiln.v1.JobSpec); flags override it")
      ->check(CLI::ExistingFile);
  command->add_option("--model", o->model, "registry model name (default news)");
  command->add_option("--topics", o->topics, "comma-separated categories");
  command->add_option("--train-years", o->train_years, "e.g. 1922-1953");
  command->add_option("--test-years", o->test_years, "e.g. 1990-2000");
  command->add_option("--min-count", o->min_count, "vocabulary: minimum word count (default 2)");
  command->add_option("--max-vocabulary", o->max_vocabulary, "vocabulary: maximum size");
  command->add_option("--max-length", o->max_length, "sequence length (default 256)");
  command->add_option("--architecture", o->architecture,
                      "tfidf (default: a TF-IDF bag of words) or article (the seed article's "
                      "embedding model); the defaults below depend on it")
      ->check(CLI::IsMember({"tfidf", "article"}));
  command->add_option("--embedding-dim", o->embedding_dim,
                      "article: embedding size (default 64); tfidf: equals --hidden-units");
  command->add_option("--hidden-units", o->hidden_units,
                      "hidden layer units (default tfidf 48, article 128)");
  command->add_option("--dropout", o->dropout,
                      "dropout after the hidden layer, 0..0.9 (default tfidf 0.5, article 0)");
  command->add_option("--pooling", o->pooling, "article only: average (default) or flatten")
      ->check(CLI::IsMember({"average", "flatten"}));
  command->add_option("--epochs", o->epochs, "most epochs (default tfidf 30, article 15)");
  command->add_option("--batch-size", o->batch_size,
                      "global batch size (default tfidf 32, article 64)");
  command->add_option("--learning-rate", o->learning_rate,
                      "Adam learning rate (default 0.005)");
  command->add_option("--seed", o->seed, "random seed (default 0)");
  command->add_option("--world-size", o->world_size, "workers training together (default 1)");
  command->add_option("--weights", o->weights, "bundle weights: float32, float16 or uint8")
      ->check(CLI::IsMember({"float32", "float16", "uint8"}));
  command->add_option("--max-attempts", o->max_attempts, "leases before the job fails");
  command->add_option("--description", o->description, "free text");
  command->add_option("--validation-fraction", o->validation_fraction,
                      "share of the training posts held out for validation, 0..0.5 (default "
                      "0.1; 0 = none, the last epoch ships)");
  command->add_option("--patience", o->patience,
                      "epochs without a lower validation loss before training stops (default 3; "
                      "0 = every epoch)");
  command->add_flag("--detach", o->detach, "return after submitting");
  command->callback([&context, &run, o] { run = [&context, o] { return Train(context, *o); }; });
}

}  // namespace kiln::cli
