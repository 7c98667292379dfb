#include "services/model/keras_topology.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace kiln::model {
namespace {

using nlohmann::json;

constexpr char kEmbedding[] = "Embedding";
constexpr char kGlobalAveragePooling[] = "GlobalAveragePooling1D";
constexpr char kFlatten[] = "Flatten";
constexpr char kDense[] = "Dense";
constexpr char kDropout[] = "Dropout";

// Initializers only matter for training; they are written so that the
// topology is a complete Keras config that Keras itself would accept too.
json Initializer(const char* class_name, json config) {
  return {{"class_name", class_name}, {"config", std::move(config)}};
}

json GlorotUniform() { return Initializer("GlorotUniform", {{"seed", nullptr}}); }

json Layer(const char* class_name, json config) {
  return {{"class_name", class_name}, {"config", std::move(config)}};
}

json EmbeddingLayer(const ModelShape& shape, const std::string& name) {
  return Layer(kEmbedding,
               {{"name", name},
                {"trainable", true},
                {"dtype", "float32"},
                {"batch_input_shape", {nullptr, shape.max_length}},
                {"input_dim", shape.vocab_size},
                {"output_dim", shape.embedding_dim},
                {"input_length", shape.max_length},
                {"mask_zero", false},
                {"embeddings_initializer",
                 Initializer("RandomUniform", {{"minval", -0.05}, {"maxval", 0.05}, {"seed", nullptr}})},
                {"embeddings_regularizer", nullptr},
                {"activity_regularizer", nullptr},
                {"embeddings_constraint", nullptr}});
}

json PoolingLayer(const ModelShape& shape) {
  const bool flatten = shape.pooling == Pooling::kFlatten;
  return Layer(flatten ? kFlatten : kGlobalAveragePooling,
               {{"name", flatten ? "flatten" : "global_average_pooling1d"},
                {"trainable", true},
                {"dtype", "float32"},
                {"data_format", "channels_last"}});
}

json DropoutLayer(float rate) {
  return Layer(kDropout, {{"name", "dropout"},
                          {"trainable", true},
                          {"dtype", "float32"},
                          {"rate", rate},
                          {"noise_shape", nullptr},
                          {"seed", nullptr}});
}

json DenseLayer(const std::string& name, int units, const char* activation) {
  return Layer(kDense, {{"name", name},
                        {"trainable", true},
                        {"dtype", "float32"},
                        {"units", units},
                        {"activation", activation},
                        {"use_bias", true},
                        {"kernel_initializer", GlorotUniform()},
                        {"bias_initializer", Initializer("Zeros", json::object())},
                        {"kernel_regularizer", nullptr},
                        {"bias_regularizer", nullptr},
                        {"activity_regularizer", nullptr},
                        {"kernel_constraint", nullptr},
                        {"bias_constraint", nullptr}});
}

// The layer name before the '/' of a weight name.
std::string LayerOf(const std::string& weight_name) {
  return weight_name.substr(0, weight_name.find('/'));
}

absl::Status TopologyError(absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("model.json modelTopology: ", what));
}

bool IsPositiveInt(const json& value) {
  return value.is_number_integer() && value.get<int64_t>() >= 1 && value.get<int64_t>() <= INT32_MAX;
}

absl::StatusOr<int> PositiveInt(const json& config, const std::string& layer, const char* key) {
  const auto it = config.find(key);
  if (it == config.end() || !IsPositiveInt(*it)) {
    return TopologyError(absl::StrCat("layer \"", layer, "\" needs a positive integer \"", key, "\""));
  }
  return it->get<int>();
}

// max_length from "input_length", else from "batch_input_shape" [null, L].
absl::StatusOr<int> InputLength(const json& config, const std::string& layer) {
  if (config.contains("input_length") && !config["input_length"].is_null()) {
    return PositiveInt(config, layer, "input_length");
  }
  const auto shape = config.find("batch_input_shape");
  if (shape != config.end() && shape->is_array() && shape->size() == 2 && IsPositiveInt((*shape)[1])) {
    return (*shape)[1].get<int>();
  }
  return TopologyError(absl::StrCat(
      "embedding layer \"", layer, "\" has no fixed input length (input_length or batch_input_shape)"));
}

absl::Status ExpectActivation(const json& config, const std::string& layer, const char* expected) {
  const auto it = config.find("activation");
  if (it == config.end() || !it->is_string() || *it != expected) {
    return TopologyError(absl::StrCat("dense layer \"", layer, "\" must use activation \"",
                                      expected, "\", got ", it == config.end() ? "none" : it->dump()));
  }
  if (config.contains("use_bias") && config["use_bias"] != true) {
    return TopologyError(absl::StrCat("dense layer \"", layer, "\" must have a bias"));
  }
  return absl::OkStatus();
}

struct LayerView {
  std::string class_name;
  std::string name;
  const json* config;
};

absl::StatusOr<std::vector<LayerView>> LayersOf(const json& model_topology) {
  const json& topology = model_topology.contains("model_config") ? model_topology["model_config"]
                                                                 : model_topology;
  if (!topology.is_object() || !topology.contains("class_name") ||
      topology["class_name"] != "Sequential") {
    return TopologyError("only a Sequential model is supported");
  }
  const json* layers = nullptr;
  const auto config = topology.find("config");
  if (config != topology.end() && config->is_array()) {
    layers = &*config;  // the older form: config is the list of layers
  } else if (config != topology.end() && config->is_object() && config->contains("layers")) {
    layers = &(*config)["layers"];
  }
  if (layers == nullptr || !layers->is_array()) return TopologyError("Sequential config has no layers");
  std::vector<LayerView> views;
  for (const json& layer : *layers) {
    if (!layer.is_object() || !layer.contains("class_name") || !layer["class_name"].is_string() ||
        !layer.contains("config") || !layer["config"].is_object()) {
      return TopologyError(absl::StrCat("layer ", views.size(), " has no class_name and config"));
    }
    const json& layer_config = layer["config"];
    const auto name = layer_config.find("name");
    if (name == layer_config.end() || !name->is_string() || name->get_ref<const std::string&>().empty()) {
      return TopologyError(absl::StrCat("layer ", views.size(), " has no name"));
    }
    views.push_back({layer["class_name"].get<std::string>(), name->get<std::string>(), &layer_config});
  }
  return views;
}

}  // namespace

KerasTopology StandardTopology(const ModelShape& shape) {
  KerasTopology topology;
  topology.shape = shape;
  if (shape.tfidf()) {
    topology.weight_names = {"dense/kernel", "", "dense/bias", "dense_1/kernel", "dense_1/bias"};
  } else {
    topology.weight_names = {"embedding/embeddings", "dense/kernel", "dense/bias",
                             "dense_1/kernel", "dense_1/bias"};
  }
  return topology;
}

json TopologyToJson(const KerasTopology& topology) {
  const KerasWeightNames& names = topology.weight_names;
  const ModelShape& shape = topology.shape;
  json layers = json::array();
  if (shape.tfidf()) {
    json input = DenseLayer(LayerOf(names.hidden_bias), shape.hidden_units, "relu");
    input["config"]["batch_input_shape"] = {nullptr, shape.vocab_size};
    layers.push_back(std::move(input));
  } else {
    layers.push_back(EmbeddingLayer(shape, LayerOf(names.embedding)));
    layers.push_back(PoolingLayer(shape));
    layers.push_back(DenseLayer(LayerOf(names.hidden_kernel), shape.hidden_units, "relu"));
  }
  if (shape.dropout > 0) layers.push_back(DropoutLayer(shape.dropout));
  layers.push_back(DenseLayer(LayerOf(names.output_kernel), shape.num_classes, "softmax"));
  return {{"class_name", "Sequential"},
          {"config", {{"name", "kiln_classifier"}, {"layers", std::move(layers)}}},
          {"keras_version", "tfjs-layers 4.22.0"},
          {"backend", "tensor_flow.js"}};
}

absl::StatusOr<KerasTopology> ParseTopology(const json& model_topology) {
  absl::StatusOr<std::vector<LayerView>> parsed = LayersOf(model_topology);
  if (!parsed.ok()) return parsed.status();
  std::vector<LayerView> layers = std::move(*parsed);
  std::string found;  // for the error message
  for (const LayerView& layer : layers) {
    absl::StrAppend(&found, found.empty() ? "" : ", ", layer.class_name);
  }
  for (const LayerView& layer : layers) {
    if (layer.class_name != kEmbedding && layer.class_name != kGlobalAveragePooling &&
        layer.class_name != kFlatten && layer.class_name != kDense &&
        layer.class_name != kDropout) {
      return TopologyError(absl::StrCat("unsupported layer \"", layer.name, "\" of class ",
                                        layer.class_name));
    }
  }
  // An optional Dropout before the output layer.
  KerasTopology topology;
  ModelShape& shape = topology.shape;
  if (layers.size() >= 2 && layers[layers.size() - 2].class_name == kDropout) {
    const LayerView& dropout = layers[layers.size() - 2];
    const auto rate = dropout.config->find("rate");
    if (rate == dropout.config->end() || !rate->is_number() || !(rate->get<double>() >= 0) ||
        !(rate->get<double>() <= 0.9)) {
      return TopologyError(
          absl::StrCat("dropout layer \"", dropout.name, "\" needs a \"rate\" in 0..0.9"));
    }
    shape.dropout = rate->get<float>();
    layers.erase(layers.end() - 2);
  }
  const auto is = [&layers](size_t i, const char* class_name) {
    return layers[i].class_name == class_name;
  };
  const bool article =
      layers.size() == 4 && is(0, kEmbedding) && is(2, kDense) && is(3, kDense) &&
      (is(1, kGlobalAveragePooling) || is(1, kFlatten));
  const bool tfidf = layers.size() == 2 && is(0, kDense) && is(1, kDense);
  if (!article && !tfidf) {
    return TopologyError(absl::StrCat(
        "expected the layers Embedding, GlobalAveragePooling1D or Flatten, Dense, [Dropout,] "
        "Dense (article) or Dense, [Dropout,] Dense (tfidf); found ", found));
  }
  const LayerView& hidden = article ? layers[2] : layers[0];
  const LayerView& output = layers.back();
  absl::StatusOr<int> value = PositiveInt(*hidden.config, hidden.name, "units");
  if (!value.ok()) return value.status();
  shape.hidden_units = *value;
  if (value = PositiveInt(*output.config, output.name, "units"); !value.ok()) return value.status();
  shape.num_classes = *value;
  if (absl::Status s = ExpectActivation(*hidden.config, hidden.name, "relu"); !s.ok()) return s;
  if (absl::Status s = ExpectActivation(*output.config, output.name, "softmax"); !s.ok()) return s;

  if (tfidf) {
    // The input is the TF-IDF vector: max_length is not part of the
    // topology (the manifest has it).
    shape.architecture = Architecture::kTfidf;
    const auto input = hidden.config->find("batch_input_shape");
    if (input == hidden.config->end() || !input->is_array() || input->size() != 2 ||
        !IsPositiveInt((*input)[1])) {
      return TopologyError(absl::StrCat("dense layer \"", hidden.name,
                                        "\" needs a batch_input_shape [null, vocab_size]"));
    }
    shape.vocab_size = (*input)[1].get<int>();
    shape.embedding_dim = shape.hidden_units;
    topology.weight_names = {hidden.name + "/kernel", "", hidden.name + "/bias",
                             output.name + "/kernel", output.name + "/bias"};
    return topology;
  }

  const LayerView& embedding = layers[0];
  shape.pooling = is(1, kFlatten) ? Pooling::kFlatten : Pooling::kGlobalAverage;
  if (value = PositiveInt(*embedding.config, embedding.name, "input_dim"); !value.ok())
    return value.status();
  shape.vocab_size = *value;
  if (value = PositiveInt(*embedding.config, embedding.name, "output_dim"); !value.ok())
    return value.status();
  shape.embedding_dim = *value;
  if (value = InputLength(*embedding.config, embedding.name); !value.ok()) return value.status();
  shape.max_length = *value;
  if (shape.pooling == Pooling::kFlatten &&
      int64_t{shape.max_length} * shape.embedding_dim > INT32_MAX) {
    return TopologyError("the flattened embedding is wider than 2^31-1");
  }
  topology.weight_names = {embedding.name + "/embeddings", hidden.name + "/kernel",
                           hidden.name + "/bias", output.name + "/kernel", output.name + "/bias"};
  return topology;
}

}  // namespace kiln::model
