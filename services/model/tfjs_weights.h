// The weights of a layers-model bundle: the binary shards and model.json's
// "weightsManifest" that describes them, in the format tfjs-core's
// io.loadWeights / decodeWeights reads (one group whose shards concatenate
// to the weights, in manifest order, with no padding between them).
#pragma once

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/model/bundle_files.h"
#include "services/model/keras_topology.h"
#include "services/model/model_weights.h"
#include "services/model/weight_encoding.h"

namespace kiln::model {

// TF.js's own converter splits weights at 4 MiB: large enough for few
// requests, small enough for HTTP caches and flaky mobile links.
inline constexpr int64_t kMaxShardBytes = int64_t{4} << 20;

struct EncodedWeights {
  nlohmann::json weights_manifest;  // model.json's "weightsManifest"
  BundleFiles shards;               // group1-shard{i}of{n}.bin
};

// Encodes the five tensors of `weights` (shape-checked by the caller) under
// `names`, split into shards of at most `max_shard_bytes`.
absl::StatusOr<EncodedWeights> EncodeWeights(const ModelWeights& weights,
                                             const KerasWeightNames& names,
                                             WeightEncoding encoding,
                                             int64_t max_shard_bytes = kMaxShardBytes);

// Decodes the weights `weights_manifest` describes from the shards in
// `files` into `weights`, whose shape must already be set. Every weight must
// be stored with `encoding`; errors name the weight or shard at fault.
absl::Status DecodeWeights(const nlohmann::json& weights_manifest, const BundleFiles& files,
                           const KerasWeightNames& names, WeightEncoding encoding,
                           ModelWeights* weights);

}  // namespace kiln::model
