// Sparse categorical cross-entropy on logits (log-softmax + NLL), and the
// softmax that inference reports.
#pragma once

#include <cstdint>

namespace kiln::model {

struct LossSums {
  double loss = 0;      // summed over the rows
  int64_t correct = 0;  // rows whose highest logit is the label's
};

// For `rows` rows of `classes` logits: the summed loss and hits, and in
// `logits_gradient` d(loss sum * gradient_scale)/d(logits), i.e.
// (softmax - one_hot(label)) * gradient_scale. Labels must be in range.
LossSums SoftmaxCrossEntropy(const float* logits, const int32_t* labels, int64_t rows, int classes,
                             float gradient_scale, float* logits_gradient);

// Row-wise softmax of `rows` x `classes` logits, in place.
void SoftmaxRows(float* logits, int64_t rows, int classes);

}  // namespace kiln::model
