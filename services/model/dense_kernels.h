// The matrix products of the dense layers, written out for their shapes.
//
// Debian's libtorch calls the reference BLAS, whose unblocked sgemm cost a
// fifth of a training step on these small matrices. Each output element is
// summed in a fixed order (ascending inner index) whatever the thread count
// or blocking, so results are reproducible.
#pragma once

#include <cstdint>

namespace kiln::model {

// out[rows, n] = a[rows, k] @ b[k, n]; all row-major.
void MatMul(const float* a, const float* b, int64_t rows, int64_t k, int64_t n, float* out);

// out[k, n] = a[rows, k]^T @ d[rows, n].
void MatMulTransposedLeft(const float* a, const float* d, int64_t rows, int64_t k, int64_t n,
                          float* out);

// out[cols, rows] = m[rows, cols]^T.
void Transpose(const float* m, int64_t rows, int64_t cols, float* out);

// sums[cols] = column sums of m[rows, cols].
void SumColumns(const float* m, int64_t rows, int64_t cols, float* sums);

}  // namespace kiln::model
