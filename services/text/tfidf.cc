#include "services/text/tfidf.h"

#include <algorithm>
#include <cmath>

namespace kiln::text {
namespace {

// The first id that names a word (0 is padding, 1 is <oov>).
constexpr int32_t kFirstWordId = 2;

// `ids`' word ids, sorted, in `sorted`.
void SortedWords(absl::Span<const int32_t> ids, std::vector<int32_t>* sorted) {
  sorted->clear();
  for (int32_t id : ids) {
    if (id >= kFirstWordId) sorted->push_back(id);
  }
  std::sort(sorted->begin(), sorted->end());
}

}  // namespace

void CountDocumentFrequencies(absl::Span<const int32_t> ids,
                              absl::Span<int64_t> document_frequencies) {
  std::vector<int32_t> sorted;
  SortedWords(ids, &sorted);
  for (size_t i = 0; i < sorted.size(); ++i) {
    if (i == 0 || sorted[i] != sorted[i - 1]) ++document_frequencies[sorted[i]];
  }
}

std::vector<float> InverseDocumentFrequencies(absl::Span<const int64_t> document_frequencies,
                                              int64_t documents) {
  std::vector<float> idf(document_frequencies.size(), 0.0f);
  const double numerator = 1.0 + static_cast<double>(documents);
  for (size_t j = kFirstWordId; j < idf.size(); ++j) {
    const double denominator = 1.0 + static_cast<double>(document_frequencies[j]);
    idf[j] = static_cast<float>(std::log(numerator / denominator) + 1.0);
  }
  return idf;
}

void TfidfFeatures(absl::Span<const int32_t> ids, absl::Span<const float> idf,
                   std::vector<int32_t>* scratch, SparseFeatures* out) {
  out->ids.clear();
  out->values.clear();
  SortedWords(ids, scratch);
  // Weights in float64 first: the norm needs all of them.
  std::vector<double> weights;
  weights.reserve(scratch->size());
  double squares = 0;
  for (size_t i = 0; i < scratch->size();) {
    const int32_t id = (*scratch)[i];
    size_t next = i;
    while (next < scratch->size() && (*scratch)[next] == id) ++next;
    const double weight =
        (1.0 + std::log(static_cast<double>(next - i))) * static_cast<double>(idf[id]);
    out->ids.push_back(id);
    weights.push_back(weight);
    squares += weight * weight;
    i = next;
  }
  if (squares == 0) {
    out->ids.clear();
    return;
  }
  const double norm = std::sqrt(squares);
  out->values.reserve(weights.size());
  for (double weight : weights) out->values.push_back(static_cast<float>(weight / norm));
}

}  // namespace kiln::text
