#include "services/worker/job_runner.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "kiln/v1/evaluation.grpc.pb.h"
#include "kiln/v1/preprocess.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/log.h"
#include "services/common/sha256.h"
#include "services/common/status.h"
#include "services/model/communicator.h"
#include "services/model/trainer.h"
#include "services/model/training_run.h"
#include "services/registry/registry_client.h"
#include "services/training/job_footprint.h"
#include "services/worker/checkpoint_writer.h"
#include "services/worker/job_reporter.h"
#include "services/worker/lease_keeper.h"
#include "services/worker/model_shipping.h"
#include "services/worker/retry_policy.h"
#include "services/worker/training_data.h"

namespace kiln::worker {
namespace {

constexpr size_t kChunk = 1 << 20;
// How long the worker keeps trying to report the end of its lease.
constexpr absl::Duration kEndLeaseRetryFor = absl::Minutes(10);

const std::string& Either(const std::string& configured, const std::string& leased) {
  return configured.empty() ? leased : configured;
}

model::ModelShape ShapeOf(const kiln::v1::JobSpec& spec, int vocabulary_size) {
  model::ModelShape shape;
  shape.vocab_size = vocabulary_size;
  shape.max_length = spec.max_length();
  shape.embedding_dim = spec.embedding_dim();
  shape.hidden_units = spec.hidden_units();
  shape.num_classes = spec.topics_size();
  shape.pooling = spec.pooling() == kiln::v1::POOLING_FLATTEN ? model::Pooling::kFlatten
                                                                : model::Pooling::kGlobalAverage;
  shape.architecture = spec.architecture() == kiln::v1::ARCHITECTURE_ARTICLE
                           ? model::Architecture::kArticle
                           : model::Architecture::kTfidf;
  shape.dropout = static_cast<float>(spec.dropout());
  return shape;
}

class LeaseRun {
 public:
  LeaseRun(kiln::v1::TrainingService::Stub& training, const WorkerSettings& settings,
           const kiln::v1::Lease& lease, LeaseKeeper& keeper)
      : training_(training),
        settings_(settings),
        lease_(lease),
        keeper_(keeper),
        reporter_(training, settings.token, lease.lease_id(), lease.rank(), keeper) {}

  absl::Status Run();
  const kiln::v1::JobResult& result() const { return result_; }

 private:
  bool ShouldStop() const {
    return keeper_.should_stop() || (settings_.shutting_down && settings_.shutting_down->load());
  }
  absl::StatusOr<std::unique_ptr<model::Communicator>> JoinGang();
  absl::Status SaveCheckpoint(int epoch, const std::string& bytes);
  // Cancels the SaveCheckpoint call in progress, if any.
  void InterruptCheckpoint();
  absl::StatusOr<std::string> LoadCheckpoint(int epoch);
  // A heartbeat now, not the keeper's last: OK only while the lease stands.
  absl::Status ConfirmLease();

  kiln::v1::TrainingService::Stub& training_;
  const WorkerSettings& settings_;
  const kiln::v1::Lease& lease_;
  LeaseKeeper& keeper_;
  JobReporter reporter_;
  kiln::v1::JobResult result_;
  std::mutex checkpoint_mutex_;
  grpc::ClientContext* checkpoint_context_ = nullptr;  // guarded by checkpoint_mutex_
};

absl::StatusOr<std::unique_ptr<model::Communicator>> LeaseRun::JoinGang() {
  model::DistributedOptions options;
  options.rank = lease_.rank();
  options.world_size = lease_.world_size();
  options.key_prefix = absl::StrCat(lease_.job().id(), "/", lease_.attempt());
  options.transport_host = settings_.host;
  options.timeout = settings_.collective_timeout;
  if (lease_.rank() == 0) {
    options.store_host = settings_.host;
    options.store_port = 0;
  } else {
    // Wait for rank 0 to publish where its store listens.
    const absl::Time deadline = absl::Now() + settings_.collective_timeout;
    std::string address;
    while (address.empty()) {
      if (ShouldStop() || absl::Now() > deadline) {
        return absl::DeadlineExceededError("rank 0 did not publish its rendezvous address");
      }
      grpc::ClientContext context;
      PrepareContext(context, settings_.token, absl::Seconds(15));
      kiln::v1::RendezvousRequest request;
      request.set_lease_id(lease_.lease_id());
      request.set_wait_ms(5000);
      kiln::v1::RendezvousResponse response;
      grpc::Status status = training_.Rendezvous(&context, request, &response);
      if (!status.ok()) return FromGrpcStatus(status);
      address = response.address();
    }
    const size_t colon = address.rfind(':');
    if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &options.store_port)) {
      return absl::InvalidArgumentError(absl::StrCat("bad rendezvous address ", address));
    }
    options.store_host = address.substr(0, colon);
  }
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<model::Communicator> communicator,
                        model::Communicator::Create(options));
  if (lease_.rank() == 0) {
    grpc::ClientContext context;
    PrepareContext(context, settings_.token, absl::Seconds(15));
    kiln::v1::RendezvousRequest request;
    request.set_lease_id(lease_.lease_id());
    request.set_address(absl::StrCat(settings_.host, ":", communicator->store_port()));
    kiln::v1::RendezvousResponse response;
    grpc::Status status = training_.Rendezvous(&context, request, &response);
    if (!status.ok()) return FromGrpcStatus(status);
  }
  KILN_RETURN_IF_ERROR(communicator->Connect());
  return communicator;
}

absl::Status LeaseRun::ConfirmLease() {
  grpc::ClientContext context;
  PrepareContext(context, settings_.token, absl::Seconds(15));
  kiln::v1::HeartbeatRequest request;
  request.set_lease_id(lease_.lease_id());
  kiln::v1::HeartbeatResponse response;
  KILN_RETURN_IF_ERROR(FromGrpcStatus(training_.Heartbeat(&context, request, &response)));
  keeper_.Observe(response.status());
  if (response.status() != kiln::v1::LEASE_STATUS_ACTIVE) {
    return absl::CancelledError("the lease ended before the model was published");
  }
  return absl::OkStatus();
}

absl::Status LeaseRun::SaveCheckpoint(int epoch, const std::string& bytes) {
  grpc::ClientContext context;
  PrepareContext(context, settings_.token, absl::Minutes(5));
  {
    std::lock_guard<std::mutex> lock(checkpoint_mutex_);
    checkpoint_context_ = &context;
  }
  const absl::Cleanup forget = [this] {
    std::lock_guard<std::mutex> lock(checkpoint_mutex_);
    checkpoint_context_ = nullptr;
  };
  kiln::v1::Checkpoint stored;
  auto writer = training_.SaveCheckpoint(&context, &stored);
  kiln::v1::SaveCheckpointRequest request;
  auto* header = request.mutable_header();
  header->set_lease_id(lease_.lease_id());
  header->set_epoch(epoch);
  header->set_sha256(Sha256Hex(bytes));
  header->set_size_bytes(static_cast<int64_t>(bytes.size()));
  bool sent = writer->Write(request);
  for (size_t offset = 0; sent && offset < bytes.size(); offset += kChunk) {
    request.set_data(bytes.substr(offset, kChunk));
    sent = writer->Write(request);
  }
  writer->WritesDone();
  return FromGrpcStatus(writer->Finish());
}

void LeaseRun::InterruptCheckpoint() {
  std::lock_guard<std::mutex> lock(checkpoint_mutex_);
  if (checkpoint_context_ != nullptr) checkpoint_context_->TryCancel();
}

absl::StatusOr<std::string> LeaseRun::LoadCheckpoint(int epoch) {
  grpc::ClientContext context;
  PrepareContext(context, settings_.token, absl::Minutes(5));
  kiln::v1::LoadCheckpointRequest request;
  request.set_job_id(lease_.job().id());
  request.set_epoch(epoch);
  auto reader = training_.LoadCheckpoint(&context, request);
  kiln::v1::LoadCheckpointResponse message;
  std::string bytes, sha256;
  while (reader->Read(&message)) {
    if (message.has_checkpoint()) sha256 = message.checkpoint().sha256();
    bytes += message.data();
  }
  KILN_RETURN_IF_ERROR(FromGrpcStatus(reader->Finish()));
  if (Sha256Hex(bytes) != sha256) {
    return absl::DataLossError(absl::StrCat("checkpoint of epoch ", epoch, " arrived damaged"));
  }
  return bytes;
}

absl::Status LeaseRun::Run() {
  const kiln::v1::Job& job = lease_.job();
  const kiln::v1::JobSpec& spec = job.spec();
  const int rank = lease_.rank();
  auto preprocess = kiln::v1::PreprocessService::NewStub(
      MakeChannel(Either(settings_.preprocess_address, lease_.preprocess_address())));

  KILN_ASSIGN_OR_RETURN(kiln::v1::Vocabulary vocabulary,
                        BuildVocabulary(*preprocess, settings_.token, spec));
  KILN_ASSIGN_OR_RETURN(model::Examples shard,
                        FetchExamples(*preprocess, settings_.token, spec, vocabulary.id(), rank,
                                      lease_.world_size()));
  KILN_ASSIGN_OR_RETURN(model::Examples validation,
                        FetchValidationExamples(*preprocess, settings_.token, spec,
                                                vocabulary.id()));
  if (rank == 0) {
    reporter_.Log("info", absl::StrCat("vocabulary ", vocabulary.id(), ": ", vocabulary.size(),
                                       " ids from ", vocabulary.post_count(), " training posts"));
    if (spec.validation_fraction() > 0) {
      reporter_.Log(validation.size() > 0 ? "info" : "warning",
                    validation.size() > 0
                        ? absl::StrCat(validation.size(), " validation posts held out")
                        : absl::StrCat("validation_fraction ", spec.validation_fraction(),
                                       " holds out none of the training posts: no validation, "
                                       "the last epoch ships"));
    }
  }
  KILN_RETURN_IF_ERROR(training::CheckFootprint(spec, vocabulary.size(),
                                                settings_.memory_budget_bytes,
                                                "this worker's memory budget (KILN_WORKER_MEMORY)"));

  std::unique_ptr<model::Communicator> communicator;
  if (lease_.world_size() > 1) {
    KILN_ASSIGN_OR_RETURN(communicator, JoinGang());
  }
  model::TrainingOptions options;
  options.epochs = spec.epochs();
  options.batch_size = spec.batch_size();
  options.learning_rate = static_cast<float>(spec.learning_rate());
  options.seed = spec.seed();
  options.threads = settings_.threads;
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<model::Trainer> trainer,
                        model::Trainer::Create(ShapeOf(spec, vocabulary.size()), options,
                                               std::move(shard), communicator.get()));
  // Every rank validates and decides when to stop; only rank 0, which
  // checkpoints and ships, keeps the best epoch's weights.
  model::RunOptions run_options;
  run_options.patience = spec.early_stopping_patience();
  run_options.keep_best = rank == 0;
  model::TrainingRun run(std::move(trainer), std::move(validation), run_options);

  if (lease_.resume_epoch() > 0) {
    KILN_ASSIGN_OR_RETURN(std::string bytes, LoadCheckpoint(lease_.resume_epoch()));
    KILN_RETURN_IF_ERROR(run.RestoreCheckpoint(bytes));
    if (rank == 0) {
      reporter_.Resumed(lease_.resume_epoch());
      // A worker killed between storing a checkpoint and reporting its epoch
      // never reported it: the restored epochs are reported again, so that
      // the job's last and best epoch are those the run goes on from.
      if (run.best_epoch() != run.epochs_done()) reporter_.EpochFinished(run.best_report());
      reporter_.EpochFinished(run.last_report());
    }
  }

  // Rank 0 stores a checkpoint after every epoch in the background; the
  // training service (or its database) away for a while costs checkpoints,
  // not the attempt. A lost lease stops the run through ShouldStop(), a
  // refused checkpoint through the writer's permanent error.
  std::optional<CheckpointWriter> checkpoints;
  if (rank == 0) {
    checkpoints.emplace(
        [this](int epoch, const std::string& bytes) { return SaveCheckpoint(epoch, bytes); },
        [&job](int epoch, const absl::Status& status) {
          log::Warning(job.id(), ": the checkpoint of epoch ", epoch,
                       " could not be stored, training on: ", status.message());
        },
        [this] { InterruptCheckpoint(); });
  }
  absl::Time last_checkpoint = absl::InfinitePast();
  while (!run.done()) {
    absl::StatusOr<model::RunEpochReport> report = run.RunEpoch(
        [&](const model::StepProgress& progress) {
          if (rank == 0) reporter_.Progress(progress);
        },
        [&] { return ShouldStop(); });
    if (ShouldStop()) return absl::CancelledError("the lease ended");
    if (!report.ok()) return report.status();
    if (rank == 0) {
      KILN_RETURN_IF_ERROR(checkpoints->permanent_error());
      // Encoding tens of MB costs training time: only when one is due and
      // the writer can store it now (a store takes a few epochs' time on a
      // small model).
      const absl::Time now = absl::Now();
      if (checkpoints->idle() && now - last_checkpoint >= settings_.checkpoint_interval) {
        KILN_ASSIGN_OR_RETURN(std::string bytes, run.SaveCheckpoint());
        checkpoints->Submit(run.epochs_done(), std::move(bytes));
        last_checkpoint = now;
      }
      reporter_.EpochFinished(*report);
    }
  }
  if (rank != 0) return absl::OkStatus();
  if (run.stopped_early()) reporter_.EarlyStopped(run.epochs_done(), run.best_epoch());
  KILN_ASSIGN_OR_RETURN(model::ModelWeights weights, run.TakeBestWeights());

  KILN_ASSIGN_OR_RETURN(text::Vocabulary words,
                        FetchVocabulary(*preprocess, settings_.token, vocabulary.id()));
  auto evaluation = kiln::v1::EvaluationService::NewStub(
      MakeChannel(Either(settings_.evaluation_address, lease_.evaluation_address())));
  registry::RegistryClient registry(
      MakeChannel(Either(settings_.registry_address, lease_.registry_address())), settings_.token);
  KILN_ASSIGN_OR_RETURN(result_, ShipModel(*evaluation, registry, settings_.token, job,
                                           weights, words, vocabulary,
                                           [this] { return ConfirmLease(); }));
  return absl::OkStatus();
}

}  // namespace

void RunLease(kiln::v1::TrainingService::Stub& training, const WorkerSettings& settings,
              const kiln::v1::Lease& lease) {
  const std::string& job_id = lease.job().id();
  const log::ScopedContext log_context("job", job_id);
  log::Info(job_id, ": rank ", lease.rank(), " of ", lease.world_size(), ", attempt ",
            lease.attempt(), lease.resume_epoch() > 0
                                 ? absl::StrCat(", resuming after epoch ", lease.resume_epoch())
                                 : std::string());
  LeaseKeeper keeper(training, settings.token, lease.lease_id(), settings.heartbeat_interval,
                     settings.lease_ttl);
  LeaseRun run(training, settings, lease, keeper);
  const absl::Status status = run.Run();
  const bool shutting_down = settings.shutting_down && settings.shutting_down->load();

  if (keeper.cancelled() || keeper.lost()) {
    // The service has already ended the lease; nothing left to report.
    log::Info(job_id, ": stopped, the lease was ", keeper.cancelled() ? "cancelled" : "lost");
    return;
  }
  // Ending the lease is retried while the training service is unreachable
  // (a restart, its database away) and the lease still stands: a finished
  // job should not be trained again because its last call fell into an
  // outage. The service keeps the lease alive meanwhile (LeaseReaper).
  const std::string error =
      shutting_down ? "the worker is shutting down" : std::string(status.message());
  const absl::Time give_up = absl::Now() + kEndLeaseRetryFor;
  absl::Duration backoff = absl::Milliseconds(500);
  for (;;) {
    grpc::ClientContext context;
    PrepareContext(context, settings.token, absl::Seconds(30));
    kiln::v1::Job after;
    grpc::Status reported;
    if (status.ok()) {
      kiln::v1::CompleteLeaseRequest request;
      request.set_lease_id(lease.lease_id());
      *request.mutable_result() = run.result();
      reported = training.CompleteLease(&context, request, &after);
    } else {
      kiln::v1::FailLeaseRequest request;
      request.set_lease_id(lease.lease_id());
      request.set_error(error.substr(0, 4096));
      request.set_retryable(shutting_down || IsRetryable(status));
      request.set_released(shutting_down);
      reported = training.FailLease(&context, request, &after);
    }
    if (reported.ok()) break;
    const bool transient = IsTransient(FromGrpcStatus(reported));
    if (!transient || keeper.lost() || keeper.cancelled() || shutting_down ||
        absl::Now() + backoff > give_up) {
      // The lease will lapse on its own and the job be re-queued.
      log::Warning(job_id, ": ending the lease failed: ", reported.error_message());
      return;
    }
    log::Warning(job_id, ": ending the lease failed, retrying: ", reported.error_message());
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(10));
  }
  if (status.ok()) {
    log::Info(job_id, ": rank ", lease.rank(), " done");
  } else {
    log::Error(job_id, ": rank ", lease.rank(), " failed: ", error);
  }
}

}  // namespace kiln::worker
