// preprocess.js: the JavaScript twin of the text preprocessing bound to one
// model's constants (docs/bundle.md, section "preprocess.js").
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/text/vocabulary.h"

namespace kiln::model {

// The script for a model reading `max_length` ids from `vocabulary`, whose
// output units are `classes`. It does not inline the vocabulary: the page
// passes vocab.json to KilnPreprocess.createPreprocessor, which checks that
// the file belongs to this bundle. Internal error if the embedded twin
// implements another spec version than kiln_text.
// What the model reads: the ids (article) or their TF-IDF vector (tfidf).
enum class ModelInput { kIds, kTfidf };

absl::StatusOr<std::string> BuildPreprocessScript(ModelInput input, int max_length,
                                                  const text::Vocabulary& vocabulary,
                                                  const std::vector<std::string>& classes);

}  // namespace kiln::model
