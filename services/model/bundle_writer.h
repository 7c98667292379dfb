// Writes a model as a TF.js layers-model bundle (docs/bundle.md): model.json,
// weight shards, vocab.json, preprocess.js and manifest.json, in memory.
// tf.loadLayersModel from @tensorflow/tfjs 4.22 loads it as it is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/model/bundle_files.h"
#include "services/model/model_weights.h"
#include "services/model/weight_encoding.h"
#include "services/text/vocabulary.h"

namespace kiln::model {

// What manifest.json records beside the model itself.
struct BundleMetadata {
  WeightEncoding weight_encoding = WeightEncoding::kFloat32;
  // Evaluation figures by name, e.g. "recall@1"; finite values only.
  std::map<std::string, double> metrics;
  // Where the model comes from (job, dataset spec, ...): any JSON object.
  nlohmann::json lineage = nlohmann::json::object();
};

// The bundle's files. `classes` names the output units in order;
// `vocabulary` is the one the model was trained with (its size must be the
// embedding's vocab_size). Byte-identical output for identical inputs.
// InvalidArgument for inconsistent inputs or weights that the encoding cannot
// hold, naming what is wrong.
absl::StatusOr<BundleFiles> WriteBundle(const ModelWeights& weights,
                                        const std::vector<std::string>& classes,
                                        const text::Vocabulary& vocabulary,
                                        const BundleMetadata& metadata);

}  // namespace kiln::model
