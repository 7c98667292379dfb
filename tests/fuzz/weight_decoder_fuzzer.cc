// The TF.js weight decoder (services/model/tfjs_weights.h and
// weight_encoding.h) two ways, see weight_input.h: any weightsManifest and
// shard bytes decoded for a small model, and any float32 weights encoded in
// each format and decoded back.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "services/model/tfjs_weights.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/weight_input.h"

namespace {

using kiln::model::ModelWeights;
using kiln::model::WeightEncoding;

std::vector<std::vector<float>*> TensorsOf(ModelWeights& weights) {
  return {&weights.embedding, &weights.hidden_kernel, &weights.hidden_bias,
          &weights.output_kernel, &weights.output_bias};
}

void CheckDecoded(ModelWeights& weights) {
  FUZZ_CHECK(weights.Validate().ok());
  for (std::vector<float>* tensor : TensorsOf(weights)) {
    for (float value : *tensor) FUZZ_CHECK(std::isfinite(value));
  }
}

void Decode(const kiln::model::ModelShape& shape, WeightEncoding encoding, const uint8_t* data,
            size_t size) {
  const char* text = reinterpret_cast<const char*>(data);
  const char* nul = static_cast<const char*>(std::memchr(text, '\0', size));
  if (nul == nullptr || nul + 1 == text + size) return;
  const nlohmann::json manifest =
      nlohmann::json::parse(text, nul, nullptr, /*allow_exceptions=*/false);
  if (manifest.is_discarded()) return;
  const size_t count = 1 + static_cast<uint8_t>(nul[1]) % 3;
  const std::string stream(nul + 2, text + size);
  kiln::model::BundleFiles files;
  for (size_t i = 0; i < count; ++i) {
    const size_t begin = stream.size() * i / count, end = stream.size() * (i + 1) / count;
    files[kiln::fuzz::ShardName(i, count)] = stream.substr(begin, end - begin);
  }
  ModelWeights weights;
  weights.shape = shape;
  const absl::Status status = kiln::model::DecodeWeights(
      manifest, files, kiln::model::StandardTopology(shape).weight_names, encoding, &weights);
  if (status.ok()) CheckDecoded(weights);
}

// The distance from `value` to the next float32 up.
double Ulp(float value) { return double(std::nextafter(value, INFINITY)) - value; }

// The uint8 step of each tensor, in manifest order.
std::vector<double> ScalesOf(const nlohmann::json& weights_manifest) {
  std::vector<double> scales;
  for (const nlohmann::json& spec : weights_manifest[0]["weights"]) {
    scales.push_back(spec["quantization"]["scale"].get<double>());
  }
  return scales;
}

void RoundTrip(const kiln::model::ModelShape& shape, WeightEncoding encoding, const uint8_t* data,
               size_t size) {
  if (size == 0) return;
  const int64_t max_shard_bytes = 1 + data[0];
  ModelWeights weights;
  weights.shape = shape;
  const size_t sizes[] = {
      size_t(shape.vocab_size) * shape.embedding_dim,
      size_t(shape.pooled_dim()) * shape.hidden_units,
      size_t(shape.hidden_units), size_t(shape.hidden_units) * shape.num_classes,
      size_t(shape.num_classes)};
  size_t next = 1;
  const std::vector<std::vector<float>*> tensors = TensorsOf(weights);
  for (size_t t = 0; t < tensors.size(); ++t) {
    for (size_t i = 0; i < sizes[t]; ++i) {
      float value = 0;
      if (next + 4 <= size) std::memcpy(&value, data + next, 4);
      next += 4;
      tensors[t]->push_back(value);
    }
  }
  const kiln::model::KerasWeightNames names = kiln::model::StandardTopology(shape).weight_names;
  absl::StatusOr<kiln::model::EncodedWeights> encoded =
      kiln::model::EncodeWeights(weights, names, encoding, max_shard_bytes);
  if (!encoded.ok()) {
    // Refused only for what the encoding cannot hold.
    FUZZ_CHECK(encoded.status().code() == absl::StatusCode::kInvalidArgument);
    return;
  }
  for (const auto& [name, shard] : encoded->shards) {
    FUZZ_CHECK(shard.size() <= static_cast<size_t>(max_shard_bytes));
  }
  ModelWeights decoded;
  decoded.shape = shape;
  const absl::Status status =
      kiln::model::DecodeWeights(encoded->weights_manifest, encoded->shards, names, encoding,
                                 &decoded);
  FUZZ_CHECK(status.ok());
  CheckDecoded(decoded);
  const std::vector<double> scales =
      encoding == WeightEncoding::kUint8 ? ScalesOf(encoded->weights_manifest)
                                         : std::vector<double>();
  const std::vector<std::vector<float>*> out = TensorsOf(decoded);
  for (size_t t = 0; t < tensors.size(); ++t) {
    const auto [low, high] = std::minmax_element(tensors[t]->begin(), tensors[t]->end());
    // Zero is on a code unless the tensor reaches past a quarter of float's
    // range (weight_encoding.cc, RangeOf).
    const bool exact_zero =
        *low < 0 && *high > 0 && -*low <= FLT_MAX / 4 && *high <= FLT_MAX / 4;
    for (size_t i = 0; i < tensors[t]->size(); ++i) {
      const float in = (*tensors[t])[i], back = (*out[t])[i];
      switch (encoding) {
        case WeightEncoding::kFloat32:
          FUZZ_CHECK(std::memcmp(&in, &back, sizeof in) == 0);
          break;
        case WeightEncoding::kFloat16:
          FUZZ_CHECK(back == kiln::model::Float16ToFloat32(kiln::model::Float32ToFloat16(in)));
          break;
        case WeightEncoding::kUint8:
          // The nearest of 256 codes: within half a step, plus float32's
          // rounding of the decoded value (which dominates for subnormal
          // steps), and a zero stays exactly zero when the tensor has values
          // on both sides of it.
          FUZZ_CHECK(std::fabs(double(back) - in) <=
                     scales[t] * 0.5 * (1 + 1e-6) + 2 * Ulp(std::fabs(in)));
          if (exact_zero && in == 0) FUZZ_CHECK(back == 0);
          break;
      }
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kiln::fuzz::kWeightHeaderBytes) return 0;
  const kiln::model::ModelShape shape = kiln::fuzz::ShapeOf(data);
  const WeightEncoding encoding = kiln::fuzz::EncodingOf(data[0]);
  const uint8_t* rest = data + kiln::fuzz::kWeightHeaderBytes;
  const size_t rest_size = size - kiln::fuzz::kWeightHeaderBytes;
  if (data[0] & kiln::fuzz::kRoundTripBit) {
    RoundTrip(shape, encoding, rest, rest_size);
  } else {
    Decode(shape, encoding, rest, rest_size);
  }
  return 0;
}
