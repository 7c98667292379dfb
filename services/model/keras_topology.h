// The Keras model topology inside model.json ("modelTopology"): the
// classifier as a Sequential model that tfjs-layers 4.22 deserializes, and
// the way back from such a topology to a ModelShape.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "services/model/model_weights.h"

namespace kiln::model {

// Names of the weights in weightsManifest: "<layer name>/<weight>", which is
// how tfjs-layers matches stored weights to the layers' variables.
// A tfidf model's first Dense kernel takes the embedding's place and it has
// no hidden_kernel (empty name).
struct KerasWeightNames {
  std::string embedding;      // embedding/embeddings (tfidf: dense/kernel)
  std::string hidden_kernel;  // dense/kernel (tfidf: none)
  std::string hidden_bias;    // dense/bias
  std::string output_kernel;  // dense_1/kernel
  std::string output_bias;    // dense_1/bias
};

struct KerasTopology {
  ModelShape shape;
  KerasWeightNames weight_names;
};

// Sequential[Embedding, GlobalAveragePooling1D | Flatten, Dense(relu),
// [Dropout,] Dense(softmax)] (article) or Sequential[Dense(relu),
// [Dropout,] Dense(softmax)] (tfidf) with Keras's default layer names.
KerasTopology StandardTopology(const ModelShape& shape);

// The "modelTopology" value for `topology`.
nlohmann::json TopologyToJson(const KerasTopology& topology);

// Reads a "modelTopology" value (also the {"model_config": ...} wrapping
// Keras's own exporter writes). InvalidArgument for anything but the four
// layers above, naming the unsupported layer or setting. A tfidf topology
// leaves shape.max_length 0: the manifest holds it.
absl::StatusOr<KerasTopology> ParseTopology(const nlohmann::json& model_topology);

}  // namespace kiln::model
