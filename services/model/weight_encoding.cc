#include "services/model/weight_encoding.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace kiln::model {
namespace {

constexpr float kMaxFloat16 = 65504.0f;

uint32_t BitsOf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

float FloatOf(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

// Shards are little-endian whatever the host, as TF.js reads them through
// typed arrays on little-endian machines.
void AppendLittleEndian(uint32_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xFF));
}

uint32_t ReadLittleEndian(const char* data, int bytes) {
  uint32_t value = 0;
  for (int i = 0; i < bytes; ++i) {
    value |= static_cast<uint32_t>(static_cast<unsigned char>(data[i])) << (8 * i);
  }
  return value;
}

absl::Status CheckFinite(absl::Span<const float> values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("weight value ", i, " is ", values[i], ": only finite weights can ship"));
    }
  }
  return absl::OkStatus();
}

// The range of one tensor: min and max of its values, 255 steps between them,
// placed so that 0 is exactly one of the codes when the tensor spans it.
// Weights that are exactly 0 (the padding row once the writer has folded it
// away) then stay exactly 0 instead of picking up up to half a step of error,
// which every padded position of every post would add to its average.
Uint8Range RangeOf(absl::Span<const float> values) {
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  Uint8Range range;
  range.min = *low;
  // A constant tensor decodes exactly from code 0 whatever the scale.
  range.scale = *high > *low ? (static_cast<double>(*high) - *low) / 255.0 : 1.0;
  if (*low < 0 && *high > 0) {
    // Kept off both ends: a side within half a step of 0 still gets one code
    // of its own (and the divisions below a non-zero divisor).
    const double zero_code = std::clamp(std::round(-*low / range.scale), 1.0, 254.0);
    // Widen the step just enough that both ends still fit around that code.
    Uint8Range widened;
    widened.scale = std::max(-static_cast<double>(*low) / zero_code,
                             static_cast<double>(*high) / (255.0 - zero_code));
    widened.min = -zero_code * widened.scale;
    // The widened range spans at most 1.5 times the tensor's: only a tensor
    // reaching past a quarter of float's range can have an end decode to
    // infinity, which would leave the values there a whole step off. It
    // keeps the plain range, and its zeros half a step of error.
    if (std::isfinite(DequantizeUint8(0, widened)) &&
        std::isfinite(DequantizeUint8(255, widened))) {
      range = widened;
    }
  }
  return range;
}

// The code whose decoded value is nearest to `value`: rounding (value-min)/
// scale alone can be one off once the decoded value is rounded to float32.
uint8_t NearestCode(float value, const Uint8Range& range) {
  const double position = (value - range.min) / range.scale;
  const int below = std::clamp(static_cast<int>(std::floor(position)), 0, 255);
  const int above = std::min(below + 1, 255);
  const float below_error = std::fabs(DequantizeUint8(static_cast<uint8_t>(below), range) - value);
  const float above_error = std::fabs(DequantizeUint8(static_cast<uint8_t>(above), range) - value);
  return static_cast<uint8_t>(above_error < below_error ? above : below);
}

}  // namespace

const char* WeightEncodingName(WeightEncoding encoding) {
  switch (encoding) {
    case WeightEncoding::kFloat32:
      return "float32";
    case WeightEncoding::kFloat16:
      return "float16";
    case WeightEncoding::kUint8:
      return "uint8";
  }
  return "unknown";
}

absl::StatusOr<WeightEncoding> ParseWeightEncoding(absl::string_view name) {
  for (WeightEncoding encoding :
       {WeightEncoding::kFloat32, WeightEncoding::kFloat16, WeightEncoding::kUint8}) {
    if (name == WeightEncodingName(encoding)) return encoding;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown weight encoding \"", name, "\": use float32, float16 or uint8"));
}

int BytesPerValue(WeightEncoding encoding) {
  switch (encoding) {
    case WeightEncoding::kFloat32:
      return 4;
    case WeightEncoding::kFloat16:
      return 2;
    case WeightEncoding::kUint8:
      return 1;
  }
  return 0;
}

uint16_t Float32ToFloat16(float value) {
  const uint32_t bits = BitsOf(value);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const uint32_t magnitude = bits & 0x7FFFFFFF;
  if (magnitude > 0x7F800000) return sign | 0x7E00;   // NaN
  if (magnitude >= 0x477FF000) return sign | 0x7C00;  // rounds to 65536 or more: infinity
  if (magnitude < 0x38800000) {
    // Below half's smallest normal, 2^-14: a multiple of 2^-24. Scaling by
    // 2^24 is exact and nearbyint rounds half to even in the default mode.
    const float units = std::nearbyint(std::fabs(value) * 16777216.0f);
    return sign | static_cast<uint16_t>(units);
  }
  // Rebias the exponent (127 -> 15) and drop 13 mantissa bits, rounding half
  // to even; a carry out of the mantissa correctly bumps the exponent.
  const uint32_t rebiased = magnitude - 0x38000000;
  const uint32_t rounded = rebiased + 0xFFF + ((rebiased >> 13) & 1);
  return sign | static_cast<uint16_t>(rounded >> 13);
}

float Float16ToFloat32(uint16_t half) {
  const uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  const uint32_t exponent = (half >> 10) & 0x1F;
  const uint32_t mantissa = half & 0x3FF;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in float32.
    return FloatOf(BitsOf(static_cast<float>(mantissa) * 5.9604644775390625e-8f) | sign);
  }
  if (exponent == 31) return FloatOf(sign | 0x7F800000 | (mantissa << 13));
  return FloatOf(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

float DequantizeUint8(uint8_t code, const Uint8Range& range) {
  // The expression TF.js evaluates, in double, then stores in a Float32Array.
  // The library builds with -ffp-contract=off so that no fused multiply-add
  // changes the rounding.
  return static_cast<float>(code * range.scale + range.min);
}

absl::StatusOr<EncodedTensor> EncodeTensor(absl::Span<const float> values,
                                           WeightEncoding encoding) {
  if (absl::Status finite = CheckFinite(values); !finite.ok()) return finite;
  EncodedTensor encoded;
  encoded.bytes.reserve(values.size() * BytesPerValue(encoding));
  switch (encoding) {
    case WeightEncoding::kFloat32:
      for (float value : values) AppendLittleEndian(BitsOf(value), 4, &encoded.bytes);
      break;
    case WeightEncoding::kFloat16:
      for (size_t i = 0; i < values.size(); ++i) {
        const uint16_t half = Float32ToFloat16(values[i]);
        if ((half & 0x7C00) == 0x7C00) {
          return absl::InvalidArgumentError(absl::StrCat(
              "weight value ", i, " is ", values[i], ", beyond float16's range of +-", kMaxFloat16,
              ": use float32 or uint8"));
        }
        AppendLittleEndian(half, 2, &encoded.bytes);
      }
      break;
    case WeightEncoding::kUint8:
      if (values.empty()) break;
      encoded.range = RangeOf(values);
      for (float value : values) encoded.bytes.push_back(static_cast<char>(NearestCode(value, encoded.range)));
      break;
  }
  return encoded;
}

absl::Status DecodeTensor(absl::string_view bytes, WeightEncoding encoding,
                          const Uint8Range& range, absl::Span<float> out) {
  const int width = BytesPerValue(encoding);
  if (bytes.size() != out.size() * width) {
    return absl::InvalidArgumentError(absl::StrCat("expected ", out.size() * width, " bytes for ",
                                                   out.size(), " ", WeightEncodingName(encoding),
                                                   " values, got ", bytes.size()));
  }
  if (encoding == WeightEncoding::kUint8 &&
      !(std::isfinite(range.min) && std::isfinite(range.scale))) {
    return absl::InvalidArgumentError(absl::StrCat("uint8 quantization min ", range.min,
                                                   " and scale ", range.scale,
                                                   " must both be finite"));
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const uint32_t raw = ReadLittleEndian(bytes.data() + i * width, width);
    switch (encoding) {
      case WeightEncoding::kFloat32:
        out[i] = FloatOf(raw);
        break;
      case WeightEncoding::kFloat16:
        out[i] = Float16ToFloat32(static_cast<uint16_t>(raw));
        break;
      case WeightEncoding::kUint8:
        out[i] = DequantizeUint8(static_cast<uint8_t>(raw), range);
        break;
    }
    // A model with a NaN or infinity answers garbage for every post.
    if (!std::isfinite(out[i])) {
      return absl::InvalidArgumentError(
          absl::StrCat("weight value ", i, " decodes to ", out[i], ": only finite weights load"));
    }
  }
  return absl::OkStatus();
}

}  // namespace kiln::model
