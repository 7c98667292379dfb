// How a bundle stores its weights: float32, or one of the two quantized
// formats of TF.js's own weightsManifest ("quantization": {"dtype":
// "float16"} or {"dtype": "uint8", "min": m, "scale": s}), which
// tf.loadLayersModel expands back to float32 itself.
//
// Decoding reproduces tfjs-core's io_utils decodeWeight bit for bit, so that
// libtorch inference on a read bundle sees the very weights the browser does:
//   float16: IEEE half to float32, exactly;
//   uint8:   Math.fround(q * scale + min), computed in double.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kiln::model {

enum class WeightEncoding { kFloat32, kFloat16, kUint8 };

// "float32", "float16" or "uint8": the names used in manifest.json, in job
// specs and, for the quantized two, in TF.js's "quantization" dtype.
const char* WeightEncodingName(WeightEncoding encoding);
absl::StatusOr<WeightEncoding> ParseWeightEncoding(absl::string_view name);

// Bytes one value takes in a weight shard.
int BytesPerValue(WeightEncoding encoding);

// The affine map of one uint8 tensor: value = q * scale + min. Doubles,
// because TF.js reads them from JSON as doubles and computes in double.
struct Uint8Range {
  double min = 0.0;
  double scale = 1.0;
};

struct EncodedTensor {
  std::string bytes;  // little-endian values, BytesPerValue() each
  Uint8Range range;   // meaningful for kUint8 only
};

// Encodes `values`. float16 rounds to nearest even; uint8 spans [min, max] of
// the tensor and picks for each value the code whose decoded float32 is the
// nearest. InvalidArgument for NaN or infinite values and for values beyond
// float16's range (65504) when encoding float16.
absl::StatusOr<EncodedTensor> EncodeTensor(absl::Span<const float> values,
                                           WeightEncoding encoding);

// Decodes `bytes` (exactly out.size() values) into `out` as TF.js would.
// InvalidArgument when the byte count does not match.
absl::Status DecodeTensor(absl::string_view bytes, WeightEncoding encoding,
                          const Uint8Range& range, absl::Span<float> out);

// The scalar conversions, exposed for tests.
uint16_t Float32ToFloat16(float value);
float Float16ToFloat32(uint16_t half);
float DequantizeUint8(uint8_t code, const Uint8Range& range);

}  // namespace kiln::model
