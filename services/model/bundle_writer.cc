#include "services/model/bundle_writer.h"

#include <cmath>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/common/sha256.h"
#include "services/model/bundle_manifest.h"
#include "services/model/idf_file.h"
#include "services/model/keras_topology.h"
#include "services/model/padding_fold.h"
#include "services/model/preprocess_file.h"
#include "services/model/tfjs_weights.h"
#include "services/text/spec.h"

namespace kiln::model {
namespace {

absl::Status CheckInputs(const ModelWeights& weights, const std::vector<std::string>& classes,
                         const text::Vocabulary& vocabulary, const BundleMetadata& metadata) {
  if (absl::Status s = weights.Validate(); !s.ok()) return s;
  if (static_cast<int>(classes.size()) != weights.shape.num_classes) {
    return absl::InvalidArgumentError(absl::StrCat("bundle: ", classes.size(),
                                                   " class names for a model with ",
                                                   weights.shape.num_classes, " outputs"));
  }
  std::set<std::string> seen;
  for (const std::string& name : classes) {
    if (name.empty() || !seen.insert(name).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("bundle: class names must be non-empty and distinct, got \"", name, "\""));
    }
  }
  if (vocabulary.size() != weights.shape.vocab_size) {
    return absl::InvalidArgumentError(absl::StrCat("bundle: the vocabulary holds ", vocabulary.size(),
                                                   " ids, the embedding ", weights.shape.vocab_size));
  }
  for (const auto& [name, value] : metadata.metrics) {
    if (!std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("bundle: metric \"", name, "\" is ", value));
    }
  }
  if (!metadata.lineage.is_object()) {
    return absl::InvalidArgumentError("bundle: lineage must be a JSON object");
  }
  return absl::OkStatus();
}

std::string ModelJson(const KerasTopology& topology, nlohmann::json weights_manifest) {
  const nlohmann::json model = {
      {"format", "layers-model"},
      {"generatedBy", "kiln"},
      {"convertedBy", nullptr},
      {"modelTopology", TopologyToJson(topology)},
      {"weightsManifest", std::move(weights_manifest)},
  };
  return model.dump(-1, ' ', /*ensure_ascii=*/true);
}

}  // namespace

absl::StatusOr<BundleFiles> WriteBundle(const ModelWeights& weights,
                                        const std::vector<std::string>& classes,
                                        const text::Vocabulary& vocabulary,
                                        const BundleMetadata& metadata) {
  if (absl::Status s = CheckInputs(weights, classes, vocabulary, metadata); !s.ok()) return s;
  const bool tfidf = weights.shape.tfidf();
  const KerasTopology topology = StandardTopology(weights.shape);
  // A tfidf model reads no padding row: there is nothing to fold.
  absl::StatusOr<EncodedWeights> encoded =
      EncodeWeights(tfidf ? weights : FoldPaddingRow(weights), topology.weight_names,
                    metadata.weight_encoding);
  if (!encoded.ok()) return encoded.status();
  BundleManifest manifest;
  manifest.classes = classes;
  manifest.spec_version = text::kSpecVersion;
  manifest.vocab_sha256 = vocabulary.sha256();
  manifest.shape = weights.shape;
  manifest.weight_encoding = metadata.weight_encoding;
  manifest.metrics = metadata.metrics;
  manifest.lineage = metadata.lineage;

  BundleFiles files = std::move(encoded->shards);
  files[kModelFile] = ModelJson(topology, std::move(encoded->weights_manifest));
  files[kVocabFile] = vocabulary.ToJson();
  files[kPreprocessFile] = PreprocessFileJson(manifest);
  if (tfidf) files[kIdfFile] = IdfToJson(weights.idf, vocabulary.sha256());
  for (const auto& [path, contents] : files) {
    manifest.files.push_back({path, static_cast<int64_t>(contents.size()), Sha256Hex(contents)});
  }
  files[kManifestFile] = ManifestToJson(manifest);
  return files;
}

}  // namespace kiln::model
