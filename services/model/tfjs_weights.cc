#include "services/model/tfjs_weights.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace kiln::model {
namespace {

using nlohmann::json;

struct TensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  size_t size;
  size_t slot;  // index into ValuesOf()
};

// The model's tensors in Keras's layer order, which is also their order in
// the shards: all five of ValuesOf(), less the hidden kernel of a tfidf
// model.
std::vector<TensorInfo> TensorsOf(const ModelShape& shape, const KerasWeightNames& names) {
  const int64_t pooled = shape.pooled_dim();
  auto info = [](const std::string& name, std::vector<int64_t> dims, size_t slot) {
    size_t size = 1;
    for (int64_t dim : dims) size *= static_cast<size_t>(dim);
    return TensorInfo{name, std::move(dims), size, slot};
  };
  std::vector<TensorInfo> tensors = {
      info(names.embedding, {shape.vocab_size, shape.embedding_dim}, 0),
      info(names.hidden_kernel, {pooled, shape.hidden_units}, 1),
      info(names.hidden_bias, {shape.hidden_units}, 2),
      info(names.output_kernel, {shape.hidden_units, shape.num_classes}, 3),
      info(names.output_bias, {shape.num_classes}, 4)};
  if (shape.tfidf()) tensors.erase(tensors.begin() + 1);
  return tensors;
}

std::array<const std::vector<float>*, 5> ValuesOf(const ModelWeights& weights) {
  return {&weights.embedding, &weights.hidden_kernel, &weights.hidden_bias,
          &weights.output_kernel, &weights.output_bias};
}

std::array<std::vector<float>*, 5> MutableValuesOf(ModelWeights* weights) {
  return {&weights->embedding, &weights->hidden_kernel, &weights->hidden_bias,
          &weights->output_kernel, &weights->output_bias};
}

json QuantizationOf(WeightEncoding encoding, const Uint8Range& range) {
  switch (encoding) {
    case WeightEncoding::kFloat32:
      return nullptr;
    case WeightEncoding::kFloat16:
      return {{"dtype", "float16"}};
    case WeightEncoding::kUint8:
      return {{"dtype", "uint8"}, {"min", range.min}, {"scale", range.scale}};
  }
  return nullptr;
}

std::string ShardName(size_t index, size_t count) {
  return absl::StrCat("group1-shard", index + 1, "of", count, ".bin");
}

absl::Status SpecError(absl::string_view weight, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("model.json weightsManifest: weight \"", weight, "\" ", what));
}

// The encoding of one weightsManifest entry, and its uint8 range.
absl::Status ParseQuantization(const json& spec, const std::string& name, WeightEncoding* encoding,
                               Uint8Range* range) {
  const auto quantization = spec.find("quantization");
  if (quantization == spec.end() || quantization->is_null()) {
    *encoding = WeightEncoding::kFloat32;
    return absl::OkStatus();
  }
  const auto dtype = quantization->is_object() ? quantization->find("dtype") : quantization->end();
  if (dtype == quantization->end() || !dtype->is_string()) {
    return SpecError(name, "has a quantization without a dtype");
  }
  if (*dtype == "float16") {
    *encoding = WeightEncoding::kFloat16;
    return absl::OkStatus();
  }
  if (*dtype != "uint8") {
    return SpecError(name, absl::StrCat("uses unsupported quantization ", dtype->dump(),
                                        " (supported: float16, uint8)"));
  }
  const auto min = quantization->find("min");
  const auto scale = quantization->find("scale");
  if (min == quantization->end() || scale == quantization->end() || !min->is_number() ||
      !scale->is_number() || !std::isfinite(min->get<double>()) ||
      !std::isfinite(scale->get<double>())) {
    return SpecError(name, "has uint8 quantization without finite numbers min and scale");
  }
  *encoding = WeightEncoding::kUint8;
  range->min = min->get<double>();
  range->scale = scale->get<double>();
  return absl::OkStatus();
}

// All shards of all groups, concatenated in manifest order: the byte stream
// tfjs-core decodes its weight specs from.
absl::StatusOr<std::string> ConcatenateShards(const json& weights_manifest,
                                              const BundleFiles& files) {
  std::string stream;
  for (const json& group : weights_manifest) {
    const auto paths = group.find("paths");
    if (paths == group.end() || !paths->is_array()) {
      return absl::InvalidArgumentError("model.json weightsManifest: a group has no \"paths\" array");
    }
    for (const json& path : *paths) {
      if (!path.is_string() || !IsBundleFileName(path.get_ref<const std::string&>())) {
        return absl::InvalidArgumentError(
            absl::StrCat("model.json weightsManifest: ", path.dump(), " is not a bundle file name"));
      }
      const auto shard = files.find(path.get<std::string>());
      if (shard == files.end()) {
        return absl::NotFoundError(absl::StrCat("model.json weightsManifest lists ",
                                                path.get<std::string>(),
                                                ", which the bundle does not hold"));
      }
      stream += shard->second;
    }
  }
  return stream;
}

}  // namespace

absl::StatusOr<EncodedWeights> EncodeWeights(const ModelWeights& weights,
                                             const KerasWeightNames& names,
                                             WeightEncoding encoding, int64_t max_shard_bytes) {
  const std::vector<TensorInfo> tensors = TensorsOf(weights.shape, names);
  const auto values = ValuesOf(weights);
  std::string stream;
  json specs = json::array();
  for (size_t i = 0; i < tensors.size(); ++i) {
    absl::StatusOr<EncodedTensor> encoded = EncodeTensor(*values[tensors[i].slot], encoding);
    if (!encoded.ok()) {
      return absl::Status(encoded.status().code(),
                          absl::StrCat(tensors[i].name, ": ", encoded.status().message()));
    }
    stream += encoded->bytes;
    json spec = {{"name", tensors[i].name}, {"shape", tensors[i].shape}, {"dtype", "float32"}};
    if (json quantization = QuantizationOf(encoding, encoded->range); !quantization.is_null()) {
      spec["quantization"] = std::move(quantization);
    }
    specs.push_back(std::move(spec));
  }

  EncodedWeights result;
  const size_t shard_bytes = static_cast<size_t>(max_shard_bytes);
  const size_t count = (stream.size() + shard_bytes - 1) / shard_bytes;
  json paths = json::array();
  for (size_t i = 0; i < count; ++i) {
    const std::string name = ShardName(i, count);
    result.shards[name] = stream.substr(i * shard_bytes, shard_bytes);
    paths.push_back(name);
  }
  result.weights_manifest = json::array({{{"paths", std::move(paths)}, {"weights", std::move(specs)}}});
  return result;
}

absl::Status DecodeWeights(const json& weights_manifest, const BundleFiles& files,
                           const KerasWeightNames& names, WeightEncoding encoding,
                           ModelWeights* weights) {
  if (!weights_manifest.is_array() || weights_manifest.empty()) {
    return absl::InvalidArgumentError("model.json has no weightsManifest array");
  }
  absl::StatusOr<std::string> stream = ConcatenateShards(weights_manifest, files);
  if (!stream.ok()) return stream.status();

  const std::vector<TensorInfo> tensors = TensorsOf(weights->shape, names);
  const auto values = MutableValuesOf(weights);
  std::vector<bool> decoded(tensors.size(), false);
  size_t offset = 0;
  for (const json& group : weights_manifest) {
    const auto specs = group.find("weights");
    if (specs == group.end() || !specs->is_array()) {
      return absl::InvalidArgumentError("model.json weightsManifest: a group has no \"weights\" array");
    }
    for (const json& spec : *specs) {
      if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string()) {
        return absl::InvalidArgumentError("model.json weightsManifest: a weight has no name");
      }
      const std::string name = spec["name"].get<std::string>();
      const auto tensor = std::find_if(tensors.begin(), tensors.end(),
                                       [&](const TensorInfo& info) { return info.name == name; });
      if (tensor == tensors.end()) {
        std::vector<std::string> expected;
        for (const TensorInfo& info : tensors) expected.push_back(info.name);
        return SpecError(name, absl::StrCat("is not a weight of this model (expected ",
                                            absl::StrJoin(expected, ", "), ")"));
      }
      const size_t index = static_cast<size_t>(tensor - tensors.begin());
      if (decoded[index]) return SpecError(name, "is listed twice");
      const auto shape = spec.find("shape");
      if (shape == spec.end() || *shape != json(tensor->shape)) {
        return SpecError(name, absl::StrCat("has shape ", shape == spec.end() ? "none" : shape->dump(),
                                            ", the topology needs ", json(tensor->shape).dump()));
      }
      if (!spec.contains("dtype") || spec["dtype"] != "float32") {
        return SpecError(name, "must have dtype float32");
      }
      WeightEncoding stored = WeightEncoding::kFloat32;
      Uint8Range range;
      if (absl::Status s = ParseQuantization(spec, name, &stored, &range); !s.ok()) return s;
      if (stored != encoding) {
        return SpecError(name, absl::StrCat("is stored as ", WeightEncodingName(stored),
                                            ", manifest.json says ", WeightEncodingName(encoding)));
      }
      // Compared by division: sizes come from untrusted JSON and the
      // product could overflow.
      const size_t width = static_cast<size_t>(BytesPerValue(encoding));
      if (tensor->size > (stream->size() - offset) / width) {
        return SpecError(name, absl::StrCat("needs ", tensor->size, " values from byte ", offset,
                                            " on, but the shards hold ", stream->size(), " bytes"));
      }
      const size_t bytes = tensor->size * width;
      std::vector<float>& target = *values[tensor->slot];
      target.assign(tensor->size, 0.0f);
      if (absl::Status s = DecodeTensor(absl::string_view(*stream).substr(offset, bytes), encoding,
                                        range, absl::MakeSpan(target));
          !s.ok()) {
        return SpecError(name, s.message());
      }
      offset += bytes;
      decoded[index] = true;
    }
  }
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (!decoded[i]) return SpecError(tensors[i].name, "is missing");
  }
  if (offset != stream->size()) {
    return absl::InvalidArgumentError(absl::StrCat("model.json weightsManifest: the shards hold ",
                                                   stream->size(), " bytes, the weights use ", offset));
  }
  return absl::OkStatus();
}

}  // namespace kiln::model
