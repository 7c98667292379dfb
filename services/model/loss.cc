#include "services/model/loss.h"

#include <algorithm>
#include <cmath>

namespace kiln::model {

LossSums SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int64_t rows, int classes,
                             float gradient_scale, float* logits_gradient) {
  LossSums sums;
  for (int64_t r = 0; r < rows; ++r) {
    const float* z = logits + r * classes;
    float* dz = logits_gradient + r * classes;
    const int best = static_cast<int>(std::max_element(z, z + classes) - z);
    // log-sum-exp shifted by the maximum, so no exp overflows.
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) sum += std::exp(z[c] - z[best]);
    const float log_sum_exp = z[best] + std::log(sum);
    const int label = labels[r];
    sums.loss += log_sum_exp - z[label];
    if (best == label) ++sums.correct;
    for (int c = 0; c < classes; ++c) {
      const float probability = std::exp(z[c] - log_sum_exp);
      dz[c] = (c == label ? probability - 1.0f : probability) * gradient_scale;
    }
  }
  return sums;
}

void SoftmaxRows(float* logits, int64_t rows, int classes) {
  for (int64_t r = 0; r < rows; ++r) {
    float* z = logits + r * classes;
    const float max = *std::max_element(z, z + classes);
    float sum = 0.0f;
    for (int c = 0; c < classes; ++c) {
      z[c] = std::exp(z[c] - max);
      sum += z[c];
    }
    for (int c = 0; c < classes; ++c) z[c] /= sum;
  }
}

}  // namespace kiln::model
