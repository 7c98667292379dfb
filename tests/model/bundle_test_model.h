// A deterministic random classifier with its vocabulary and class names, for
// the bundle tests and the tfjs parity fixture.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "services/model/model_weights.h"
#include "services/text/vocabulary.h"

namespace kiln::model::testing {

struct TestModel {
  ModelWeights weights;
  std::vector<std::string> classes;
  text::Vocabulary vocabulary;
};

// Weights drawn uniformly (Glorot-like ranges) from `seed`; a vocabulary of
// shape.vocab_size words: common English words first, then "w<n>".
TestModel MakeTestModel(const ModelShape& shape, uint32_t seed);

// `count` texts mixing vocabulary words, unknown words, capitals, accents,
// URLs, e-mail addresses, long numbers and punctuation.
std::vector<std::string> MakeTestTexts(const text::Vocabulary& vocabulary, int count,
                                       uint32_t seed);

}  // namespace kiln::model::testing
