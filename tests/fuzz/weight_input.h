// The input layout of weight_decoder_fuzzer, shared with the seed writer:
//   byte 0     bits 0-1 the encoding (float32, float16, uint8; 3 is float32),
//              bit 2 Flatten instead of average pooling, bit 3 round trip
//   bytes 1-5  vocab_size, max_length, embedding_dim, hidden_units,
//              num_classes, each a small range (see ShapeOf)
//   decoding:   model.json's weightsManifest as JSON text, a NUL byte, the
//               shard count (1-3), then the shards' bytes split evenly
//   round trip: max_shard_bytes - 1, then float32 values (little-endian)
#pragma once

#include <cstdint>
#include <string>

#include "services/model/keras_topology.h"
#include "services/model/model_weights.h"
#include "services/model/weight_encoding.h"

namespace kiln::fuzz {

inline constexpr size_t kWeightHeaderBytes = 6;
inline constexpr uint8_t kRoundTripBit = 8;
inline constexpr uint8_t kFlattenBit = 4;

inline model::WeightEncoding EncodingOf(uint8_t flags) {
  switch (flags & 3) {
    case 1: return model::WeightEncoding::kFloat16;
    case 2: return model::WeightEncoding::kUint8;
    default: return model::WeightEncoding::kFloat32;
  }
}

inline model::ModelShape ShapeOf(const uint8_t* header) {
  model::ModelShape shape;
  shape.pooling = (header[0] & kFlattenBit) ? model::Pooling::kFlatten
                                            : model::Pooling::kGlobalAverage;
  shape.vocab_size = 2 + header[1] % 7;
  shape.max_length = 1 + header[2] % 4;
  shape.embedding_dim = 1 + header[3] % 4;
  shape.hidden_units = 1 + header[4] % 4;
  shape.num_classes = 2 + header[5] % 3;
  return shape;
}

inline std::string ShardName(size_t index, size_t count) {
  return "group1-shard" + std::to_string(index + 1) + "of" + std::to_string(count) + ".bin";
}

}  // namespace kiln::fuzz
