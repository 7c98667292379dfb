// MetricsAccumulator on a hand-made example whose figures are worked out
// below, independently of the code.
#include "services/evaluation/metrics.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln::evaluation {
namespace {

using ::testing::ElementsAre;

const std::vector<std::string> kClasses = {"a", "b", "c", "d", "e", "f"};

// Seven posts over six classes. "order" is the ranking with ties broken
// toward the lower class index; "rank" is the true class's place in it.
//
//  post truth probabilities                      order        rank  top-1
//   1    a    .5  .2  .1  .1  .05 .05             a b c d e f   0    a
//   2    a    .1  .3  .3  .1  .1  .1              b c a d e f   2    b
//   3    b    .2  .2  .2  .2  .1  .1              a b c d e f   1    a   (tie with a)
//   4    c    0   0   0   0   0   1               f a b c d e   3    f
//   5    e    .25 .25 .2  .15 .05 .1              a b c d f e   5    a
//   6    c    .1  .1  .6  .1  .05 .05             c a b d e f   0    c
//   7    b    .05 .7  .1  .05 .05 .05             b a c d e f   0    b
const std::vector<float> kProbabilities = {
    .5f,  .2f,  .1f, .1f,  .05f, .05f,  //
    .1f,  .3f,  .3f, .1f,  .1f,  .1f,   //
    .2f,  .2f,  .2f, .2f,  .1f,  .1f,   //
    0,    0,    0,   0,    0,    1,     //
    .25f, .25f, .2f, .15f, .05f, .1f,   //
    .1f,  .1f,  .6f, .1f,  .05f, .05f,  //
    .05f, .7f,  .1f, .05f, .05f, .05f,
};
const std::vector<int32_t> kLabels = {0, 0, 1, 2, 4, 2, 1};

// recall@1: rank < 1 for posts 1, 6, 7             -> 3/7 (= accuracy)
// recall@3: rank < 3 for posts 1, 2, 3, 6, 7       -> 5/7
// recall@5: rank < 5 for all but post 5            -> 6/7
void ExpectTheHandWorkedFigures(const kiln::v1::EvaluationReport& report) {
  EXPECT_EQ(report.post_count(), 7);
  EXPECT_DOUBLE_EQ(report.recall_at_1(), 3.0 / 7);
  EXPECT_DOUBLE_EQ(report.recall_at_3(), 5.0 / 7);
  EXPECT_DOUBLE_EQ(report.recall_at_5(), 6.0 / 7);
  EXPECT_DOUBLE_EQ(report.accuracy(), 3.0 / 7);

  // Rows are true classes, columns the top-1 predictions.
  // clang-format off
  EXPECT_THAT(report.confusion_matrix(), ElementsAre(
      1, 1, 0, 0, 0, 0,    // a: posts 1 (a), 2 (b)
      1, 1, 0, 0, 0, 0,    // b: posts 3 (a), 7 (b)
      0, 0, 1, 0, 0, 1,    // c: posts 6 (c), 4 (f)
      0, 0, 0, 0, 0, 0,    // d: none
      1, 0, 0, 0, 0, 0,    // e: post 5 (a)
      0, 0, 0, 0, 0, 0));  // f: none
  // clang-format on

  // class  true pos.  predicted  support  precision  recall  F1
  //   a        1          3         2        1/3       1/2    2·(1/6)/(5/6) = 2/5
  //   b        1          2         2        1/2       1/2    1/2
  //   c        1          1         2        1         1/2    2·(1/2)/(3/2) = 2/3
  //   d        0          0         0        0         0      0
  //   e        0          0         1        0 (none predicted)  0  0
  //   f        0          1         0        0         0      0
  struct Expected {
    const char* category;
    double precision, recall, f1;
    int64_t support;
  };
  const Expected expected[] = {
      {"a", 1.0 / 3, 0.5, 0.4, 2}, {"b", 0.5, 0.5, 0.5, 2}, {"c", 1, 0.5, 2.0 / 3, 2},
      {"d", 0, 0, 0, 0},           {"e", 0, 0, 0, 1},       {"f", 0, 0, 0, 0},
  };
  ASSERT_EQ(report.classes_size(), 6);
  for (int c = 0; c < 6; ++c) {
    SCOPED_TRACE(expected[c].category);
    const kiln::v1::ClassMetrics& metrics = report.classes(c);
    EXPECT_EQ(metrics.category(), expected[c].category);
    EXPECT_DOUBLE_EQ(metrics.precision(), expected[c].precision);
    EXPECT_DOUBLE_EQ(metrics.recall(), expected[c].recall);
    EXPECT_DOUBLE_EQ(metrics.f1(), expected[c].f1);
    EXPECT_EQ(metrics.support(), expected[c].support);
  }
}

TEST(MetricsAccumulatorTest, HandWorkedExample) {
  MetricsAccumulator metrics(kClasses);
  metrics.Add(kProbabilities, kLabels);
  kiln::v1::EvaluationReport report;
  metrics.Fill(report);
  ExpectTheHandWorkedFigures(report);
}

TEST(MetricsAccumulatorTest, BatchesAddUpToTheWhole) {
  MetricsAccumulator metrics(kClasses);
  const absl::Span<const float> probabilities(kProbabilities);
  const absl::Span<const int32_t> labels(kLabels);
  metrics.Add(probabilities.subspan(0, 2 * 6), labels.subspan(0, 2));
  metrics.Add(probabilities.subspan(2 * 6, 0), labels.subspan(2, 0));
  metrics.Add(probabilities.subspan(2 * 6), labels.subspan(2));
  kiln::v1::EvaluationReport report;
  metrics.Fill(report);
  ExpectTheHandWorkedFigures(report);
}

TEST(MetricsAccumulatorTest, FillReplacesWhatTheReportHeld) {
  MetricsAccumulator metrics(kClasses);
  metrics.Add(kProbabilities, kLabels);
  kiln::v1::EvaluationReport report;
  metrics.Fill(report);
  metrics.Fill(report);
  ExpectTheHandWorkedFigures(report);
}

TEST(MetricsAccumulatorTest, TiesGoToTheLowerClassIndex) {
  // Every class equally likely: the lowest index is the prediction, and the
  // true class's rank is its index.
  MetricsAccumulator metrics({"x", "y", "z", "w"});
  const std::vector<float> uniform(4 * 4, 0.25f);
  metrics.Add(uniform, {0, 1, 2, 3});
  kiln::v1::EvaluationReport report;
  metrics.Fill(report);
  EXPECT_DOUBLE_EQ(report.recall_at_1(), 0.25);  // only x
  EXPECT_DOUBLE_EQ(report.recall_at_3(), 0.75);  // x, y, z
  EXPECT_DOUBLE_EQ(report.recall_at_5(), 1.0);   // fewer than 5 classes
  EXPECT_THAT(report.confusion_matrix(),
              ElementsAre(1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0));
  EXPECT_DOUBLE_EQ(report.classes(0).precision(), 0.25);
  EXPECT_DOUBLE_EQ(report.classes(1).precision(), 0);
}

TEST(MetricsAccumulatorTest, NoPostsGivesZeroesNotNaN) {
  MetricsAccumulator metrics({"x", "y"});
  kiln::v1::EvaluationReport report;
  metrics.Fill(report);
  EXPECT_EQ(report.post_count(), 0);
  EXPECT_EQ(report.recall_at_1(), 0);
  EXPECT_EQ(report.accuracy(), 0);
  ASSERT_EQ(report.classes_size(), 2);
  EXPECT_EQ(report.classes(0).f1(), 0);
  EXPECT_THAT(report.confusion_matrix(), ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace kiln::evaluation
