// What the CLI prints about sweeps and comparisons, checked without a
// stack: the --grid flag, the ranking of a sweep's jobs and its winner, the
// table, and the field-by-field differences of two specs.
#include "gtest/gtest.h"
#include "clients/cli/spec_diff.h"
#include "clients/cli/sweep_table.h"

namespace kiln::cli {
namespace {

struct JobFigures {
  std::string id;
  kiln::v1::JobState state = kiln::v1::JOB_STATE_SUCCEEDED;
  // < 0: the figure is missing.
  double validation_recall = -1;
  double test_recall = -1;
  int64_t version = 0;
};

kiln::v1::GetSweepResponse Sweep(const std::vector<JobFigures>& jobs) {
  kiln::v1::GetSweepResponse sweep;
  sweep.mutable_sweep()->set_id("sweep-000003");
  auto* axis = sweep.mutable_sweep()->mutable_plan()->add_grid();
  axis->set_field("epochs");
  for (const JobFigures& figures : jobs) {
    kiln::v1::Job* job = sweep.add_jobs();
    job->set_id(figures.id);
    job->set_state(figures.state);
    job->mutable_spec()->set_epochs(2);
    job->set_epochs_done(2);
    if (figures.validation_recall >= 0) {
      job->mutable_best_epoch()->set_epoch(1);
      job->mutable_best_epoch()->set_validation_examples(100);
      job->mutable_best_epoch()->set_validation_loss(0.25);
      job->mutable_best_epoch()->set_validation_recall_at_1(figures.validation_recall);
    }
    if (figures.test_recall >= 0) {
      (*job->mutable_result()->mutable_metrics())["recall@1"] = figures.test_recall;
    }
    if (figures.version > 0) {
      job->mutable_result()->set_model("swept");
      job->mutable_result()->set_version(figures.version);
    }
    auto* trial = sweep.mutable_sweep()->add_trials();
    trial->set_job_id(figures.id);
    trial->add_values(std::to_string(sweep.jobs_size()));
  }
  return sweep;
}

std::vector<std::string> Ids(const kiln::v1::GetSweepResponse& sweep,
                             const std::vector<int>& ranking) {
  std::vector<std::string> ids;
  for (int position : ranking) ids.push_back(sweep.jobs(position).id());
  return ids;
}

TEST(GridFlagTest, SplitsFieldAndValues) {
  auto axis = ParseGridFlag("learning_rate = 1e-3, 5e-3");
  ASSERT_TRUE(axis.ok()) << axis.status();
  EXPECT_EQ(axis->field(), "learning_rate");
  ASSERT_EQ(axis->values_size(), 2);
  EXPECT_EQ(axis->values(0), "1e-3");
  EXPECT_EQ(axis->values(1), "5e-3");
  EXPECT_FALSE(ParseGridFlag("learning_rate").ok());
  EXPECT_FALSE(ParseGridFlag("=1,2").ok());
  EXPECT_NE(ParseGridFlag("epochs").status().message().find("FIELD=VALUE"), std::string::npos);
}

TEST(SweepRankingTest, ValidationRecallFirstThenTestRecallThenId) {
  const auto sweep = Sweep({{"job-000005", kiln::v1::JOB_STATE_SUCCEEDED, 0.90, 0.80, 5},
                            {"job-000004", kiln::v1::JOB_STATE_SUCCEEDED, 0.95, 0.70, 4},
                            {"job-000003", kiln::v1::JOB_STATE_SUCCEEDED, 0.90, 0.85, 3},
                            {"job-000002", kiln::v1::JOB_STATE_SUCCEEDED, 0.90, 0.85, 2}});
  EXPECT_EQ(Ids(sweep, RankSweepJobs(sweep)),
            (std::vector<std::string>{"job-000004", "job-000002", "job-000003", "job-000005"}));
}

TEST(SweepRankingTest, WithoutValidationFiguresTheTestRecallDecides) {
  // Until validation figures arrive, best_epoch is unset or holds zeros.
  auto sweep = Sweep({{"job-000001", kiln::v1::JOB_STATE_SUCCEEDED, -1, 0.80, 1},
                      {"job-000002", kiln::v1::JOB_STATE_SUCCEEDED, -1, 0.88, 2},
                      {"job-000003", kiln::v1::JOB_STATE_RUNNING, -1, -1, 0},
                      {"job-000004", kiln::v1::JOB_STATE_SUCCEEDED, -1, 0.84, 3}});
  sweep.mutable_jobs(0)->mutable_best_epoch()->set_epoch(2);  // no validation examples
  const std::vector<int> ranking = RankSweepJobs(sweep);
  EXPECT_EQ(Ids(sweep, ranking),
            (std::vector<std::string>{"job-000002", "job-000004", "job-000001", "job-000003"}));
  EXPECT_EQ(sweep.jobs(BestSweepJob(sweep, ranking)).id(), "job-000002");
}

TEST(SweepRankingTest, TheWinnerSucceededAndPublished) {
  const auto sweep = Sweep({{"job-000001", kiln::v1::JOB_STATE_FAILED, 0.99, -1, 0},
                            {"job-000002", kiln::v1::JOB_STATE_SUCCEEDED, 0.97, 0.9, 0},
                            {"job-000003", kiln::v1::JOB_STATE_SUCCEEDED, 0.90, 0.9, 7}});
  EXPECT_EQ(sweep.jobs(BestSweepJob(sweep, RankSweepJobs(sweep))).id(), "job-000003");
  const auto none = Sweep({{"job-000001", kiln::v1::JOB_STATE_CANCELLED, -1, -1, 0}});
  EXPECT_EQ(BestSweepJob(none, RankSweepJobs(none)), -1);
}

TEST(SweepTableTest, ShowsEveryColumnAndDashesForWhatIsMissing) {
  auto sweep = Sweep({{"job-000001", kiln::v1::JOB_STATE_RUNNING, -1, -1, 0},
                      {"job-000002", kiln::v1::JOB_STATE_SUCCEEDED, 0.9, 0.8812, 2}});
  sweep.mutable_sweep()->set_jobs_ended(1);
  sweep.mutable_sweep()->set_jobs_succeeded(1);
  const std::string table = SweepTable(sweep, RankSweepJobs(sweep));
  EXPECT_NE(table.find("sweep-000003: 1 of 2 jobs ended, 1 succeeded\n"), std::string::npos)
      << table;
  EXPECT_NE(table.find("JOB         epochs  STATE      EPOCHS  BEST  VAL LOSS  VAL R@1  "
                       "TEST R@1  VERSION\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("job-000002  2       succeeded  2/2     1     0.2500    0.9000   0.8812  "
                       "  swept:2\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("job-000001  1       running    2/2     -     -         -        -"
                       "         -\n"),
            std::string::npos)
      << table;
}

TEST(SpecDiffTest, NamesEachDifferingFieldWithBothValues) {
  kiln::v1::JobSpec a;
  a.set_model("news");
  a.set_epochs(15);
  a.set_learning_rate(0.005);
  a.add_topics("sci.med");
  a.add_topics("sci.space");
  a.mutable_vocabulary()->set_min_count(2);
  auto* years = a.add_train_years();
  years->set_first(1922);
  years->set_last(1953);
  kiln::v1::JobSpec b = a;
  EXPECT_TRUE(DiffMessages(a, b).empty());

  b.set_epochs(2);
  b.set_learning_rate(0.0050000001);
  b.add_topics("rec.autos");
  b.mutable_vocabulary()->set_min_count(5);
  b.mutable_train_years(0)->set_last(1950);
  b.set_architecture(kiln::v1::ARCHITECTURE_ARTICLE);
  b.set_dropout(0.25);
  const std::vector<FieldDifference> differences = DiffMessages(a, b);
  std::vector<std::string> rendered;
  for (const auto& d : differences) rendered.push_back(d.field + ": " + d.a + " | " + d.b);
  EXPECT_EQ(rendered,
            (std::vector<std::string>{
                "topics: [\"sci.med\", \"sci.space\"] | "
                "[\"sci.med\", \"sci.space\", \"rec.autos\"]",
                "train_years: [{first: 1922 last: 1953}] | [{first: 1922 last: 1950}]",
                "vocabulary.min_count: 2 | 5",
                "epochs: 15 | 2",
                // Printed so that they read back exactly: no rounding hides a change.
                "learning_rate: 0.005 | 0.0050000001",
                "architecture: ARCHITECTURE_UNSPECIFIED | ARCHITECTURE_ARTICLE",
                // An optional field left unset reads "-".
                "dropout: - | 0.25",
            }));
}

}  // namespace
}  // namespace kiln::cli
