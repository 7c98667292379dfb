// TF-IDF features of an encoded post (docs/preprocessing.md, section
// "TF-IDF features"): the input of the tfidf architecture, computed the same
// way here and in the JavaScript twin (clients/text/kiln-text.js).
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace kiln::text {

// A sparse feature vector: ids strictly increasing, one value each.
struct SparseFeatures {
  std::vector<int32_t> ids;
  std::vector<float> values;
};

// Adds one to document_frequencies[j] for every distinct id j >= 2 in
// `ids` (padding and <oov> carry no word). Ids must be in
// [0, document_frequencies.size()).
void CountDocumentFrequencies(absl::Span<const int32_t> ids,
                              absl::Span<int64_t> document_frequencies);

// idf[j] = float32(ln((1 + documents) / (1 + df[j])) + 1), and 0 for the two
// reserved ids: scikit-learn's smoothed idf.
std::vector<float> InverseDocumentFrequencies(absl::Span<const int64_t> document_frequencies,
                                              int64_t documents);

// The post's L2-normalised sublinear TF-IDF vector: for each distinct id
// j >= 2 with count c, (1 + ln c) * idf[j], divided by the norm of all of
// them (in float64, summed in increasing id order). A post without words
// gets no features. `scratch` is reused between calls. Ids must be in
// [0, idf.size()).
void TfidfFeatures(absl::Span<const int32_t> ids, absl::Span<const float> idf,
                   std::vector<int32_t>* scratch, SparseFeatures* out);

}  // namespace kiln::text
