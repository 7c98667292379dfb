#include "services/model/dense_kernels.h"

#include <algorithm>

#include "services/model/parallel.h"

namespace kiln::model {
namespace {

// Rows of `a` that share one pass over each row of `b`: a flattened hidden
// kernel is megabytes, and streaming it once per four rows instead of once
// per row keeps the pass cache-friendly.
constexpr int64_t kRowBlock = 4;

}  // namespace

void MatMul(const float* a, const float* b, int64_t rows, int64_t k, int64_t n, float* out) {
  const int64_t blocks = (rows + kRowBlock - 1) / kRowBlock;
  ParallelFor(0, blocks, 1, [&](int64_t block_begin, int64_t block_end) {
    for (int64_t block = block_begin; block < block_end; ++block) {
      const int64_t first = block * kRowBlock;
      const int64_t count = std::min(kRowBlock, rows - first);
      std::fill(out + first * n, out + (first + count) * n, 0.0f);
      for (int64_t inner = 0; inner < k; ++inner) {
        const float* b_row = b + inner * n;
        for (int64_t r = first; r < first + count; ++r) {
          const float x = a[r * k + inner];
          float* out_row = out + r * n;
          for (int64_t j = 0; j < n; ++j) out_row[j] += x * b_row[j];
        }
      }
    }
  });
}

void MatMulTransposedLeft(const float* a, const float* d, int64_t rows, int64_t k, int64_t n,
                          float* out) {
  ParallelFor(0, k, 16, [&](int64_t begin, int64_t end) {
    std::fill(out + begin * n, out + end * n, 0.0f);
    for (int64_t r = 0; r < rows; ++r) {
      const float* d_row = d + r * n;
      for (int64_t inner = begin; inner < end; ++inner) {
        const float x = a[r * k + inner];
        float* out_row = out + inner * n;
        for (int64_t j = 0; j < n; ++j) out_row[j] += x * d_row[j];
      }
    }
  });
}

void Transpose(const float* m, int64_t rows, int64_t cols, float* out) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = m[r * cols + c];
  }
}

void SumColumns(const float* m, int64_t rows, int64_t cols, float* sums) {
  std::fill(sums, sums + cols, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) sums[c] += m[r * cols + c];
  }
}

}  // namespace kiln::model
