// kiln pull and kiln predict: a published bundle on this machine, and the
// bundle run here in libtorch exactly as it ships to browsers.
#include <fstream>
#include <iostream>
#include <numeric>

#include "absl/strings/str_format.h"
#include "clients/cli/cli_context.h"
#include "clients/cli/model_ref.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_reader.h"
#include "services/model/predict.h"
#include "services/registry/registry_client.h"
#include "services/text/encoder.h"

namespace kiln::cli {
namespace {

absl::StatusOr<std::pair<kiln::v1::ModelVersion, model::Bundle>> Fetch(
    const CliContext& context, const std::string& text, model::BundleFiles* files_out = nullptr) {
  absl::StatusOr<kiln::v1::VersionRef> ref = ParseModelRef(text);
  if (!ref.ok()) return ref.status();
  registry::RegistryClient registry(MakeChannel(context.registry_address), context.token);
  auto downloaded = registry.Download(*ref);
  if (!downloaded.ok()) return downloaded.status();
  // Reading checks every file against the manifest's size and sha256.
  absl::StatusOr<model::Bundle> bundle = model::ReadBundle(downloaded->second);
  if (!bundle.ok()) return bundle.status();
  if (files_out) *files_out = std::move(downloaded->second);
  return std::make_pair(downloaded->first, *std::move(bundle));
}

int Pull(const CliContext& context, const std::string& ref, const std::string& directory) {
  model::BundleFiles files;
  auto fetched = Fetch(context, ref, &files);
  if (!fetched.ok()) {
    std::cerr << "kiln pull: " << fetched.status().message() << "\n";
    return 1;
  }
  if (absl::Status written = model::WriteBundleDirectory(files, directory); !written.ok()) {
    std::cerr << "kiln pull: " << written.message() << "\n";
    return 1;
  }
  const auto& version = fetched->first;
  if (context.json) {
    std::cout << nlohmann::json{{"model", version.model()},
                                {"version", version.version()},
                                {"directory", directory},
                                {"files", files.size()}}
                     .dump()
              << "\n";
  } else {
    std::cout << version.model() << " version " << version.version() << ": " << files.size()
              << " files verified and written to " << directory << "\n";
  }
  return 0;
}

// Prints the top `k` topics of one text, as a table or a JSON line.
int PrintTopics(const CliContext& context, const kiln::v1::ModelVersion& version,
                const model::Bundle& bundle, const std::string& text, int k) {
  std::vector<int32_t> ids(bundle.weights.shape.max_length);
  text::TextEncoder(bundle.vocabulary).Encode(text, absl::MakeSpan(ids));
  absl::StatusOr<std::vector<float>> probabilities = model::Predict(bundle.weights, ids);
  if (!probabilities.ok()) {
    std::cerr << "kiln predict: " << probabilities.status().message() << "\n";
    return 1;
  }
  const auto& classes = bundle.manifest.classes;
  std::vector<int> order(classes.size());
  std::iota(order.begin(), order.end(), 0);
  // Ties go to the lower class index, as in evaluation and the browser.
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return (*probabilities)[a] > (*probabilities)[b]; });
  order.resize(std::min<size_t>(k, order.size()));
  if (context.json) {
    nlohmann::json out = {{"model", version.model()},
                          {"version", version.version()},
                          {"topics", nlohmann::json::array()}};
    for (int c : order) out["topics"].push_back({{"topic", classes[c]}, {"score", (*probabilities)[c]}});
    std::cout << out.dump() << "\n";
    return 0;
  }
  for (int c : order) {
    const float p = (*probabilities)[c];
    std::cout << absl::StrFormat("%-26s %.4f %s\n", classes[c], p,
                                 std::string(static_cast<int>(p * 40 + 0.5), '#'));
  }
  return 0;
}

// One text from the command line, or every line of `file`: plain text, or
// JSON objects with a "text" member (as `kiln posts` prints them).
int Predict(const CliContext& context, const std::string& ref, const std::string& text,
            const std::string& file, int k) {
  if (text.empty() == file.empty()) {
    std::cerr << "kiln predict: give either a text or --file\n";
    return 2;
  }
  auto fetched = Fetch(context, ref);
  if (!fetched.ok()) {
    std::cerr << "kiln predict: " << fetched.status().message() << "\n";
    return 1;
  }
  if (file.empty()) return PrintTopics(context, fetched->first, fetched->second, text, k);
  std::ifstream in(file);
  if (!in) {
    std::cerr << "kiln predict: cannot read " << file << "\n";
    return 1;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    const std::string input = record.is_object() && record.contains("text") && record["text"].is_string()
                                  ? record["text"].get<std::string>()
                                  : line;
    if (int code = PrintTopics(context, fetched->first, fetched->second, input, k); code != 0) {
      return code;
    }
  }
  return 0;
}

}  // namespace

void AddBundleCommands(CLI::App& app, CliContext& context, Action& run) {
  auto ref = std::make_shared<std::string>();
  auto directory = std::make_shared<std::string>();
  auto* pull = app.add_subcommand("pull", "download and verify a bundle into a directory");
  pull->add_option("model", *ref, "MODEL[:VERSION|@ALIAS]")->required();
  pull->add_option("-o,--output", *directory, "directory to write")->required();
  pull->callback([&context, &run, ref, directory] {
    run = [&context, ref, directory] { return Pull(context, *ref, *directory); };
  });

  auto text = std::make_shared<std::string>();
  auto file = std::make_shared<std::string>();
  auto k = std::make_shared<int>(5);
  auto* predict = app.add_subcommand("predict", "top topics of a text, running the bundle here");
  predict->add_option("model", *ref, "MODEL[:VERSION|@ALIAS]")->required();
  predict->add_option("text", *text, "the text to classify");
  predict->add_option("--file", *file, "classify every line (text, or JSON with \"text\")")
      ->check(CLI::ExistingFile);
  predict->add_option("-k,--top", *k, "how many topics")->check(CLI::Range(1, 100))->capture_default_str();
  predict->callback([&context, &run, ref, text, file, k] {
    run = [&context, ref, text, file, k] { return Predict(context, *ref, *text, *file, *k); };
  });
}

}  // namespace kiln::cli
