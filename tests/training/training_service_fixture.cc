#include "tests/training/training_service_fixture.h"

#include "gtest/gtest.h"
#include "services/common/client.h"
#include "services/training/training_migrations.h"

namespace kiln::training {

void TrainingServiceFixture::SetUpService(const LeaseSettings& settings,
                                          const TrainingServiceOptions& options) {
  PostgresTest::SetUp();
  pool_ = kiln::testing::MigratedPool(database_uri(), "training", Migrations());
  ASSERT_TRUE(pool_);
  jobs_ = std::make_unique<JobStore>(*pool_);
  leases_ = std::make_unique<LeaseStore>(*pool_, settings);
  notifier_ = std::make_unique<JobEventNotifier>(database_uri());
  sweeps_ = std::make_unique<SweepStore>(*pool_);
  StartService(options);
}

void TrainingServiceFixture::StartService(const TrainingServiceOptions& options) {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  training_ = std::make_unique<TrainingServiceImpl>(*jobs_, *leases_, *notifier_, options);
  sweep_service_ = std::make_unique<SweepServiceImpl>(*sweeps_, options);
  server_ = kiln::testing::StartLoopbackServer({training_.get(), sweep_service_.get()});
  ASSERT_TRUE(server_);
  auto channel = MakeChannel(kiln::testing::LoopbackAddress(*server_));
  training_stub_ = kiln::v1::TrainingService::NewStub(channel);
  sweep_stub_ = kiln::v1::SweepService::NewStub(channel);
}

void TrainingServiceFixture::TearDown() {
  if (server_) server_->Shutdown(absl::Seconds(1));
  server_.reset();
  sweep_service_.reset();
  training_.reset();
  sweeps_.reset();
  notifier_.reset();
  leases_.reset();
  jobs_.reset();
  pool_.reset();
  PostgresTest::TearDown();
}

std::unique_ptr<grpc::ClientContext> TrainingServiceFixture::Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  PrepareContext(*context, token, absl::Seconds(30));
  return context;
}

}  // namespace kiln::training
