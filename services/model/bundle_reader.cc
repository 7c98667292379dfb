#include "services/model/bundle_reader.h"

#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/model/idf_file.h"
#include "services/model/keras_topology.h"
#include "services/model/preprocess_file.h"
#include "services/model/tfjs_weights.h"
#include "services/text/spec.h"

namespace kiln::model {
namespace {

// `status` with "<file>: " in front unless its message already names it.
absl::Status InFile(const absl::Status& status, absl::string_view file) {
  if (absl::StartsWith(status.message(), file)) return status;
  return absl::Status(status.code(), absl::StrCat(file, ": ", status.message()));
}

absl::Status VerifyFiles(const BundleFiles& files, const BundleManifest& manifest) {
  std::set<std::string> listed = {kManifestFile};
  for (const BundleFileEntry& entry : manifest.files) {
    listed.insert(entry.path);
    const auto file = files.find(entry.path);
    if (file == files.end()) {
      return absl::NotFoundError(
          absl::StrCat("bundle is missing ", entry.path, ", which manifest.json lists"));
    }
    if (static_cast<int64_t>(file->second.size()) != entry.size) {
      return absl::DataLossError(absl::StrCat(entry.path, " is ", file->second.size(),
                                              " bytes, manifest.json says ", entry.size));
    }
    if (const std::string sha256 = Sha256Hex(file->second); sha256 != entry.sha256) {
      return absl::DataLossError(absl::StrCat(entry.path, " has sha256 ", sha256,
                                              ", manifest.json says ", entry.sha256));
    }
  }
  for (const auto& [path, contents] : files) {
    if (listed.count(path) == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle holds ", path, ", which manifest.json does not list"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<text::Vocabulary> ReadVocabulary(const BundleFiles& files,
                                                const BundleManifest& manifest) {
  if (manifest.spec_version != text::kSpecVersion) {
    return absl::FailedPreconditionError(absl::StrCat(
        "manifest.json: the bundle uses preprocessing spec \"", manifest.spec_version,
        "\", this build implements \"", text::kSpecVersion, "\""));
  }
  absl::StatusOr<text::Vocabulary> vocabulary = text::Vocabulary::FromJson(files.at(kVocabFile));
  if (!vocabulary.ok()) return InFile(vocabulary.status(), kVocabFile);
  if (vocabulary->sha256() != manifest.vocab_sha256) {
    return absl::InvalidArgumentError(absl::StrCat("vocab.json holds vocabulary ", vocabulary->sha256(),
                                                   ", manifest.json says ", manifest.vocab_sha256));
  }
  if (vocabulary->size() != manifest.shape.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("vocab.json holds ", vocabulary->size(),
                                                   " words, manifest.json says ",
                                                   manifest.shape.vocab_size));
  }
  return vocabulary;
}

absl::Status ExpectSame(const char* field, int in_model_json, int in_manifest) {
  if (in_model_json == in_manifest) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("model.json has ", field, " ", in_model_json,
                                                 ", manifest.json says ", in_manifest));
}

absl::Status CheckShape(const ModelShape& topology, const ModelShape& manifest) {
  if (topology.architecture != manifest.architecture) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model.json holds a", topology.tfidf() ? " tfidf" : "n article", " model, manifest.json says ",
        manifest.tfidf() ? "tfidf" : "article"));
  }
  // A tfidf topology has no max_length: the manifest's counts.
  const int topology_length = topology.tfidf() ? manifest.max_length : topology.max_length;
  for (const auto& [field, a, b] :
       {std::tuple{"vocab_size", topology.vocab_size, manifest.vocab_size},
        std::tuple{"max_length", topology_length, manifest.max_length},
        std::tuple{"embedding_dim", topology.embedding_dim, manifest.embedding_dim},
        std::tuple{"hidden_units", topology.hidden_units, manifest.hidden_units},
        std::tuple{"num_classes", topology.num_classes, manifest.num_classes}}) {
    if (absl::Status s = ExpectSame(field, a, b); !s.ok()) return s;
  }
  if (!topology.tfidf() && topology.pooling != manifest.pooling) {
    return absl::InvalidArgumentError("model.json and manifest.json disagree on the pooling layer");
  }
  return absl::OkStatus();
}

absl::StatusOr<ModelWeights> ReadWeights(const BundleFiles& files, const BundleManifest& manifest) {
  const std::string& text = files.at(kModelFile);
  const nlohmann::json model =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (model.is_discarded() || !model.is_object()) {
    return absl::InvalidArgumentError("model.json is not a JSON object");
  }
  if (model.contains("format") && model["format"] != "layers-model") {
    return absl::InvalidArgumentError(
        absl::StrCat("model.json has format ", model["format"].dump(), ", expected \"layers-model\""));
  }
  if (!model.contains("modelTopology")) return absl::InvalidArgumentError("model.json has no modelTopology");
  absl::StatusOr<KerasTopology> topology = ParseTopology(model["modelTopology"]);
  if (!topology.ok()) return topology.status();
  if (absl::Status s = CheckShape(topology->shape, manifest.shape); !s.ok()) return s;

  ModelWeights weights;
  weights.shape = topology->shape;
  weights.shape.max_length = manifest.shape.max_length;
  if (weights.shape.tfidf()) {
    absl::StatusOr<std::vector<float>> idf = ParseIdfJson(
        files.at(kIdfFile), manifest.vocab_sha256, manifest.shape.vocab_size);
    if (!idf.ok()) return idf.status();
    weights.idf = *std::move(idf);
  }
  if (!model.contains("weightsManifest")) {
    return absl::InvalidArgumentError("model.json has no weightsManifest");
  }
  if (absl::Status s = DecodeWeights(model["weightsManifest"], files, topology->weight_names,
                                     manifest.weight_encoding, &weights);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = weights.Validate(); !s.ok()) return InFile(s, kModelFile);
  return weights;
}

}  // namespace

absl::StatusOr<Bundle> ReadBundle(const BundleFiles& files) {
  const auto manifest_file = files.find(kManifestFile);
  if (manifest_file == files.end()) return absl::NotFoundError("bundle has no manifest.json");
  absl::StatusOr<BundleManifest> manifest = ParseManifest(manifest_file->second);
  if (!manifest.ok()) return manifest.status();
  if (absl::Status s = VerifyFiles(files, *manifest); !s.ok()) return s;
  absl::StatusOr<text::Vocabulary> vocabulary = ReadVocabulary(files, *manifest);
  if (!vocabulary.ok()) return vocabulary.status();
  // Format 1's preprocess.js is code for browsers: only its digest is
  // checked (above).
  if (manifest->format_version >= 2) {
    if (absl::Status s = CheckPreprocessFile(files.at(kPreprocessFile), *manifest); !s.ok()) return s;
  }
  absl::StatusOr<ModelWeights> weights = ReadWeights(files, *manifest);
  if (!weights.ok()) return weights.status();
  return Bundle{*std::move(weights), *std::move(vocabulary), *std::move(manifest)};
}

}  // namespace kiln::model
