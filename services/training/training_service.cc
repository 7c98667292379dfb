#include "services/training/training_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"
#include "services/common/sha256.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/training/job_admission.h"
#include "services/training/job_rows.h"

namespace kiln::training {
namespace {

// How often long polls (LeaseJob, Rendezvous) look again.
constexpr absl::Duration kPollInterval = absl::Milliseconds(200);
// How often a waiting watcher looks whether its call was cancelled, so that
// a closed watch soon frees its thread and its place under max_watchers.
constexpr absl::Duration kCancelCheck = absl::Seconds(1);
constexpr int64_t kMaxCheckpointBytes = int64_t{1} << 30;
constexpr int kEventsPerRead = 500;

grpc::Status Invalid(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

// Copies a StatusOr's value into a response, or returns its error.
template <typename T, typename Response>
grpc::Status Reply(absl::StatusOr<T> result, Response* response) {
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  return grpc::Status::OK;
}

}  // namespace

grpc::Status TrainingServiceImpl::SubmitJob(grpc::ServerContext* context,
                                            const kiln::v1::SubmitJobRequest* request,
                                            kiln::v1::Job* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<kiln::v1::JobSpec> spec =
      AdmitJobSpec(request->spec(), options_.default_max_attempts, options_.max_job_bytes);
  if (!spec.ok()) return ToGrpcStatus(spec.status());
  absl::StatusOr<kiln::v1::Job> job = jobs_.Submit(*spec);
  if (job.ok()) log::Info("queued ", job->id(), " (model ", spec->model(), ")");
  return Reply(std::move(job), response);
}

grpc::Status TrainingServiceImpl::GetJob(grpc::ServerContext* context,
                                         const kiln::v1::GetJobRequest* request,
                                         kiln::v1::Job* response) {
  KILN_AUTHORIZE(context);
  return Reply(jobs_.Get(request->id()), response);
}

grpc::Status TrainingServiceImpl::ListJobs(grpc::ServerContext* context,
                                           const kiln::v1::ListJobsRequest* request,
                                           kiln::v1::ListJobsResponse* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidatePageSize(request->page_size()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  return Reply(jobs_.List(*request), response);
}

grpc::Status TrainingServiceImpl::CancelJob(grpc::ServerContext* context,
                                            const kiln::v1::CancelJobRequest* request,
                                            kiln::v1::Job* response) {
  KILN_AUTHORIZE(context);
  if (request->reason().size() > 1024) return Invalid("reason is over 1024 bytes");
  absl::StatusOr<kiln::v1::Job> job = jobs_.Cancel(request->id(), request->reason());
  if (job.ok()) log::Info("cancelled ", job->id());
  return Reply(std::move(job), response);
}

grpc::Status TrainingServiceImpl::WatchJob(grpc::ServerContext* context,
                                           const kiln::v1::WatchJobRequest* request,
                                           grpc::ServerWriter<kiln::v1::JobEvent>* writer) {
  KILN_AUTHORIZE(context);
  struct WatcherSlot {
    std::atomic<int>& count;
    ~WatcherSlot() { --count; }
  } slot{watchers_};
  if (++watchers_ > options_.max_watchers) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat(options_.max_watchers,
                                     " jobs are being watched already, the most at once; try later"));
  }
  absl::StatusOr<int64_t> job_id = ParseJobId(request->id());
  if (!job_id.ok()) return ToGrpcStatus(job_id.status());
  // Before the first read, so that news committed after any read wakes us.
  JobEventNotifier::Subscription news(notifier_, *job_id);
  int64_t sequence = std::max<int64_t>(0, request->after_sequence());
  while (!context->IsCancelled()) {
    // Read the state before the events: if the job had ended by then, the
    // events read next include its last one.
    absl::StatusOr<kiln::v1::Job> job = jobs_.Get(request->id());
    if (!job.ok()) return ToGrpcStatus(job.status());
    absl::StatusOr<std::vector<kiln::v1::JobEvent>> events =
        jobs_.EventsAfter(request->id(), sequence, kEventsPerRead);
    if (!events.ok()) return ToGrpcStatus(events.status());
    for (const kiln::v1::JobEvent& event : *events) {
      if (!writer->Write(event)) return grpc::Status::CANCELLED;
      sequence = event.sequence();
    }
    if (static_cast<int>(events->size()) == kEventsPerRead) continue;
    if (IsTerminal(job->state())) return grpc::Status::OK;
    // Until the job has news, or it is time to look anyway for news the
    // notifier may have missed; in slices, to notice a cancelled call soon.
    const absl::Time recheck =
        absl::Now() +
        (notifier_.listening() ? options_.watch_recheck : options_.watch_recheck_unnotified);
    for (absl::Time now = absl::Now(); now < recheck && !context->IsCancelled();
         now = absl::Now()) {
      if (news.WaitForNews(std::min(kCancelCheck, recheck - now))) break;
    }
  }
  return grpc::Status::CANCELLED;
}

grpc::Status TrainingServiceImpl::RegisterWorker(grpc::ServerContext* context,
                                                 const kiln::v1::RegisterWorkerRequest* request,
                                                 kiln::v1::RegisterWorkerResponse* response) {
  KILN_AUTHORIZE(context);
  const std::string& name = request->name();
  const bool name_ok = !name.empty() && name.size() <= 64 &&
                       name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                              "0123456789._-") == std::string::npos;
  if (!name_ok) return Invalid("name must be 1..64 characters of A-Z a-z 0-9 . _ -");
  if (request->slots() < 1 || request->slots() > 64) {
    return Invalid(absl::StrCat("slots ", request->slots(), " is outside 1..64"));
  }
  if (request->host().empty() || request->host().size() > 255) {
    return Invalid("host must be 1..255 bytes");
  }
  absl::StatusOr<kiln::v1::RegisterWorkerResponse> registered = leases_.RegisterWorker(*request);
  if (registered.ok()) {
    log::Info("worker ", name, " registered with ", request->slots(), " slot(s)");
  }
  return Reply(std::move(registered), response);
}

grpc::Status TrainingServiceImpl::LeaseJob(grpc::ServerContext* context,
                                           const kiln::v1::LeaseJobRequest* request,
                                           kiln::v1::LeaseJobResponse* response) {
  KILN_AUTHORIZE(context);
  if (request->wait_ms() < 0 || request->wait_ms() > 60000) {
    return Invalid(absl::StrCat("wait_ms ", request->wait_ms(), " is outside 0..60000"));
  }
  const absl::Duration wait = absl::Milliseconds(request->wait_ms());
  absl::StatusOr<int64_t> slot = leases_.RequestSlot(request->worker_id(), wait);
  if (!slot.ok()) return ToGrpcStatus(slot.status());
  const absl::Time deadline = absl::Now() + wait;
  for (;;) {
    if (absl::Status scheduled = leases_.Schedule(); !scheduled.ok()) {
      log::Warning("scheduling failed: ", scheduled.ToString());
    }
    const bool give_up = absl::Now() >= deadline || context->IsCancelled();
    absl::StatusOr<std::optional<kiln::v1::Lease>> lease = leases_.TakeLease(*slot, give_up);
    if (!lease.ok()) return ToGrpcStatus(lease.status());
    if (lease->has_value()) {
      log::Info("leased ", (*lease)->job().id(), " rank ", (*lease)->rank(), " to worker ",
                request->worker_id());
      *response->mutable_lease() = **std::move(lease);
      return grpc::Status::OK;
    }
    if (give_up) return grpc::Status::OK;
    absl::SleepFor(kPollInterval);
  }
}

grpc::Status TrainingServiceImpl::Heartbeat(grpc::ServerContext* context,
                                            const kiln::v1::HeartbeatRequest* request,
                                            kiln::v1::HeartbeatResponse* response) {
  KILN_AUTHORIZE(context);
  return Reply(leases_.Heartbeat(request->lease_id(), request->epoch()), response);
}

grpc::Status TrainingServiceImpl::Rendezvous(grpc::ServerContext* context,
                                             const kiln::v1::RendezvousRequest* request,
                                             kiln::v1::RendezvousResponse* response) {
  KILN_AUTHORIZE(context);
  if (request->address().size() > 255) return Invalid("address is over 255 bytes");
  if (request->wait_ms() < 0 || request->wait_ms() > 60000) {
    return Invalid(absl::StrCat("wait_ms ", request->wait_ms(), " is outside 0..60000"));
  }
  const absl::Time deadline = absl::Now() + absl::Milliseconds(request->wait_ms());
  for (;;) {
    absl::StatusOr<std::string> address =
        leases_.Rendezvous(request->lease_id(), request->address());
    if (!address.ok()) return ToGrpcStatus(address.status());
    if (!address->empty() || absl::Now() >= deadline || context->IsCancelled()) {
      response->set_address(*address);
      return grpc::Status::OK;
    }
    absl::SleepFor(kPollInterval);
  }
}

grpc::Status TrainingServiceImpl::ReportEvents(grpc::ServerContext* context,
                                               const kiln::v1::ReportEventsRequest* request,
                                               kiln::v1::ReportEventsResponse* response) {
  KILN_AUTHORIZE(context);
  if (request->events_size() > 1000) return Invalid("at most 1000 events per call");
  for (const auto& event : request->events()) {
    if (event.kind_case() == kiln::v1::JobEvent::KIND_NOT_SET) {
      return Invalid("an event has no kind (state_changed, epoch_finished, progress, ...)");
    }
    if (event.has_state_changed()) {
      return Invalid("workers cannot report state changes; use CompleteLease or FailLease");
    }
  }
  absl::StatusOr<kiln::v1::LeaseStatus> status =
      leases_.AppendEvents(request->lease_id(), request->events());
  if (!status.ok()) return ToGrpcStatus(status.status());
  response->set_status(*status);
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::SaveCheckpoint(
    grpc::ServerContext* context, grpc::ServerReader<kiln::v1::SaveCheckpointRequest>* reader,
    kiln::v1::Checkpoint* response) {
  KILN_AUTHORIZE(context);
  kiln::v1::SaveCheckpointRequest message;
  if (!reader->Read(&message) || !message.has_header()) {
    return Invalid("the stream must start with a header");
  }
  const kiln::v1::CheckpointHeader header = message.header();
  if (header.epoch() < 1) return Invalid("header.epoch must be >= 1");
  if (!IsSha256Hex(header.sha256())) return Invalid("header.sha256 is not lower-case hex sha256");
  if (header.size_bytes() < 0 || header.size_bytes() > kMaxCheckpointBytes) {
    return Invalid("header.size_bytes is outside 0..1 GiB");
  }
  std::string data;
  data.reserve(static_cast<size_t>(header.size_bytes()));
  while (reader->Read(&message)) {
    if (!message.has_data()) return Invalid("only data may follow the header");
    if (static_cast<int64_t>(data.size() + message.data().size()) > header.size_bytes()) {
      return Invalid("more bytes than header.size_bytes");
    }
    data += message.data();
  }
  if (context->IsCancelled()) return grpc::Status::CANCELLED;
  if (static_cast<int64_t>(data.size()) != header.size_bytes()) {
    return Invalid(absl::StrCat("the stream ended after ", data.size(), " of ",
                                header.size_bytes(), " bytes; nothing was stored"));
  }
  const std::string digest = Sha256Hex(data);
  if (digest != header.sha256()) {
    return Invalid(absl::StrCat("checkpoint sha256 is ", digest, ", the header says ",
                                header.sha256(), "; nothing was stored"));
  }
  return Reply(leases_.SaveCheckpoint(header.lease_id(), header.epoch(), digest, data), response);
}

grpc::Status TrainingServiceImpl::LoadCheckpoint(
    grpc::ServerContext* context, const kiln::v1::LoadCheckpointRequest* request,
    grpc::ServerWriter<kiln::v1::LoadCheckpointResponse>* writer) {
  KILN_AUTHORIZE(context);
  if (request->epoch() < 0) return Invalid("epoch must be >= 0");
  auto checkpoint = leases_.LoadCheckpoint(request->job_id(), request->epoch());
  if (!checkpoint.ok()) return ToGrpcStatus(checkpoint.status());
  kiln::v1::LoadCheckpointResponse message;
  *message.mutable_checkpoint() = checkpoint->first;
  if (!writer->Write(message)) return grpc::Status::CANCELLED;
  constexpr size_t kChunk = 1 << 20;
  const std::string& data = checkpoint->second;
  for (size_t offset = 0; offset < data.size(); offset += kChunk) {
    message.set_data(data.substr(offset, kChunk));
    if (!writer->Write(message)) return grpc::Status::CANCELLED;
  }
  return grpc::Status::OK;
}

grpc::Status TrainingServiceImpl::CompleteLease(grpc::ServerContext* context,
                                                const kiln::v1::CompleteLeaseRequest* request,
                                                kiln::v1::Job* response) {
  KILN_AUTHORIZE(context);
  return Reply(leases_.CompleteLease(request->lease_id(), request->result()), response);
}

grpc::Status TrainingServiceImpl::FailLease(grpc::ServerContext* context,
                                            const kiln::v1::FailLeaseRequest* request,
                                            kiln::v1::Job* response) {
  KILN_AUTHORIZE(context);
  if (request->error().empty() || request->error().size() > 4096) {
    return Invalid("error must be 1..4096 bytes");
  }
  absl::StatusOr<kiln::v1::Job> job =
      leases_.FailLease(request->lease_id(), request->error(), request->retryable(),
                        request->released());
  if (job.ok()) log::Warning(job->id(), ": a lease failed: ", request->error());
  return Reply(std::move(job), response);
}

}  // namespace kiln::training
