// The lazy row-wise Adam against plain dense Adam: bit for bit the same
// table and moments once the rows have caught up.
#include "services/model/adam.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"
#include "services/model/random.h"

namespace kiln::model {
namespace {

TEST(AdamTest, LazyRowsEqualDenseAdam) {
  constexpr int kRows = 40;
  constexpr int kWidth = 5;
  constexpr int kSteps = 30;
  Random random(11);
  std::vector<float> lazy_table(kRows * kWidth);
  for (float& value : lazy_table) value = random.Normal();
  std::vector<float> dense_table = lazy_table;

  AdamSchedule schedule(AdamOptions{0.01f});
  RowAdam lazy(kRows, kWidth);
  DenseAdam dense(kRows * kWidth);
  SparseRows gradient;
  for (int step = 1; step <= kSteps; ++step) {
    // A few random rows per step; rows 30.. are never touched at all.
    gradient.Reset(kRows, kWidth);
    std::vector<float> dense_gradient(kRows * kWidth, 0.0f);
    for (int k = 0; k < 4; ++k) {
      const int32_t row = static_cast<int32_t>(random.Below(30));
      float* values = gradient.Row(row);
      for (int d = 0; d < kWidth; ++d) {
        const float g = random.Normal();
        values[d] += g;
        dense_gradient[row * kWidth + d] += g;
      }
    }
    schedule.Extend(step);
    lazy.Step(schedule, step, gradient, lazy_table.data());
    dense.Step(schedule, step, dense_gradient.data(), dense_table.data());
    if (step == kSteps / 2) {
      // Mid-way a row that lags behind differs: the catch-up is deferred.
      lazy.CatchUpAll(schedule, step, lazy_table.data());
      EXPECT_EQ(lazy_table, dense_table);
    }
  }
  lazy.CatchUpAll(schedule, kSteps, lazy_table.data());
  EXPECT_EQ(lazy_table, dense_table);
  EXPECT_EQ(lazy.first_moment(), dense.first_moment());
  EXPECT_EQ(lazy.second_moment(), dense.second_moment());
}

TEST(AdamTest, FirstStepMovesEachWeightByTheLearningRate) {
  // With bias correction, Adam's first step is lr * g / (|g| + eps').
  AdamSchedule schedule(AdamOptions{0.5f});
  schedule.Extend(1);
  DenseAdam adam(2);
  std::vector<float> params = {1.0f, 1.0f};
  const std::vector<float> gradient = {3.0f, -0.25f};
  adam.Step(schedule, 1, gradient.data(), params.data());
  EXPECT_NEAR(params[0], 0.5f, 1e-6);
  EXPECT_NEAR(params[1], 1.5f, 1e-6);
}

}  // namespace
}  // namespace kiln::model
