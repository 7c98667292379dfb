// Reads a bundle written by WriteBundle (or any layers-model bundle of the
// same architecture with a Kiln manifest) back into weights, vocabulary and
// manifest, verifying it whole first. Quantized weights are expanded exactly
// as tf.loadLayersModel expands them, so that inference on the result
// computes what the browser computes.
#pragma once

#include "absl/status/statusor.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_manifest.h"
#include "services/model/model_weights.h"
#include "services/text/vocabulary.h"

namespace kiln::model {

struct Bundle {
  ModelWeights weights;  // float32, dequantized
  text::Vocabulary vocabulary;
  BundleManifest manifest;  // classes, metrics, lineage, files, ...
};

// Checks, in order, and fails with the first problem, naming the file:
//  - manifest.json parses (InvalidArgument, FailedPrecondition for a newer
//    format version);
//  - every listed file is present (NotFound) with the listed size and
//    sha256 (DataLoss), and no unlisted file is (InvalidArgument);
//  - the preprocessing spec is the one this build implements
//    (FailedPrecondition), vocab.json parses and is the listed vocabulary;
//  - model.json's topology is the supported architecture with the
//    manifest's shape, and its weightsManifest matches it (InvalidArgument).
absl::StatusOr<Bundle> ReadBundle(const BundleFiles& files);

}  // namespace kiln::model
