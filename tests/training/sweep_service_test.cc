// SweepService over real gRPC on loopback with a real PostgreSQL, served
// beside the TrainingService as kiln-training serves it: a sweep's jobs are
// ordinary queued jobs, a bad grid or spec stores nothing.
#include <grpcpp/grpcpp.h>

#include <pqxx/pqxx>

#include "gtest/gtest.h"
#include "services/common/client.h"
#include "tests/training/training_service_fixture.h"

namespace kiln::training {
namespace {

using kiln::testing::kReaderToken;
using kiln::testing::kWriterToken;

class SweepServiceTest : public TrainingServiceFixture {
 protected:
  void SetUp() override {
    TrainingServiceOptions options;
    options.default_max_attempts = 2;
    SetUpService(LeaseSettings{}, options);
  }

  static kiln::v1::SweepPlan Plan(
      std::vector<std::pair<std::string, std::vector<std::string>>> axes) {
    kiln::v1::SweepPlan plan;
    plan.set_name("rates");
    plan.mutable_base_spec()->set_model("swept");
    plan.mutable_base_spec()->set_epochs(2);
    for (auto& [field, values] : axes) {
      kiln::v1::GridAxis* axis = plan.add_grid();
      axis->set_field(field);
      for (auto& value : values) axis->add_values(value);
    }
    return plan;
  }

  grpc::Status Create(const kiln::v1::SweepPlan& plan, kiln::v1::Sweep* sweep,
                      const std::string& token = kWriterToken) {
    kiln::v1::CreateSweepRequest request;
    *request.mutable_plan() = plan;
    return sweep_stub_->CreateSweep(Context(token).get(), request, sweep);
  }

  kiln::v1::GetSweepResponse Get(const std::string& id) {
    kiln::v1::GetSweepRequest request;
    request.set_id(id);
    kiln::v1::GetSweepResponse response;
    grpc::Status status = sweep_stub_->GetSweep(Context(kReaderToken).get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response;
  }

  // Rows of the training schema, read past the services.
  int64_t Count(const std::string& table) {
    pqxx::connection connection(database_uri());
    return pqxx::nontransaction(connection)
        .exec1("SELECT count(*) FROM training." + table)[0]
        .as<int64_t>();
  }
};

TEST_F(SweepServiceTest, CreateQueuesOneCompleteJobPerCombination) {
  kiln::v1::Sweep sweep;
  grpc::Status status =
      Create(Plan({{"learning_rate", {"1e-3", "5e-3"}}, {"hidden_units", {"32", "64"}}}), &sweep);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(sweep.id(), "sweep-000001");
  EXPECT_GT(sweep.created_at().seconds(), 0);
  EXPECT_EQ(sweep.plan().name(), "rates");
  ASSERT_EQ(sweep.trials_size(), 4);
  EXPECT_EQ(sweep.jobs_ended(), 0);
  EXPECT_EQ(Count("jobs"), 4);
  EXPECT_EQ(Count("sweep_jobs"), 4);

  const kiln::v1::GetSweepResponse got = Get(sweep.id());
  EXPECT_EQ(got.sweep().id(), sweep.id());
  EXPECT_EQ(got.sweep().plan().base_spec().model(), "swept");
  EXPECT_EQ(got.sweep().plan().grid(1).field(), "hidden_units");
  ASSERT_EQ(got.jobs_size(), 4);
  const double rates[] = {1e-3, 1e-3, 5e-3, 5e-3};
  const int units[] = {32, 64, 32, 64};
  for (int i = 0; i < 4; ++i) {
    const kiln::v1::Job& job = got.jobs(i);
    EXPECT_EQ(job.id(), got.sweep().trials(i).job_id());
    EXPECT_EQ(job.state(), kiln::v1::JOB_STATE_QUEUED);
    EXPECT_DOUBLE_EQ(job.spec().learning_rate(), rates[i]);
    EXPECT_EQ(job.spec().hidden_units(), units[i]);
    // The base spec, then the service's defaults and options.
    EXPECT_EQ(job.spec().model(), "swept");
    EXPECT_EQ(job.spec().epochs(), 2);
    EXPECT_EQ(job.spec().topics_size(), 8);
    EXPECT_EQ(job.spec().max_attempts(), 2);
  }
  EXPECT_EQ(got.sweep().trials(3).values(0), "5e-3");
  EXPECT_EQ(got.sweep().trials(3).values(1), "64");

  // The jobs are ordinary jobs: listed, and watched with their origin.
  kiln::v1::ListJobsRequest list;
  list.set_model("swept");
  kiln::v1::ListJobsResponse listed;
  ASSERT_TRUE(training_stub_->ListJobs(Context(kReaderToken).get(), list, &listed).ok());
  EXPECT_EQ(listed.jobs_size(), 4);
  kiln::v1::WatchJobRequest watch;
  watch.set_id(got.jobs(0).id());
  auto context = Context(kReaderToken);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  auto reader = training_stub_->WatchJob(context.get(), watch);
  kiln::v1::JobEvent event;
  ASSERT_TRUE(reader->Read(&event));
  EXPECT_EQ(event.state_changed().reason().rfind("submitted by sweep-000001: model swept", 0), 0u)
      << event.state_changed().reason();
}

TEST_F(SweepServiceTest, ABadGridOrSpecStoresNothing) {
  kiln::v1::Sweep first;
  ASSERT_TRUE(Create(Plan({{"epochs", {"1"}}}), &first).ok());
  const struct {
    kiln::v1::SweepPlan plan;
    std::string message;
  } cases[] = {
      {Plan({{"learning_rat", {"0.1"}}}), "grid field \"learning_rat\" is not a JobSpec field"},
      {Plan({{"topics", {"sci.med"}}}), "is a list"},
      {Plan({{"epochs", {"two"}}}), "grid field epochs: \"two\" is not a 32-bit integer"},
      {Plan({}), "grid: no axes"},
      // Every value parses, but the second combination is out of range.
      {Plan({{"learning_rate", {"0.001", "0.01"}}, {"epochs", {"1", "5000"}}}),
       "combination 2 of 4 (learning_rate=0.001, epochs=5000): spec.epochs is 5000; "
       "allowed: 1..1000"},
      // Too big to train, as SubmitJob would refuse it.
      {Plan({{"architecture", {"article"}},
             {"hidden_units", {"64", "4096"}},
             {"vocabulary.max_size", {"10000000"}},
             {"embedding_dim", {"1024"}}}),
       "combination 1 of 2 (architecture=article, hidden_units=64, vocabulary.max_size=10000000, "
       "embedding_dim=1024): spec: the model has"},
      // A tfidf model's first kernel is [vocabulary, hidden_units].
      {Plan({{"hidden_units", {"64"}}, {"embedding_dim", {"32"}}}),
       "combination 1 of 1 (hidden_units=64, embedding_dim=32): spec.embedding_dim (32) must "
       "equal spec.hidden_units (64) with architecture TFIDF"},
  };
  for (const auto& c : cases) {
    kiln::v1::Sweep sweep;
    const grpc::Status status = Create(c.plan, &sweep);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_NE(status.error_message().find(c.message), std::string::npos)
        << status.error_message();
  }
  std::vector<std::string> many;
  for (int i = 1; i <= 300; ++i) many.push_back(std::to_string(i));
  kiln::v1::Sweep sweep;
  grpc::Status status = Create(Plan({{"seed", many}}), &sweep);
  EXPECT_NE(status.error_message().find("grid field seed has 300 values; allowed: 1..256"),
            std::string::npos)
      << status.error_message();
  EXPECT_EQ(Count("sweeps"), 1);
  EXPECT_EQ(Count("sweep_jobs"), 1);
  EXPECT_EQ(Count("jobs"), 1);
  EXPECT_EQ(Count("events"), 1);
  // The next sweep takes the next id: nothing half-made took one.
  ASSERT_TRUE(Create(Plan({{"epochs", {"1"}}}), &sweep).ok());
  EXPECT_EQ(Get(sweep.id()).jobs(0).spec().epochs(), 1);
}

TEST_F(SweepServiceTest, ReadersCannotCreateAndUnknownSweepsAreNamed) {
  kiln::v1::Sweep sweep;
  EXPECT_EQ(Create(Plan({{"epochs", {"1"}}}), &sweep, kReaderToken).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(Count("sweeps"), 0);
  kiln::v1::GetSweepRequest request;
  kiln::v1::GetSweepResponse response;
  request.set_id("sweep-000042");
  grpc::Status status = sweep_stub_->GetSweep(Context(kReaderToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(status.error_message(), "no sweep sweep-000042");
  request.set_id("job-000001");
  status = sweep_stub_->GetSweep(Context(kReaderToken).get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(status.error_message().find("is not a sweep id"), std::string::npos);
}

TEST_F(SweepServiceTest, ListPagesNewestFirstWithProgress) {
  for (int i = 0; i < 5; ++i) {
    kiln::v1::Sweep sweep;
    ASSERT_TRUE(Create(Plan({{"seed", {std::to_string(i), "100"}}}), &sweep).ok());
  }
  // One job of the newest sweep ends.
  kiln::v1::CancelJobRequest cancel;
  cancel.set_id(Get("sweep-000005").jobs(1).id());
  kiln::v1::Job cancelled;
  ASSERT_TRUE(training_stub_->CancelJob(Context().get(), cancel, &cancelled).ok());

  std::vector<std::string> seen;
  kiln::v1::ListSweepsRequest request;
  request.set_page_size(2);
  for (int page = 0; page < 5; ++page) {
    kiln::v1::ListSweepsResponse response;
    ASSERT_TRUE(sweep_stub_->ListSweeps(Context(kReaderToken).get(), request, &response).ok());
    for (const auto& sweep : response.sweeps()) {
      seen.push_back(sweep.id());
      EXPECT_EQ(sweep.trials_size(), 2);
      EXPECT_EQ(sweep.jobs_ended(), sweep.id() == "sweep-000005" ? 1 : 0) << sweep.id();
      EXPECT_EQ(sweep.jobs_succeeded(), 0);
    }
    if (response.next_page_token().empty()) break;
    request.set_page_token(response.next_page_token());
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"sweep-000005", "sweep-000004", "sweep-000003",
                                            "sweep-000002", "sweep-000001"}));

  request.set_page_size(501);
  kiln::v1::ListSweepsResponse response;
  EXPECT_EQ(sweep_stub_->ListSweeps(Context(kReaderToken).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  request.set_page_size(0);
  request.set_page_token("not-a-token");
  EXPECT_EQ(sweep_stub_->ListSweeps(Context(kReaderToken).get(), request, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SweepServiceTest, WorkersLeaseASweepsJobsLikeAnyOther) {
  kiln::v1::Sweep sweep;
  ASSERT_TRUE(Create(Plan({{"epochs", {"1", "2"}}}), &sweep).ok());
  kiln::v1::RegisterWorkerRequest register_request;
  register_request.set_name("worker-a");
  register_request.set_slots(1);
  register_request.set_host("127.0.0.1");
  kiln::v1::RegisterWorkerResponse registered;
  ASSERT_TRUE(
      training_stub_->RegisterWorker(Context().get(), register_request, &registered).ok());
  kiln::v1::LeaseJobRequest lease_request;
  lease_request.set_worker_id(registered.worker_id());
  lease_request.set_wait_ms(2000);
  kiln::v1::LeaseJobResponse leased;
  ASSERT_TRUE(training_stub_->LeaseJob(Context().get(), lease_request, &leased).ok());
  ASSERT_TRUE(leased.has_lease());
  EXPECT_EQ(leased.lease().job().id(), sweep.trials(0).job_id());
  const kiln::v1::GetSweepResponse got = Get(sweep.id());
  EXPECT_EQ(got.jobs(0).state(), kiln::v1::JOB_STATE_RUNNING);
  EXPECT_EQ(got.jobs(1).state(), kiln::v1::JOB_STATE_QUEUED);
}

}  // namespace
}  // namespace kiln::training
