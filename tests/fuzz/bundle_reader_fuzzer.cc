// The bundle reader (services/model/bundle_reader.h) on any set of files
// (layout in bundle_input.h): manifest.json, vocab.json, model.json and the
// weight shards. Before reading, the listed sizes and sha256 and the
// vocabulary's hash are set to those of the files given, so that inputs get
// past the integrity checks to the parsers behind them.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/model/bundle_reader.h"
#include "tests/fuzz/bundle_input.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using nlohmann::json;

void MatchDigests(kiln::model::BundleFiles& files) {
  const auto manifest_file = files.find(kiln::model::kManifestFile);
  if (manifest_file == files.end()) return;
  json manifest = json::parse(manifest_file->second, nullptr, /*allow_exceptions=*/false);
  if (!manifest.is_object()) return;
  if (const auto listed = manifest.find("files"); listed != manifest.end() && listed->is_array()) {
    for (json& entry : *listed) {
      if (!entry.is_object() || !entry.contains("path") || !entry["path"].is_string()) continue;
      const auto file = files.find(entry["path"].get<std::string>());
      if (file == files.end()) continue;
      entry["size"] = file->second.size();
      entry["sha256"] = kiln::Sha256Hex(file->second);
    }
  }
  const auto vocab_file = files.find(kiln::model::kVocabFile);
  const auto preprocessing = manifest.find("preprocessing");
  if (vocab_file != files.end() && preprocessing != manifest.end() &&
      preprocessing->is_object()) {
    if (absl::StatusOr<kiln::text::Vocabulary> vocabulary =
            kiln::text::Vocabulary::FromJson(vocab_file->second);
        vocabulary.ok()) {
      (*preprocessing)["vocab_sha256"] = vocabulary->sha256();
    }
  }
  manifest_file->second = manifest.dump();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  kiln::model::BundleFiles files =
      kiln::fuzz::SplitBundle(std::string_view(reinterpret_cast<const char*>(data), size));
  MatchDigests(files);
  absl::StatusOr<kiln::model::Bundle> bundle = kiln::model::ReadBundle(files);
  if (!bundle.ok()) {
    FUZZ_CHECK(!bundle.status().message().empty());
    return 0;
  }
  const kiln::model::ModelWeights& weights = bundle->weights;
  FUZZ_CHECK(weights.Validate().ok());
  for (const std::vector<float>* tensor :
       {&weights.embedding, &weights.hidden_kernel, &weights.hidden_bias, &weights.output_kernel,
        &weights.output_bias}) {
    for (float value : *tensor) FUZZ_CHECK(std::isfinite(value));
  }
  FUZZ_CHECK(bundle->vocabulary.size() == weights.shape.vocab_size);
  FUZZ_CHECK(static_cast<int>(bundle->manifest.classes.size()) == weights.shape.num_classes);
  return 0;
}
