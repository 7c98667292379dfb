// A sweep's grid: fields found by reflection, values parsed by type, the
// combinations chosen, and every kind of bad grid refused by name.
#include "services/training/sweep_grid.h"

#include <set>

#include "gtest/gtest.h"

namespace kiln::training {
namespace {

kiln::v1::SweepPlan Plan(std::vector<std::pair<std::string, std::vector<std::string>>> axes) {
  kiln::v1::SweepPlan plan;
  plan.mutable_base_spec()->set_model("news");
  plan.mutable_base_spec()->set_epochs(3);
  for (auto& [field, values] : axes) {
    kiln::v1::GridAxis* axis = plan.add_grid();
    axis->set_field(field);
    for (auto& value : values) axis->add_values(value);
  }
  return plan;
}

// The error's message, or "" when the plan expands.
std::string Error(const kiln::v1::SweepPlan& plan) {
  absl::StatusOr<std::vector<SweepCombination>> expanded = ExpandSweep(plan);
  if (expanded.ok()) return "";
  EXPECT_EQ(expanded.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(expanded.status().message());
}

TEST(SweepGridTest, CartesianProductWithTheFirstAxisSlowest) {
  auto expanded = ExpandSweep(Plan({{"learning_rate", {"1e-3", "0.005"}},
                                    {"hidden_units", {"64", "128", "256"}}}));
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  ASSERT_EQ(expanded->size(), 6u);
  const double rates[] = {1e-3, 1e-3, 1e-3, 5e-3, 5e-3, 5e-3};
  const int units[] = {64, 128, 256, 64, 128, 256};
  for (size_t i = 0; i < 6; ++i) {
    const auto& combination = (*expanded)[i];
    EXPECT_DOUBLE_EQ(combination.spec.learning_rate(), rates[i]);
    EXPECT_EQ(combination.spec.hidden_units(), units[i]);
    // The base spec's other fields stay.
    EXPECT_EQ(combination.spec.model(), "news");
    EXPECT_EQ(combination.spec.epochs(), 3);
  }
  EXPECT_EQ((*expanded)[0].values, (std::vector<std::string>{"1e-3", "64"}));
  EXPECT_EQ((*expanded)[5].values, (std::vector<std::string>{"0.005", "256"}));
}

TEST(SweepGridTest, SetsEveryKindOfScalarThroughReflection) {
  auto expanded = ExpandSweep(Plan({{"architecture", {"article"}},
                                    {"weight_encoding", {"WEIGHT_ENCODING_UINT8"}},
                                    {"seed", {"18446744073709551615"}},
                                    {"validationFraction", {"0"}},
                                    {"early_stopping_patience", {"0"}},
                                    {"dropout", {" 0.25 "}},
                                    {"vocabulary.min_count", {"5"}},
                                    {"description", {"swept"}}}));
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  ASSERT_EQ(expanded->size(), 1u);
  const kiln::v1::JobSpec& spec = (*expanded)[0].spec;
  EXPECT_EQ(spec.architecture(), kiln::v1::ARCHITECTURE_ARTICLE);
  EXPECT_EQ(spec.weight_encoding(), kiln::v1::WEIGHT_ENCODING_UINT8);
  EXPECT_EQ(spec.seed(), UINT64_MAX);
  // Optional fields set to zero are set, not left to their defaults.
  ASSERT_TRUE(spec.has_validation_fraction());
  EXPECT_EQ(spec.validation_fraction(), 0);
  ASSERT_TRUE(spec.has_early_stopping_patience());
  EXPECT_EQ(spec.early_stopping_patience(), 0);
  EXPECT_DOUBLE_EQ(spec.dropout(), 0.25);
  EXPECT_EQ(spec.vocabulary().min_count(), 5);
  EXPECT_EQ(spec.description(), "swept");
  // Values are kept as written, less surrounding spaces.
  EXPECT_EQ((*expanded)[0].values[5], "0.25");
}

TEST(SweepGridTest, EnumsTakeShortNamesInAnyCase) {
  auto expanded = ExpandSweep(Plan({{"architecture", {"TfIdf", "ARCHITECTURE_ARTICLE"}}}));
  ASSERT_TRUE(expanded.ok()) << expanded.status();
  EXPECT_EQ((*expanded)[0].spec.architecture(), kiln::v1::ARCHITECTURE_TFIDF);
  EXPECT_EQ((*expanded)[1].spec.architecture(), kiln::v1::ARCHITECTURE_ARTICLE);
}

TEST(SweepGridTest, RefusesUnknownAndNonScalarFields) {
  std::string error = Error(Plan({{"learning_rat", {"0.1"}}}));
  EXPECT_NE(error.find("grid field \"learning_rat\" is not a JobSpec field"), std::string::npos)
      << error;
  EXPECT_NE(error.find("learning_rate"), std::string::npos) << "lists the fields: " << error;
  error = Error(Plan({{"topics", {"sci.med"}}}));
  EXPECT_NE(error.find("\"topics\" is a list"), std::string::npos) << error;
  error = Error(Plan({{"vocabulary", {"2"}}}));
  EXPECT_NE(error.find("\"vocabulary\" is a message"), std::string::npos) << error;
  EXPECT_NE(error.find("vocabulary.min_count"), std::string::npos) << error;
  error = Error(Plan({{"epochs.value", {"2"}}}));
  EXPECT_NE(error.find("epochs has no fields"), std::string::npos) << error;
  error = Error(Plan({{"vocabulary.nope", {"2"}}}));
  EXPECT_NE(error.find("\"vocabulary.nope\" is not a JobSpec field"), std::string::npos) << error;
  EXPECT_NE(Error(Plan({{"", {"2"}}})).find("no field name"), std::string::npos);
}

TEST(SweepGridTest, RefusesValuesTheFieldsTypeDoesNotTake) {
  const std::pair<std::string, std::string> cases[] = {
      {"epochs", "1.5"},         {"epochs", "3000000000"}, {"seed", "-1"},
      {"learning_rate", "fast"}, {"learning_rate", "nan"}, {"learning_rate", "inf"},
      {"architecture", "cnn"},   {"architecture", "unspecified"}, {"epochs", " "},
  };
  for (const auto& [field, value] : cases) {
    const std::string error = Error(Plan({{field, {value}}}));
    EXPECT_EQ(error.rfind("grid field " + field + ":", 0), 0u) << field << "=" << value << ": "
                                                               << error;
  }
  EXPECT_NE(Error(Plan({{"architecture", {"cnn"}}})).find("is not one of article, tfidf"),
            std::string::npos);
  EXPECT_NE(Error(Plan({{"epochs", {"1.5"}}})).find("\"1.5\" is not a 32-bit integer"),
            std::string::npos);
}

TEST(SweepGridTest, RefusesRepeatsAndEmptiness) {
  EXPECT_NE(Error(Plan({})).find("grid: no axes"), std::string::npos);
  EXPECT_NE(Error(Plan({{"epochs", {}}})).find("grid field epochs has no values"),
            std::string::npos);
  // The same field by its two names.
  EXPECT_NE(Error(Plan({{"learning_rate", {"0.1"}}, {"learningRate", {"0.2"}}}))
                .find("grid field learningRate is given twice"),
            std::string::npos);
  // The same value written two ways.
  EXPECT_NE(Error(Plan({{"learning_rate", {"0.001", "1e-3"}}})).find("lists \"1e-3\" twice"),
            std::string::npos);
  kiln::v1::SweepPlan named = Plan({{"epochs", {"1"}}});
  named.set_name(std::string(129, 'n'));
  EXPECT_NE(Error(named).find("name must be"), std::string::npos);
}

TEST(SweepGridTest, CapsTheJobsOfOneSweep) {
  std::vector<std::string> values;
  for (int i = 1; i <= 17; ++i) values.push_back(std::to_string(i));
  // 17 × 17 = 289 combinations: too many to run them all.
  const kiln::v1::SweepPlan big = Plan({{"epochs", values}, {"hidden_units", values}});
  const std::string error = Error(big);
  EXPECT_NE(error.find("grid has 289 combinations, over the 256 jobs"), std::string::npos)
      << error;
  kiln::v1::SweepPlan drawn = big;
  drawn.set_random_count(257);
  EXPECT_NE(Error(drawn).find("random_count is 257; allowed: 0..256"), std::string::npos);
  drawn.set_random_count(-1);
  EXPECT_NE(Error(drawn).find("random_count is -1"), std::string::npos);
  drawn.set_random_count(10);
  EXPECT_EQ(Error(drawn), "");

  kiln::v1::SweepPlan small = Plan({{"epochs", {"1", "2"}}});
  small.set_random_count(3);
  EXPECT_NE(Error(small).find("random_count 3 is more than the grid's 2 combinations"),
            std::string::npos);

  // 16 axes of 256 values: more combinations than a 64-bit count holds.
  std::vector<std::string> many;
  for (int i = 1; i <= 256; ++i) many.push_back(std::to_string(i));
  kiln::v1::SweepPlan huge;
  const char* fields[] = {"max_length", "embedding_dim", "hidden_units", "epochs",
                          "batch_size", "seed", "world_size", "max_attempts",
                          "early_stopping_patience", "vocabulary.min_count",
                          "vocabulary.max_size", "learning_rate", "dropout",
                          "validation_fraction", "description", "model"};
  for (const char* field : fields) {
    auto* axis = huge.add_grid();
    axis->set_field(field);
    for (const auto& value : many) axis->add_values(value);
  }
  EXPECT_NE(Error(huge).find("over 2^62 combinations"), std::string::npos) << Error(huge);
  huge.set_random_count(5);
  EXPECT_NE(Error(huge).find("over 2^62 combinations"), std::string::npos);
  huge.add_grid()->set_field("pooling");
  EXPECT_NE(Error(huge).find("grid has 17 axes; allowed: 1..16"), std::string::npos);
}

TEST(SweepGridTest, RandomDrawsAreDistinctSeededAndInGridOrder) {
  std::vector<std::string> values;
  for (int i = 1; i <= 10; ++i) values.push_back(std::to_string(i));
  kiln::v1::SweepPlan plan = Plan({{"epochs", values}, {"hidden_units", values}});
  plan.set_random_count(20);
  plan.set_random_seed(7);
  auto first = ExpandSweep(plan);
  auto again = ExpandSweep(plan);
  ASSERT_TRUE(first.ok() && again.ok());
  ASSERT_EQ(first->size(), 20u);
  std::set<std::pair<int, int>> seen;
  std::vector<std::pair<int, int>> order;
  for (size_t i = 0; i < first->size(); ++i) {
    const auto& spec = (*first)[i].spec;
    order.emplace_back(spec.epochs(), spec.hidden_units());
    EXPECT_TRUE(seen.insert(order.back()).second) << "drawn twice";
    EXPECT_EQ(spec.epochs(), (*again)[i].spec.epochs());
    EXPECT_EQ(spec.hidden_units(), (*again)[i].spec.hidden_units());
  }
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));

  plan.set_random_seed(8);
  auto other = ExpandSweep(plan);
  ASSERT_TRUE(other.ok());
  std::vector<std::pair<int, int>> other_order;
  for (const auto& combination : *other) {
    other_order.emplace_back(combination.spec.epochs(), combination.spec.hidden_units());
  }
  EXPECT_NE(order, other_order) << "another seed draws other combinations";

  // Drawing them all gives the whole grid.
  plan.set_random_count(100);
  auto all = ExpandSweep(plan);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100u);
}

TEST(SweepGridTest, DescribesACombination) {
  const kiln::v1::SweepPlan plan = Plan({{"learning_rate", {"1e-3"}}, {"hidden_units", {"64"}}});
  EXPECT_EQ(DescribeCombination(plan, {"1e-3", "64"}), "learning_rate=1e-3, hidden_units=64");
}

}  // namespace
}  // namespace kiln::training
