// The weight encodings against IEEE half precision and TF.js's uint8
// dequantization formula.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/weight_encoding.h"

namespace kiln::model {
namespace {

TEST(Float16Test, EncodesKnownValues) {
  EXPECT_EQ(Float32ToFloat16(0.0f), 0x0000);
  EXPECT_EQ(Float32ToFloat16(-0.0f), 0x8000);
  EXPECT_EQ(Float32ToFloat16(1.0f), 0x3C00);
  EXPECT_EQ(Float32ToFloat16(-2.0f), 0xC000);
  EXPECT_EQ(Float32ToFloat16(0.1f), 0x2E66);
  EXPECT_EQ(Float32ToFloat16(65504.0f), 0x7BFF);
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.0f, -24)), 0x0001);  // smallest subnormal
}

TEST(Float16Test, RoundsHalfToEven) {
  EXPECT_EQ(Float32ToFloat16(1.0f + std::ldexp(1.0f, -11)), 0x3C00);      // tie, even below
  EXPECT_EQ(Float32ToFloat16(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02);  // tie, even above
  EXPECT_EQ(Float32ToFloat16(std::ldexp(1.0f, -25)), 0x0000);             // subnormal tie
  EXPECT_EQ(Float32ToFloat16(3 * std::ldexp(1.0f, -25)), 0x0002);
  EXPECT_EQ(Float32ToFloat16(65519.0f), 0x7BFF);  // below the midpoint to 65536
  EXPECT_EQ(Float32ToFloat16(65520.0f), 0x7C00);  // the midpoint rounds to infinity
}

TEST(Float16Test, EveryHalfSurvivesARoundTrip) {
  for (uint32_t bits = 0; bits <= 0xFFFF; ++bits) {
    const uint16_t half = static_cast<uint16_t>(bits);
    if ((half & 0x7C00) == 0x7C00 && (half & 0x3FF) != 0) continue;  // NaN payloads
    ASSERT_EQ(Float32ToFloat16(Float16ToFloat32(half)), half) << std::hex << bits;
  }
  EXPECT_EQ(Float16ToFloat32(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::signbit(Float16ToFloat32(0x8000)));
}

TEST(Float16Test, RelativeErrorIsAtMostHalfAnUlp) {
  std::mt19937 engine(3);
  std::uniform_real_distribution<float> uniform(-4.0f, 4.0f);
  for (int i = 0; i < 100000; ++i) {
    const float value = uniform(engine);
    if (std::fabs(value) < std::ldexp(1.0f, -14)) continue;  // subnormal: absolute error instead
    const float decoded = Float16ToFloat32(Float32ToFloat16(value));
    ASSERT_LE(std::fabs(decoded - value), std::fabs(value) * std::ldexp(1.0f, -11)) << value;
  }
}

TEST(Uint8Test, DequantizesLikeTfjs) {
  const Uint8Range range{-0.731, 0.0123};
  for (int code = 0; code < 256; ++code) {
    // Float32Array stores the double result rounded to nearest float32.
    const double tfjs = code * 0.0123 + -0.731;
    EXPECT_EQ(DequantizeUint8(static_cast<uint8_t>(code), range), static_cast<float>(tfjs));
  }
}

TEST(Uint8Test, ErrorIsAtMostHalfAStep) {
  std::mt19937 engine(5);
  std::uniform_real_distribution<float> uniform(-0.3f, 0.9f);
  std::vector<float> values(10000);
  for (float& value : values) value = uniform(engine);
  values[123] = 0.0f;
  const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(values, WeightEncoding::kUint8);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  ASSERT_EQ(encoded->bytes.size(), values.size());
  std::vector<float> decoded(values.size());
  ASSERT_TRUE(
      DecodeTensor(encoded->bytes, WeightEncoding::kUint8, encoded->range, absl::MakeSpan(decoded))
          .ok());
  const float bound = static_cast<float>(encoded->range.scale / 2) * (1.0f + 1e-5f);
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_LE(std::fabs(decoded[i] - values[i]), bound) << i;
  }
  // A tensor that spans 0 has 0 as one of its codes: exact zeros stay exact.
  EXPECT_EQ(decoded[123], 0.0f);
  // The step stays close to a 255th of the range.
  const auto [low, high] = std::minmax_element(values.begin(), values.end());
  EXPECT_LE(encoded->range.scale, (*high - *low) / 254.0);
}

// K8: one side of 0 within half a step of it used to put 0 on the end code
// and divide by zero (NaN and infinite weights, a job failing for good).
TEST(Uint8Test, RangeWithOneSideNearZeroStaysFinite) {
  for (const std::vector<float>& values :
       {std::vector<float>{-1e-4f, 0.1f, 0.05f}, std::vector<float>{-0.1f, 1e-4f, -0.05f},
        std::vector<float>{-1e-30f, 1.0f}, std::vector<float>{-1.0f, 1e-30f}}) {
    const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(values, WeightEncoding::kUint8);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    ASSERT_TRUE(std::isfinite(encoded->range.scale) && encoded->range.scale > 0)
        << encoded->range.scale;
    ASSERT_TRUE(std::isfinite(encoded->range.min)) << encoded->range.min;
    std::vector<float> decoded(values.size());
    ASSERT_TRUE(DecodeTensor(encoded->bytes, WeightEncoding::kUint8, encoded->range,
                             absl::MakeSpan(decoded))
                    .ok());
    const float bound = static_cast<float>(encoded->range.scale / 2) * (1.0f + 1e-5f);
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_LE(std::fabs(decoded[i] - values[i]), bound) << values[0] << " " << i;
    }
  }
}

// Found by tests/fuzz (weight_decoder_fuzzer): near float's limits, the
// step widened to put 0 on a code pushed the top code past FLT_MAX, so it
// decoded to infinity and the largest values took the code below, a whole
// step off.
TEST(Uint8Test, RangeNearFloatLimitsKeepsHalfAStep) {
  for (const std::vector<float>& values :
       {std::vector<float>{-1.7015049e38f, 3.3961514e38f, 1.0f},
        std::vector<float>{-3.3961514e38f, 1.7015049e38f, -1.0f}}) {
    const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(values, WeightEncoding::kUint8);
    ASSERT_TRUE(encoded.ok()) << encoded.status();
    std::vector<float> decoded(values.size());
    ASSERT_TRUE(DecodeTensor(encoded->bytes, WeightEncoding::kUint8, encoded->range,
                             absl::MakeSpan(decoded))
                    .ok());
    const double bound = encoded->range.scale / 2 * (1 + 1e-6);
    for (size_t i = 0; i < values.size(); ++i) {
      EXPECT_LE(std::fabs(double{decoded[i]} - values[i]), bound) << values[0] << " " << i;
    }
  }
}

TEST(DecodeTensorTest, RefusesNonFiniteWeights) {
  std::vector<float> out(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::string bytes(8, '\0');
  std::memcpy(bytes.data() + 4, &nan, sizeof nan);
  const absl::Status float32 =
      DecodeTensor(bytes, WeightEncoding::kFloat32, {}, absl::MakeSpan(out));
  EXPECT_EQ(float32.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(float32.message().find("weight value 1"), absl::string_view::npos) << float32;
  // A half-precision infinity, and uint8 ranges that decode to nothing finite.
  EXPECT_FALSE(DecodeTensor(std::string("\x00\x7c\x00\x00", 4), WeightEncoding::kFloat16, {},
                            absl::MakeSpan(out))
                   .ok());
  for (const Uint8Range& range : {Uint8Range{0.0, std::numeric_limits<double>::infinity()},
                                  Uint8Range{nan, 0.1}}) {
    EXPECT_FALSE(
        DecodeTensor(std::string(2, '\1'), WeightEncoding::kUint8, range, absl::MakeSpan(out))
            .ok())
        << range.min << " " << range.scale;
  }
}

TEST(Uint8Test, ConstantTensorIsExact) {
  const std::vector<float> values(7, 0.25f);
  const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(values, WeightEncoding::kUint8);
  ASSERT_TRUE(encoded.ok());
  std::vector<float> decoded(values.size());
  ASSERT_TRUE(
      DecodeTensor(encoded->bytes, WeightEncoding::kUint8, encoded->range, absl::MakeSpan(decoded))
          .ok());
  EXPECT_EQ(decoded, values);
}

TEST(EncodeTensorTest, Float32IsLittleEndianAndExact) {
  const std::vector<float> values = {1.0f, -0.5f, 3.25e-7f};
  const absl::StatusOr<EncodedTensor> encoded = EncodeTensor(values, WeightEncoding::kFloat32);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->bytes.substr(0, 4), std::string("\x00\x00\x80\x3f", 4));
  std::vector<float> decoded(values.size());
  ASSERT_TRUE(
      DecodeTensor(encoded->bytes, WeightEncoding::kFloat32, {}, absl::MakeSpan(decoded)).ok());
  EXPECT_EQ(decoded, values);
}

TEST(EncodeTensorTest, RefusesWhatCannotShip) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  for (WeightEncoding encoding :
       {WeightEncoding::kFloat32, WeightEncoding::kFloat16, WeightEncoding::kUint8}) {
    EXPECT_EQ(EncodeTensor(std::vector<float>{1.0f, nan}, encoding).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(EncodeTensor(std::vector<float>{-inf}, encoding).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  const absl::Status too_big =
      EncodeTensor(std::vector<float>{70000.0f}, WeightEncoding::kFloat16).status();
  EXPECT_EQ(too_big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(too_big.message().find("float16"), absl::string_view::npos) << too_big;
}

TEST(DecodeTensorTest, RefusesAWrongByteCount) {
  std::vector<float> out(3);
  EXPECT_EQ(
      DecodeTensor(std::string(5, '\0'), WeightEncoding::kFloat16, {}, absl::MakeSpan(out)).code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(WeightEncodingTest, NamesRoundTrip) {
  for (WeightEncoding encoding :
       {WeightEncoding::kFloat32, WeightEncoding::kFloat16, WeightEncoding::kUint8}) {
    EXPECT_EQ(*ParseWeightEncoding(WeightEncodingName(encoding)), encoding);
  }
  EXPECT_FALSE(ParseWeightEncoding("int8").ok());
}

}  // namespace
}  // namespace kiln::model
