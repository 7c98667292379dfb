// idf.json: a tfidf model's inverse document frequencies (docs/bundle.md),
// tied to its vocabulary by the vocabulary's sha256.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace kiln::model {

// {"format": "kiln-idf", "idf": [...], "vocab_sha256": ...}, each value the
// shortest decimal that reads back as the same float32 (in C++ and in
// JavaScript, which parse it to a double first and round that).
std::string IdfToJson(absl::Span<const float> idf, const std::string& vocab_sha256);

// InvalidArgument naming what is wrong: not the format, another vocabulary,
// a count other than vocab_size, a value that is not a finite number >= 0.
absl::StatusOr<std::vector<float>> ParseIdfJson(absl::string_view text,
                                                const std::string& vocab_sha256, int vocab_size);

}  // namespace kiln::model
