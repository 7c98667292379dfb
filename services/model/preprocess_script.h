// preprocess.js: the JavaScript twin of the text preprocessing bound to one
// model's constants (docs/bundle.md, section "preprocess.js").
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/text/vocabulary.h"

namespace kiln::model {

// What the model reads: `kIds`, the article's MAX_LENGTH ids (int32), or
// `kTfidf`, VOCAB_SIZE TF-IDF features (float32, docs/preprocessing.md
// section 6), for which createPreprocessor also needs the bundle's idf.json.
enum class ModelInput { kIds, kTfidf };

// The script for a model with `input`, reading the first `max_length` ids
// of `vocabulary`, whose output units are `classes`. It inlines neither the
// vocabulary nor the idf: the page passes vocab.json (and idf.json) to
// KilnPreprocess.createPreprocessor, which checks that they belong to this
// bundle. Internal error if the embedded twin implements another spec
// version than kiln_text.
absl::StatusOr<std::string> BuildPreprocessScript(ModelInput input, int max_length,
                                                  const text::Vocabulary& vocabulary,
                                                  const std::vector<std::string>& classes);

}  // namespace kiln::model
