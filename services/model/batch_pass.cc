#include "services/model/batch_pass.h"

#include <algorithm>

#include "services/model/dense_kernels.h"
#include "services/model/parallel.h"

namespace kiln::model {

void BatchPass::PoolEmbedding(const WeightsView& weights, const int32_t* ids) {
  const ModelShape& shape = weights.shape;
  const int length = shape.max_length;
  const int dim = shape.embedding_dim;
  const int pooled_dim = shape.pooled_dim();
  // Pooling straight from the table, without materialising the
  // [rows, max_length, dim] embedded batch. The average divides the sum over
  // every position, padding included, as TF.js' GlobalAveragePooling1D does.
  ParallelFor(0, rows_, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const int32_t* sequence = ids + r * length;
      float* pooled = pooled_.data() + r * pooled_dim;
      if (shape.pooling == Pooling::kFlatten) {
        for (int p = 0; p < length; ++p) {
          std::copy_n(weights.embedding + int64_t{sequence[p]} * dim, dim, pooled + p * dim);
        }
        continue;
      }
      std::fill(pooled, pooled + dim, 0.0f);
      for (int p = 0; p < length; ++p) {
        const float* row = weights.embedding + int64_t{sequence[p]} * dim;
        for (int d = 0; d < dim; ++d) pooled[d] += row[d];
      }
      const float divisor = static_cast<float>(length);
      for (int d = 0; d < dim; ++d) pooled[d] /= divisor;
    }
  });
}

void FeatureRows::Clear() {
  offsets.assign(1, 0);
  ids.clear();
  values.clear();
}

void FeatureRows::Append(const text::SparseFeatures& features) {
  ids.insert(ids.end(), features.ids.begin(), features.ids.end());
  values.insert(values.end(), features.values.begin(), features.values.end());
  offsets.push_back(static_cast<int64_t>(ids.size()));
}

void FeatureRows::AppendRow(const FeatureRows& other, int64_t row) {
  const int64_t begin = other.offsets[row];
  const int64_t end = other.offsets[row + 1];
  ids.insert(ids.end(), other.ids.begin() + begin, other.ids.begin() + end);
  values.insert(values.end(), other.values.begin() + begin, other.values.begin() + end);
  offsets.push_back(static_cast<int64_t>(ids.size()));
}

FeatureRows ComputeFeatures(const WeightsView& weights, const int32_t* ids, int64_t rows) {
  const ModelShape& shape = weights.shape;
  const int length = shape.max_length;
  const absl::Span<const float> idf(weights.idf, static_cast<size_t>(shape.vocab_size));
  FeatureRows rows_features;
  std::vector<int32_t> scratch;
  text::SparseFeatures features;
  for (int64_t r = 0; r < rows; ++r) {
    text::TfidfFeatures(absl::MakeConstSpan(ids + r * length, length), idf, &scratch, &features);
    rows_features.Append(features);
  }
  return rows_features;
}

void BatchPass::PoolTfidf(const WeightsView& weights) {
  const int dim = weights.shape.embedding_dim;
  const FeatureRows& features = *features_;
  ParallelFor(0, rows_, 4, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      float* pooled = pooled_.data() + r * dim;
      std::fill(pooled, pooled + dim, 0.0f);
      for (int64_t f = features.offsets[r]; f < features.offsets[r + 1]; ++f) {
        const float* row = weights.embedding + int64_t{features.ids[f]} * dim;
        const float x = features.values[f];
        for (int d = 0; d < dim; ++d) pooled[d] += x * row[d];
      }
    }
  });
}

void BatchPass::Forward(const WeightsView& weights, const int32_t* ids, int64_t rows,
                        const float* dropout_scale, const FeatureRows* features) {
  const ModelShape& shape = weights.shape;
  const int pooled_dim = shape.pooled_dim();
  const int hidden_units = shape.hidden_units;
  const int classes = shape.num_classes;
  rows_ = rows;
  dropout_scale_ = dropout_scale;
  pooled_.resize(static_cast<size_t>(rows * pooled_dim));
  hidden_.resize(static_cast<size_t>(rows * hidden_units));
  logits_.resize(static_cast<size_t>(rows * classes));
  if (rows == 0) return;

  if (shape.tfidf()) {
    if (features == nullptr) {
      own_features_ = ComputeFeatures(weights, ids, rows);
      features = &own_features_;
    }
    features_ = features;
    PoolTfidf(weights);
  } else {
    PoolEmbedding(weights, ids);
  }

  // Dense layers as Keras computes them: x @ kernel, then + bias. A tfidf
  // model's pooled vector already is its input times the first kernel.
  if (shape.tfidf()) {
    std::copy(pooled_.begin(), pooled_.end(), hidden_.begin());
  } else {
    MatMul(pooled_.data(), weights.hidden_kernel, rows, pooled_dim, hidden_units, hidden_.data());
  }
  for (int64_t r = 0; r < rows; ++r) {
    float* hidden = hidden_.data() + r * hidden_units;
    for (int h = 0; h < hidden_units; ++h) {
      hidden[h] = std::max(hidden[h] + weights.hidden_bias[h], 0.0f);
    }
  }
  if (dropout_scale_ != nullptr) {
    for (size_t i = 0; i < hidden_.size(); ++i) hidden_[i] *= dropout_scale_[i];
  }
  MatMul(hidden_.data(), weights.output_kernel, rows, hidden_units, classes, logits_.data());
  for (int64_t r = 0; r < rows; ++r) {
    float* logits = logits_.data() + r * classes;
    for (int c = 0; c < classes; ++c) logits[c] += weights.output_bias[c];
  }
}

void BatchPass::Backward(const WeightsView& weights, const int32_t* ids,
                         const float* logits_gradient, float* dense_gradient,
                         SparseRows* embedding_gradient) {
  const ModelShape& shape = weights.shape;
  const DenseLayout layout = DenseLayout::For(shape);
  const int length = shape.max_length;
  const int dim = shape.embedding_dim;
  const int pooled_dim = shape.pooled_dim();
  const int hidden_units = shape.hidden_units;
  const int classes = shape.num_classes;
  const int64_t rows = rows_;
  embedding_gradient->Reset(shape.vocab_size, dim);
  if (rows == 0) {
    std::fill(dense_gradient, dense_gradient + layout.size, 0.0f);
    return;
  }

  MatMulTransposedLeft(hidden_.data(), logits_gradient, rows, hidden_units, classes,
                       dense_gradient + layout.output_kernel);
  SumColumns(logits_gradient, rows, classes, dense_gradient + layout.output_bias);

  // Products with a transposed kernel use a transposed copy, so that every
  // product runs along contiguous rows.
  transposed_kernel_.resize(static_cast<size_t>(hidden_units) * classes);
  Transpose(weights.output_kernel, hidden_units, classes, transposed_kernel_.data());
  hidden_gradient_.resize(static_cast<size_t>(rows * hidden_units));
  MatMul(logits_gradient, transposed_kernel_.data(), rows, classes, hidden_units,
         hidden_gradient_.data());
  for (size_t i = 0; i < hidden_gradient_.size(); ++i) {
    if (dropout_scale_ != nullptr) hidden_gradient_[i] *= dropout_scale_[i];
    if (hidden_[i] <= 0.0f) hidden_gradient_[i] = 0.0f;  // relu' (and dropped units)
  }
  if (shape.tfidf()) {
    SumColumns(hidden_gradient_.data(), rows, hidden_units, dense_gradient + layout.hidden_bias);
    // Each feature's row receives the hidden gradient times the feature.
    const FeatureRows& features = *features_;
    for (int64_t r = 0; r < rows; ++r) {
      const float* d_hidden = hidden_gradient_.data() + r * hidden_units;
      for (int64_t f = features.offsets[r]; f < features.offsets[r + 1]; ++f) {
        float* target = embedding_gradient->Row(features.ids[f]);
        const float x = features.values[f];
        for (int d = 0; d < dim; ++d) target[d] += x * d_hidden[d];
      }
    }
    return;
  }
  MatMulTransposedLeft(pooled_.data(), hidden_gradient_.data(), rows, pooled_dim, hidden_units,
                       dense_gradient + layout.hidden_kernel);
  SumColumns(hidden_gradient_.data(), rows, hidden_units, dense_gradient + layout.hidden_bias);

  transposed_kernel_.resize(static_cast<size_t>(pooled_dim) * hidden_units);
  Transpose(weights.hidden_kernel, pooled_dim, hidden_units, transposed_kernel_.data());
  pooled_gradient_.resize(static_cast<size_t>(rows * pooled_dim));
  MatMul(hidden_gradient_.data(), transposed_kernel_.data(), rows, hidden_units, pooled_dim,
         pooled_gradient_.data());

  // Scatter-add into the touched rows only. Each position of a sequence
  // receives the pooled gradient (divided by max_length when averaging).
  const float divisor = static_cast<float>(length);
  for (int64_t r = 0; r < rows; ++r) {
    const int32_t* sequence = ids + r * length;
    float* d_pooled = pooled_gradient_.data() + r * pooled_dim;
    if (shape.pooling == Pooling::kGlobalAverage) {
      for (int d = 0; d < dim; ++d) d_pooled[d] /= divisor;
    }
    for (int p = 0; p < length; ++p) {
      const float* source = shape.pooling == Pooling::kFlatten ? d_pooled + p * dim : d_pooled;
      float* target = embedding_gradient->Row(sequence[p]);
      for (int d = 0; d < dim; ++d) target[d] += source[d];
    }
  }
}

}  // namespace kiln::model
