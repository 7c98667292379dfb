// Adam as torch.optim.Adam computes it (betas 0.9/0.999, eps 1e-8, no weight
// decay): per-step scalars in double, element updates in float. One change:
// where torch divides sqrt(v) by sqrt(1 - beta2^t), this multiplies by the
// inverse: one division less per element, at most an ulp of difference.
//
// The embedding's update is lazy but exact. A row absent from a step's
// gradient is still due that step's zero-gradient update (its moments decay
// and, while they are non-zero, the row keeps moving), so skipping it would
// change the training; RowAdam instead replays those skipped steps the next
// time the row is touched, or when every row is brought up to date at the
// end of an epoch. The result is dense Adam's, while each row is updated
// in one pass with its moments in cache instead of streaming the whole
// table through memory every step. Rows never touched have zero moments,
// for which Adam's update is exactly zero, and are skipped outright.
#pragma once

#include <cstdint>
#include <vector>

#include "services/model/sparse_rows.h"

namespace kiln::model {

struct AdamOptions {
  float learning_rate = 5e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float epsilon = 1e-8f;
};

// What step t of Adam needs beyond the moments, as torch derives it.
struct AdamStepScalars {
  float negative_step_size = 0;        // -lr / (1 - beta1^t)
  float inverse_correction2_sqrt = 0;  // 1 / sqrt(1 - beta2^t)
};

// The scalars of every step so far, computed once each.
class AdamSchedule {
 public:
  explicit AdamSchedule(const AdamOptions& options) : options_(options) {}

  // Makes steps 1..step available to At; call before parallel readers.
  void Extend(int64_t step);
  const AdamStepScalars& At(int64_t step) const { return scalars_[step - 1]; }
  const AdamOptions& options() const { return options_; }

 private:
  AdamOptions options_;
  std::vector<AdamStepScalars> scalars_;
};

// Adam over one flat buffer (the dense layers).
class DenseAdam {
 public:
  explicit DenseAdam(int64_t size) : first_moment_(size), second_moment_(size) {}

  // Applies step `step` (1-based; the schedule must reach it).
  void Step(const AdamSchedule& schedule, int64_t step, const float* gradient, float* params);

  std::vector<float>& first_moment() { return first_moment_; }
  std::vector<float>& second_moment() { return second_moment_; }
  const std::vector<float>& first_moment() const { return first_moment_; }
  const std::vector<float>& second_moment() const { return second_moment_; }

 private:
  std::vector<float> first_moment_;
  std::vector<float> second_moment_;
};

// Adam over the rows of a [rows, width] table, lazy but exact (see above).
class RowAdam {
 public:
  RowAdam(int64_t rows, int width);

  // Applies step `step` with the given row gradients; rows not in
  // `gradient` stay behind until touched or CatchUpAll.
  void Step(const AdamSchedule& schedule, int64_t step, const SparseRows& gradient, float* table);
  // Brings every row to `step`: after it the table and moments are exactly
  // those of dense Adam after `step` steps.
  void CatchUpAll(const AdamSchedule& schedule, int64_t step, float* table);

  // Moments; valid as dense Adam's only right after CatchUpAll.
  const std::vector<float>& first_moment() const { return first_moment_; }
  const std::vector<float>& second_moment() const { return second_moment_; }
  // Replaces the moments with those of a table that is up to date at `step`.
  void Restore(std::vector<float> first_moment, std::vector<float> second_moment, int64_t step);

 private:
  void CatchUpRow(const AdamSchedule& schedule, int64_t row, int64_t step, float* table);

  int width_;
  std::vector<float> first_moment_;
  std::vector<float> second_moment_;
  // The step each row's values and moments are at; kNeverTouched while its
  // moments are all zero.
  std::vector<int64_t> row_step_;
};

}  // namespace kiln::model
