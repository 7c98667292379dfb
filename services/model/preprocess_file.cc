#include "services/model/preprocess_file.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kiln::model {
namespace {

// "ids": max_length int32 ids; "tfidf": vocab_size float32 TF-IDF features
// of the first max_length ids, with idf.json's weights.
const char* InputKind(const ModelShape& shape) { return shape.tfidf() ? "tfidf" : "ids"; }

nlohmann::json Expected(const BundleManifest& manifest) {
  return {
      {"format", kPreprocessFormat},
      {"spec_version", manifest.spec_version},
      {"input", InputKind(manifest.shape)},
      {"max_length", manifest.shape.max_length},
      {"vocab_size", manifest.shape.vocab_size},
      {"vocab_sha256", manifest.vocab_sha256},
      {"classes", manifest.classes},
  };
}

}  // namespace

std::string PreprocessFileJson(const BundleManifest& manifest) {
  // ensure_ascii: the bytes do not depend on how a class name's Unicode was
  // normalized on the way.
  return Expected(manifest).dump(-1, ' ', /*ensure_ascii=*/true) + "\n";
}

absl::Status CheckPreprocessFile(absl::string_view json, const BundleManifest& manifest) {
  const nlohmann::json file =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (file.is_discarded() || !file.is_object()) {
    return absl::InvalidArgumentError("preprocess.json is not a JSON object");
  }
  const nlohmann::json expected_file = Expected(manifest);
  for (const auto& [field, expected] : expected_file.items()) {
    const auto it = file.find(field);
    if (it == file.end()) {
      return absl::InvalidArgumentError(absl::StrCat("preprocess.json has no \"", field, "\""));
    }
    if (*it != expected) {
      return absl::InvalidArgumentError(absl::StrCat("preprocess.json \"", field, "\" is ",
                                                     it->dump(-1, ' ', true), ", manifest.json says ",
                                                     expected.dump(-1, ' ', true)));
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::model
