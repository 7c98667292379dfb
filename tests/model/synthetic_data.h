// A small learnable classification task for the trainer's tests: each class
// owns a few keywords; a sequence mixes its class's keywords with shared
// noise words and ends in padding.
#pragma once

#include <cstdint>

#include "services/model/model_weights.h"
#include "services/model/random.h"
#include "services/model/trainer.h"

namespace kiln::model::testing {

inline ModelShape SyntheticShape(Pooling pooling = Pooling::kGlobalAverage) {
  ModelShape shape;
  shape.vocab_size = 60;
  shape.max_length = 16;
  shape.embedding_dim = 8;
  shape.hidden_units = 16;
  shape.num_classes = 4;
  shape.pooling = pooling;
  return shape;
}

// The same task for the tfidf architecture, with dropout.
inline ModelShape SyntheticTfidfShape() {
  ModelShape shape = SyntheticShape();
  shape.architecture = Architecture::kTfidf;
  shape.embedding_dim = shape.hidden_units;
  shape.dropout = 0.5f;
  return shape;
}

// Ids 2..9 are noise shared by all classes; class c owns 10 + 10c .. 19 + 10c.
inline Examples SyntheticExamples(const ModelShape& shape, int64_t count, uint64_t seed) {
  Random random(seed);
  Examples examples;
  for (int64_t i = 0; i < count; ++i) {
    const int label = static_cast<int>(random.Below(shape.num_classes));
    const int words = 4 + static_cast<int>(random.Below(shape.max_length - 4));
    examples.labels.push_back(label);
    for (int p = 0; p < shape.max_length; ++p) {
      int32_t id = 0;
      if (p < words) {
        id = random.Below(3) == 0 ? 10 + 10 * label + static_cast<int32_t>(random.Below(10))
                                  : 2 + static_cast<int32_t>(random.Below(8));
      }
      examples.ids.push_back(id);
    }
  }
  return examples;
}

}  // namespace kiln::model::testing
