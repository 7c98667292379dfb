// The gRPC surface of sweeps, served by the training service's process:
// expansion and admission of every job spec, then SweepStore.
#pragma once

#include "kiln/v1/sweep.grpc.pb.h"
#include "services/training/sweep_store.h"
#include "services/training/training_service.h"

namespace kiln::training {

class SweepServiceImpl final : public kiln::v1::SweepService::Service {
 public:
  // `options` are the training service's: a sweep's jobs get the same
  // defaults and limits as jobs submitted alone.
  SweepServiceImpl(SweepStore& sweeps, const TrainingServiceOptions& options)
      : sweeps_(sweeps), options_(options) {}

  grpc::Status CreateSweep(grpc::ServerContext* context,
                           const kiln::v1::CreateSweepRequest* request,
                           kiln::v1::Sweep* response) override;
  grpc::Status GetSweep(grpc::ServerContext* context, const kiln::v1::GetSweepRequest* request,
                        kiln::v1::GetSweepResponse* response) override;
  grpc::Status ListSweeps(grpc::ServerContext* context, const kiln::v1::ListSweepsRequest* request,
                          kiln::v1::ListSweepsResponse* response) override;

 private:
  SweepStore& sweeps_;
  const TrainingServiceOptions options_;
};

}  // namespace kiln::training
