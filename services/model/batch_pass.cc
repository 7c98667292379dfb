#include "services/model/batch_pass.h"

#include <ATen/core/Tensor.h>
#include <ATen/ops/from_blob.h>
#include <ATen/ops/mm.h>

#include <algorithm>

#include "services/model/parallel.h"

namespace kiln::model {
namespace {

// A [rows, cols] row-major tensor over memory owned elsewhere (ATen only
// reads inputs, so dropping const is safe).
at::Tensor Matrix(const float* data, int64_t rows, int64_t cols) {
  return at::from_blob(const_cast<float*>(data), {rows, cols}, at::kFloat);
}

// out[rows, n] = a[rows, k] @ b[k, n], in BLAS.
void MatMul(const at::Tensor& a, const at::Tensor& b, float* out) {
  at::Tensor result = Matrix(out, a.size(0), b.size(1));
  at::mm_out(result, a, b);
}

void SumColumns(const float* matrix, int64_t rows, int cols, float* sums) {
  std::fill(sums, sums + cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = matrix + r * cols;
    for (int c = 0; c < cols; ++c) sums[c] += row[c];
  }
}

}  // namespace

void BatchPass::Forward(const WeightsView& weights, const int32_t* ids, int64_t rows) {
  const ModelShape& shape = weights.shape;
  const int length = shape.max_length;
  const int dim = shape.embedding_dim;
  const int pooled_dim = shape.pooled_dim();
  const int hidden_units = shape.hidden_units;
  const int classes = shape.num_classes;
  rows_ = rows;
  pooled_.resize(static_cast<size_t>(rows * pooled_dim));
  hidden_.resize(static_cast<size_t>(rows * hidden_units));
  logits_.resize(static_cast<size_t>(rows * classes));
  if (rows == 0) return;

  // Pooling straight from the table, without materialising the
  // [rows, max_length, dim] embedded batch. The average divides the sum over
  // every position, padding included, as TF.js' GlobalAveragePooling1D does.
  ParallelFor(0, rows, 4, [&](int64_t begin, int64_t end) {
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

  // Dense layers as Keras computes them: x @ kernel, then + bias.
  MatMul(Matrix(pooled_.data(), rows, pooled_dim),
         Matrix(weights.hidden_kernel, pooled_dim, hidden_units), hidden_.data());
  for (int64_t r = 0; r < rows; ++r) {
    float* hidden = hidden_.data() + r * hidden_units;
    for (int h = 0; h < hidden_units; ++h) {
      hidden[h] = std::max(hidden[h] + weights.hidden_bias[h], 0.0f);
    }
  }
  MatMul(Matrix(hidden_.data(), rows, hidden_units),
         Matrix(weights.output_kernel, hidden_units, classes), logits_.data());
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

  const at::Tensor d_logits = Matrix(logits_gradient, rows, classes);
  const at::Tensor hidden = Matrix(hidden_.data(), rows, hidden_units);
  MatMul(hidden.t(), d_logits, dense_gradient + layout.output_kernel);
  SumColumns(logits_gradient, rows, classes, dense_gradient + layout.output_bias);

  hidden_gradient_.resize(static_cast<size_t>(rows * hidden_units));
  MatMul(d_logits, Matrix(weights.output_kernel, hidden_units, classes).t(),
         hidden_gradient_.data());
  for (size_t i = 0; i < hidden_gradient_.size(); ++i) {
    if (hidden_[i] <= 0.0f) hidden_gradient_[i] = 0.0f;  // relu'
  }
  const at::Tensor d_hidden = Matrix(hidden_gradient_.data(), rows, hidden_units);
  MatMul(Matrix(pooled_.data(), rows, pooled_dim).t(), d_hidden,
         dense_gradient + layout.hidden_kernel);
  SumColumns(hidden_gradient_.data(), rows, hidden_units, dense_gradient + layout.hidden_bias);

  pooled_gradient_.resize(static_cast<size_t>(rows * pooled_dim));
  MatMul(d_hidden, Matrix(weights.hidden_kernel, pooled_dim, hidden_units).t(),
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
      const float* source =
          shape.pooling == Pooling::kFlatten ? d_pooled + p * dim : d_pooled;
      float* target = embedding_gradient->Row(sequence[p]);
      for (int d = 0; d < dim; ++d) target[d] += source[d];
    }
  }
}

}  // namespace kiln::model
