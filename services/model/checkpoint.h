// The trainer's complete state between two epochs, and its byte form.
//
// No random-number state is stored: every random draw derives from the seed
// and the epoch number (see random.h), so the epoch count is enough.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/model/model_weights.h"

namespace kiln::model {

struct TrainingState {
  ModelShape shape;
  // The hyperparameters a resumed run must share.
  int32_t batch_size = 0;
  float learning_rate = 0;
  uint64_t seed = 0;
  int64_t examples = 0;  // size of the whole training set, all ranks together

  int32_t epochs_done = 0;
  int64_t step = 0;  // Adam steps taken
  std::vector<float> embedding;
  std::vector<float> dense;  // DenseLayout of the shape
  std::vector<float> embedding_first_moment;
  std::vector<float> embedding_second_moment;
  std::vector<float> dense_first_moment;
  std::vector<float> dense_second_moment;
};

// "KILNCKP2", the fields little-endian in declaration order, each vector
// with its length, then an FNV-1a 64 checksum of everything before it.
std::string EncodeCheckpoint(const TrainingState& state);

// DataLoss for truncated, corrupted or foreign bytes; InvalidArgument when
// the tensors do not match the stored shape.
absl::StatusOr<TrainingState> DecodeCheckpoint(const std::string& bytes);

}  // namespace kiln::model
