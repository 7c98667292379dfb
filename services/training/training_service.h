// The gRPC surface of the training service: job management for users and
// the worker protocol, over JobStore and LeaseStore.
#pragma once

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/training/job_event_notifier.h"
#include "services/training/job_store.h"
#include "services/training/lease_store.h"

namespace kiln::training {

struct TrainingServiceOptions {
  // Applied by SubmitJob to every spec.
  int default_max_attempts = 3;
  // The most memory a job may need to train (EstimateFootprint).
  int64_t max_job_bytes = int64_t{8} << 30;
  // Open WatchJob streams at once: each holds a server thread, and with
  // public reads anyone may open one, so past this they are refused.
  int max_watchers = 32;
  // How long a watcher waits for a notification before it reads the job
  // again anyway: a notification lost with the notifier's connection
  // delays events by no more than this.
  absl::Duration watch_recheck = absl::Seconds(5);
  // The same while the notifier is not listening, so nothing is notified.
  absl::Duration watch_recheck_unnotified = absl::Seconds(1);
};

class TrainingServiceImpl final : public kiln::v1::TrainingService::Service {
 public:
  TrainingServiceImpl(JobStore& jobs, LeaseStore& leases, JobEventNotifier& notifier,
                      TrainingServiceOptions options)
      : jobs_(jobs), leases_(leases), notifier_(notifier), options_(options) {}

  grpc::Status SubmitJob(grpc::ServerContext* context, const kiln::v1::SubmitJobRequest* request,
                         kiln::v1::Job* response) override;
  grpc::Status GetJob(grpc::ServerContext* context, const kiln::v1::GetJobRequest* request,
                      kiln::v1::Job* response) override;
  grpc::Status ListJobs(grpc::ServerContext* context, const kiln::v1::ListJobsRequest* request,
                        kiln::v1::ListJobsResponse* response) override;
  grpc::Status CancelJob(grpc::ServerContext* context, const kiln::v1::CancelJobRequest* request,
                         kiln::v1::Job* response) override;
  grpc::Status WatchJob(grpc::ServerContext* context, const kiln::v1::WatchJobRequest* request,
                        grpc::ServerWriter<kiln::v1::JobEvent>* writer) override;

  grpc::Status RegisterWorker(grpc::ServerContext* context,
                              const kiln::v1::RegisterWorkerRequest* request,
                              kiln::v1::RegisterWorkerResponse* response) override;
  grpc::Status LeaseJob(grpc::ServerContext* context, const kiln::v1::LeaseJobRequest* request,
                        kiln::v1::LeaseJobResponse* response) override;
  grpc::Status Heartbeat(grpc::ServerContext* context, const kiln::v1::HeartbeatRequest* request,
                         kiln::v1::HeartbeatResponse* response) override;
  grpc::Status Rendezvous(grpc::ServerContext* context, const kiln::v1::RendezvousRequest* request,
                          kiln::v1::RendezvousResponse* response) override;
  grpc::Status ReportEvents(grpc::ServerContext* context,
                            const kiln::v1::ReportEventsRequest* request,
                            kiln::v1::ReportEventsResponse* response) override;
  grpc::Status SaveCheckpoint(grpc::ServerContext* context,
                              grpc::ServerReader<kiln::v1::SaveCheckpointRequest>* reader,
                              kiln::v1::Checkpoint* response) override;
  grpc::Status LoadCheckpoint(grpc::ServerContext* context,
                              const kiln::v1::LoadCheckpointRequest* request,
                              grpc::ServerWriter<kiln::v1::LoadCheckpointResponse>* writer) override;
  grpc::Status CompleteLease(grpc::ServerContext* context,
                             const kiln::v1::CompleteLeaseRequest* request,
                             kiln::v1::Job* response) override;
  grpc::Status FailLease(grpc::ServerContext* context, const kiln::v1::FailLeaseRequest* request,
                         kiln::v1::Job* response) override;

 private:
  JobStore& jobs_;
  LeaseStore& leases_;
  JobEventNotifier& notifier_;
  const TrainingServiceOptions options_;
  std::atomic<int> watchers_{0};
};

}  // namespace kiln::training
