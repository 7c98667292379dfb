#include "services/model/parameters.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "services/model/random.h"

namespace kiln::model {
namespace {

// Streams of DeriveSeed: each tensor draws from its own, so changing one
// tensor's size leaves the others' values alone.
enum InitStream : uint64_t { kEmbeddingStream = 1, kHiddenStream, kOutputStream };

constexpr float kTfidfTableScale = 0.01f;

void FillUniform(float* begin, int64_t count, float bound, Random& random) {
  for (int64_t i = 0; i < count; ++i) begin[i] = random.Uniform(-bound, bound);
}

}  // namespace

absl::Status ValidateShape(const ModelShape& shape) {
  const auto out_of_range = [](const char* field, int value, const char* range) {
    return absl::InvalidArgumentError(
        absl::StrCat("model shape: ", field, " is ", value, ", allowed ", range));
  };
  constexpr int kMaxSide = 1 << 24;
  if (shape.vocab_size < 2 || shape.vocab_size > kMaxSide)
    return out_of_range("vocab_size", shape.vocab_size, "2..16777216");
  if (shape.max_length < 1 || shape.max_length > 65536)
    return out_of_range("max_length", shape.max_length, "1..65536");
  if (shape.embedding_dim < 1 || shape.embedding_dim > 4096)
    return out_of_range("embedding_dim", shape.embedding_dim, "1..4096");
  if (shape.hidden_units < 1 || shape.hidden_units > 65536)
    return out_of_range("hidden_units", shape.hidden_units, "1..65536");
  if (shape.num_classes < 2 || shape.num_classes > 65536)
    return out_of_range("num_classes", shape.num_classes, "2..65536");
  if (shape.tfidf() && shape.embedding_dim != shape.hidden_units) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model shape: a tfidf model needs embedding_dim == hidden_units (its first kernel is "
        "the table), got ", shape.embedding_dim, " and ", shape.hidden_units));
  }
  if (!(shape.dropout >= 0 && shape.dropout <= 0.9f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("model shape: dropout is ", shape.dropout, ", allowed 0..0.9"));
  }
  if (int64_t{shape.vocab_size} * shape.embedding_dim > (int64_t{1} << 31) ||
      shape.hidden_kernel_size() > (int64_t{1} << 31)) {
    return absl::InvalidArgumentError(
        "model shape: more than 2^31 values in the embedding or the hidden kernel");
  }
  return absl::OkStatus();
}

bool SameShape(const ModelShape& a, const ModelShape& b) {
  return a.vocab_size == b.vocab_size && a.max_length == b.max_length &&
         a.embedding_dim == b.embedding_dim && a.hidden_units == b.hidden_units &&
         a.num_classes == b.num_classes && a.architecture == b.architecture &&
         (a.tfidf() || a.pooling == b.pooling) && a.dropout == b.dropout;
}

DenseLayout DenseLayout::For(const ModelShape& shape) {
  DenseLayout layout;
  layout.hidden_kernel = 0;
  layout.hidden_bias = layout.hidden_kernel + shape.hidden_kernel_size();
  layout.output_kernel = layout.hidden_bias + shape.hidden_units;
  layout.output_bias = layout.output_kernel + int64_t{shape.hidden_units} * shape.num_classes;
  layout.size = layout.output_bias + shape.num_classes;
  return layout;
}

WeightsView ViewOf(const ModelWeights& weights) {
  return WeightsView{weights.shape,
                     weights.embedding.data(),
                     weights.hidden_kernel.data(),
                     weights.hidden_bias.data(),
                     weights.output_kernel.data(),
                     weights.output_bias.data(),
                     weights.idf.data()};
}

Parameters Parameters::Initial(const ModelShape& shape, uint64_t seed) {
  Parameters params;
  params.shape = shape;
  params.layout = DenseLayout::For(shape);
  params.embedding.resize(static_cast<size_t>(shape.vocab_size) * shape.embedding_dim);
  params.dense.resize(static_cast<size_t>(params.layout.size));

  Random embedding_random(DeriveSeed(seed, kEmbeddingStream));
  // A tfidf input has unit norm and hundreds of non-zeros: rows of N(0, 1)
  // would start every unit saturated, so its table starts small.
  const float embedding_scale = shape.tfidf() ? kTfidfTableScale : 1.0f;
  for (float& value : params.embedding) value = embedding_scale * embedding_random.Normal();

  Random hidden_random(DeriveSeed(seed, kHiddenStream));
  if (shape.tfidf()) {
    // Its hidden bias starts at zero (the rest of the block is empty).
    Random output_random(DeriveSeed(seed, kOutputStream));
    const float output_bound = 1.0f / std::sqrt(static_cast<float>(shape.hidden_units));
    FillUniform(params.dense.data() + params.layout.output_kernel,
                params.layout.size - params.layout.output_kernel, output_bound, output_random);
    return params;
  }
  const float hidden_bound = 1.0f / std::sqrt(static_cast<float>(shape.pooled_dim()));
  FillUniform(params.dense.data() + params.layout.hidden_kernel,
              params.layout.output_kernel - params.layout.hidden_kernel, hidden_bound,
              hidden_random);

  Random output_random(DeriveSeed(seed, kOutputStream));
  const float output_bound = 1.0f / std::sqrt(static_cast<float>(shape.hidden_units));
  FillUniform(params.dense.data() + params.layout.output_kernel,
              params.layout.size - params.layout.output_kernel, output_bound, output_random);
  return params;
}

Parameters Parameters::FromWeights(const ModelWeights& weights) {
  Parameters params;
  params.shape = weights.shape;
  params.layout = DenseLayout::For(weights.shape);
  params.embedding = weights.embedding;
  params.idf = weights.idf;
  params.dense.reserve(static_cast<size_t>(params.layout.size));
  for (const std::vector<float>* part : {&weights.hidden_kernel, &weights.hidden_bias,
                                         &weights.output_kernel, &weights.output_bias}) {
    params.dense.insert(params.dense.end(), part->begin(), part->end());
  }
  return params;
}

ModelWeights Parameters::ToWeights() const {
  ModelWeights weights;
  weights.shape = shape;
  weights.embedding = embedding;
  weights.idf = idf;
  const auto slice = [this](int64_t begin, int64_t end) {
    return std::vector<float>(dense.begin() + begin, dense.begin() + end);
  };
  weights.hidden_kernel = slice(layout.hidden_kernel, layout.hidden_bias);
  weights.hidden_bias = slice(layout.hidden_bias, layout.output_kernel);
  weights.output_kernel = slice(layout.output_kernel, layout.output_bias);
  weights.output_bias = slice(layout.output_bias, layout.size);
  return weights;
}

WeightsView Parameters::view() const {
  return WeightsView{shape,
                     embedding.data(),
                     dense.data() + layout.hidden_kernel,
                     dense.data() + layout.hidden_bias,
                     dense.data() + layout.output_kernel,
                     dense.data() + layout.output_bias,
                     idf.data()};
}

}  // namespace kiln::model
