#include "services/model/adam.h"

#include <cmath>
#include <utility>

#if defined(__SSE__)
#include <xmmintrin.h>
#endif

#include "services/model/parallel.h"

namespace kiln::model {
namespace {

constexpr int64_t kNeverTouched = -1;

// A row absent from many steps replays them with a zero gradient, and its
// moments decay geometrically through the subnormal range, where x86 cores
// that lack fast subnormal arithmetic take ~100 times longer per operation
// (measured: a tfidf job's epochs slowing from 0.3 s to 2 s as more rows
// decay). Flushing subnormals to zero for the replay changes updates of
// magnitude below 1e-30 only. Restores the caller's mode on exit.
class FlushSubnormals {
 public:
#if defined(__SSE__)
  FlushSubnormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushSubnormals() { _mm_setcsr(saved_); }

 private:
  static constexpr unsigned kFlushToZero = 0x8000;
  static constexpr unsigned kDenormalsAreZero = 0x0040;
  const unsigned saved_;
#endif
};

// One Adam step over `count` elements, in torch's order of operations:
//   m = m*beta1 + (1-beta1)*g;  v = v*beta2 + (1-beta2)*g*g
//   p = p + (-step_size*m) / (sqrt(v) * (1/sqrt(1-beta2^t)) + eps)
// A null `gradient` means zero, the replay of a step a row was absent from.
inline void AdamUpdate(const AdamOptions& options, const AdamStepScalars& scalars,
                       const float* gradient, int64_t count, float* params, float* m, float* v) {
  const float beta1 = options.beta1;
  const float beta2 = options.beta2;
  const float epsilon = options.epsilon;
  const float negative_step_size = scalars.negative_step_size;
  const float correction = scalars.inverse_correction2_sqrt;
  if (gradient == nullptr) {
    for (int64_t i = 0; i < count; ++i) {
      m[i] *= beta1;
      v[i] *= beta2;
      params[i] += negative_step_size * m[i] / (std::sqrt(v[i]) * correction + epsilon);
    }
    return;
  }
  const float one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
  const float one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
  for (int64_t i = 0; i < count; ++i) {
    const float g = gradient[i];
    m[i] = m[i] * beta1 + one_minus_beta1 * g;
    v[i] = v[i] * beta2 + one_minus_beta2 * g * g;
    params[i] += negative_step_size * m[i] / (std::sqrt(v[i]) * correction + epsilon);
  }
}

}  // namespace

void AdamSchedule::Extend(int64_t step) {
  while (static_cast<int64_t>(scalars_.size()) < step) {
    const double t = static_cast<double>(scalars_.size() + 1);
    const double correction1 = 1.0 - std::pow(static_cast<double>(options_.beta1), t);
    const double correction2 = 1.0 - std::pow(static_cast<double>(options_.beta2), t);
    scalars_.push_back({static_cast<float>(-options_.learning_rate / correction1),
                        static_cast<float>(1.0 / std::sqrt(correction2))});
  }
}

void DenseAdam::Step(const AdamSchedule& schedule, int64_t step, const float* gradient,
                     float* params) {
  AdamUpdate(schedule.options(), schedule.At(step), gradient,
             static_cast<int64_t>(first_moment_.size()), params, first_moment_.data(),
             second_moment_.data());
}

RowAdam::RowAdam(int64_t rows, int width)
    : width_(width),
      first_moment_(static_cast<size_t>(rows) * width),
      second_moment_(static_cast<size_t>(rows) * width),
      row_step_(static_cast<size_t>(rows), kNeverTouched) {}

void RowAdam::CatchUpRow(const AdamSchedule& schedule, int64_t row, int64_t step, float* table) {
  int64_t& row_step = row_step_[row];
  // Zero moments: every replayed update is exactly zero.
  if (row_step == kNeverTouched) return;
  const int64_t offset = row * width_;
  for (int64_t t = row_step + 1; t <= step; ++t) {
    AdamUpdate(schedule.options(), schedule.At(t), nullptr, width_, table + offset,
               first_moment_.data() + offset, second_moment_.data() + offset);
  }
  row_step = step;
}

void RowAdam::Step(const AdamSchedule& schedule, int64_t step, const SparseRows& gradient,
                   float* table) {
  const std::vector<int32_t>& ids = gradient.ids();
  ParallelFor(0, static_cast<int64_t>(ids.size()), 64, [&](int64_t begin, int64_t end) {
    const FlushSubnormals flush;
    for (int64_t i = begin; i < end; ++i) {
      const int64_t row = ids[i];
      CatchUpRow(schedule, row, step - 1, table);
      const int64_t offset = row * width_;
      AdamUpdate(schedule.options(), schedule.At(step), gradient.values() + i * width_, width_,
                 table + offset, first_moment_.data() + offset, second_moment_.data() + offset);
      row_step_[row] = step;
    }
  });
}

void RowAdam::CatchUpAll(const AdamSchedule& schedule, int64_t step, float* table) {
  ParallelFor(0, static_cast<int64_t>(row_step_.size()), 256, [&](int64_t begin, int64_t end) {
    const FlushSubnormals flush;
    for (int64_t row = begin; row < end; ++row) CatchUpRow(schedule, row, step, table);
  });
}

void RowAdam::Restore(std::vector<float> first_moment, std::vector<float> second_moment,
                      int64_t step) {
  first_moment_ = std::move(first_moment);
  second_moment_ = std::move(second_moment);
  for (size_t row = 0; row < row_step_.size(); ++row) {
    bool touched = false;
    for (int d = 0; d < width_ && !touched; ++d) {
      const size_t i = row * width_ + d;
      touched = first_moment_[i] != 0.0f || second_moment_[i] != 0.0f;
    }
    row_step_[row] = touched ? step : kNeverTouched;
  }
}

}  // namespace kiln::model
