// The training service as kiln-training serves it, for the service tests:
// its stores on a migrated PostgreSQL, the event notifier, TrainingService
// and SweepService on one loopback gRPC server, and stubs to both.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "kiln/v1/sweep.grpc.pb.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/server.h"
#include "services/training/job_event_notifier.h"
#include "services/training/job_store.h"
#include "services/training/lease_store.h"
#include "services/training/sweep_service.h"
#include "services/training/sweep_store.h"
#include "services/training/training_service.h"
#include "tests/support/loopback_service.h"
#include "tests/support/postgres_environment.h"

namespace kiln::training {

class TrainingServiceFixture : public kiln::testing::PostgresTest {
 protected:
  // The stores with these settings, then StartService(options).
  void SetUpService(const LeaseSettings& settings, const TrainingServiceOptions& options);
  void SetUp() override { SetUpService(LeaseSettings{}, TrainingServiceOptions{}); }
  void TearDown() override;

  // (Re)starts both services on the same stores and notifier.
  void StartService(const TrainingServiceOptions& options);

  std::unique_ptr<grpc::ClientContext> Context(
      const std::string& token = kiln::testing::kWriterToken);

  std::unique_ptr<db::Pool> pool_;
  std::unique_ptr<JobStore> jobs_;
  std::unique_ptr<LeaseStore> leases_;
  std::unique_ptr<JobEventNotifier> notifier_;
  std::unique_ptr<SweepStore> sweeps_;
  std::unique_ptr<TrainingServiceImpl> training_;
  std::unique_ptr<SweepServiceImpl> sweep_service_;
  std::unique_ptr<GrpcServer> server_;
  std::unique_ptr<kiln::v1::TrainingService::Stub> training_stub_;
  std::unique_ptr<kiln::v1::SweepService::Stub> sweep_stub_;
};

}  // namespace kiln::training
