#include "clients/cli/job_watch.h"

#include <algorithm>
#include <iostream>

#include "absl/strings/str_format.h"
#include "clients/cli/progress_bar.h"
#include "kiln/v1/training.grpc.pb.h"
#include "services/common/client.h"
#include "services/common/proto_json.h"

namespace kiln::cli {
namespace {

std::string StateWord(kiln::v1::JobState state) {
  std::string name = kiln::v1::JobState_Name(state);
  name = name.substr(std::string("JOB_STATE_").size());
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

bool IsFinal(kiln::v1::JobState state) {
  return state == kiln::v1::JOB_STATE_SUCCEEDED || state == kiln::v1::JOB_STATE_FAILED ||
         state == kiln::v1::JOB_STATE_CANCELLED;
}

}  // namespace

int WatchJobToEnd(const CliContext& context, const std::string& job_id) {
  auto stub = kiln::v1::TrainingService::NewStub(MakeChannel(context.training_address));
  kiln::v1::JobState last_state = kiln::v1::JOB_STATE_UNSPECIFIED;
  int64_t sequence = 0;
  int epochs = 0;  // for "epoch 3/15"; unknown (0) if the lookup fails
  {
    kiln::v1::GetJobRequest get;
    get.set_id(job_id);
    kiln::v1::Job job;
    grpc::ClientContext call;
    PrepareContext(call, context.token);
    if (stub->GetJob(&call, get, &job).ok()) epochs = job.spec().epochs();
  }
  // A dropped stream (a training replica restarting, PostgreSQL away)
  // resumes after the last event seen, with backoff, until the job ends or
  // the service has been unreachable for kWatchReconnectFor.
  absl::Time unreachable_since = absl::InfiniteFuture();
  absl::Duration backoff = absl::Milliseconds(200);
  for (;;) {
    grpc::ClientContext call;
    PrepareContext(call, context.token);
    kiln::v1::WatchJobRequest request;
    request.set_id(job_id);
    request.set_after_sequence(sequence);
    auto reader = stub->WatchJob(&call, request);
    ProgressBar bar("  epoch");
    kiln::v1::JobEvent event;
    while (reader->Read(&event)) {
      sequence = event.sequence();
      unreachable_since = absl::InfiniteFuture();
      backoff = absl::Milliseconds(200);
      if (context.json) {
        std::cout << ToJson(event) << std::endl;
        if (event.has_state_changed()) last_state = event.state_changed().to();
        continue;
      }
      if (event.has_state_changed()) {
        bar.Finish();
        last_state = event.state_changed().to();
        std::cout << job_id << " " << StateWord(last_state) << ": " << event.state_changed().reason()
                  << std::endl;
      } else if (event.has_progress()) {
        const auto& progress = event.progress();
        bar.Update(progress.steps() > 0 ? double(progress.step()) / double(progress.steps()) : -1,
                   absl::StrFormat("%d/%d  loss %.4f", progress.epoch(), epochs, progress.loss()));
      } else if (event.has_epoch_finished()) {
        bar.Finish();
        const auto& e = event.epoch_finished();
        const std::string validation =
            e.validation_examples() > 0
                ? absl::StrFormat("  val loss %.4f  val recall@1 %.4f", e.validation_loss(),
                                  e.validation_recall_at_1())
                : "";
        std::cout << absl::StrFormat(
                         "  epoch %3d  loss %.4f  accuracy %.4f%s  %9.0f samples/s  %6.2f s%s\n",
                         e.epoch(), e.loss(), e.accuracy(), validation, e.samples_per_second(),
                         e.seconds(), e.best() && e.validation_examples() > 0 ? "  best" : "")
                  << std::flush;
      } else if (event.has_early_stopped()) {
        bar.Finish();
        std::cout << "  stopped early after epoch " << event.early_stopped().epoch()
                  << ": no lower validation loss since epoch "
                  << event.early_stopped().best_epoch() << ", whose weights ship" << std::endl;
      } else if (event.has_resumed()) {
        bar.Finish();
        std::cout << "  resumed from the checkpoint of epoch " << event.resumed().epoch()
                  << std::endl;
      } else if (event.has_log()) {
        bar.Finish();
        std::cout << "  [" << event.log().level() << "] " << event.log().message() << std::endl;
      }
    }
    bar.Finish();
    const grpc::Status status = reader->Finish();
    if (IsFinal(last_state)) break;
    if (!status.ok() && status.error_code() != grpc::StatusCode::UNAVAILABLE &&
        status.error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) {
      std::cerr << "kiln: watching " << job_id << ": " << status.error_message() << "\n";
      return kExitJobFailed;
    }
    // Unreachable, too busy, or a stream that ended before the job did:
    // reconnect.
    const absl::Time now = absl::Now();
    unreachable_since = std::min(unreachable_since, now);
    if (now - unreachable_since >= kWatchReconnectFor) {
      std::cerr << "kiln: the training service at " << context.training_address
                << " has been unreachable for " << absl::FormatDuration(now - unreachable_since)
                << " (" << status.error_message() << "); " << job_id
                << " may still be running: kiln jobs watch " << job_id << "\n";
      return kExitJobUnknown;
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(5));
  }
  switch (last_state) {
    case kiln::v1::JOB_STATE_SUCCEEDED: return 0;
    case kiln::v1::JOB_STATE_CANCELLED: return kExitJobCancelled;
    default: return kExitJobFailed;
  }
}

}  // namespace kiln::cli
