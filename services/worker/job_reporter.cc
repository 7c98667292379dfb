#include "services/worker/job_reporter.h"

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/common/log.h"

namespace kiln::worker {
namespace {

constexpr absl::Duration kProgressInterval = absl::Milliseconds(500);

}  // namespace

void JobReporter::Send(kiln::v1::JobEvent event) {
  grpc::ClientContext context;
  PrepareContext(context, token_, absl::Seconds(10));
  kiln::v1::ReportEventsRequest request;
  request.set_lease_id(lease_id_);
  *request.add_events() = std::move(event);
  kiln::v1::ReportEventsResponse response;
  const grpc::Status status = training_.ReportEvents(&context, request, &response);
  if (status.ok()) {
    keeper_.Observe(response.status());
  } else {
    // Events are informative; training goes on without them.
    log::Warning("reporting an event failed: ", status.error_message());
  }
}

void JobReporter::Log(const std::string& level, const std::string& message) {
  if (level == "error") {
    log::Error(message);
  } else {
    log::Info(message);
  }
  kiln::v1::JobEvent event;
  event.mutable_log()->set_level(level);
  event.mutable_log()->set_message(message);
  event.mutable_log()->set_rank(rank_);
  Send(std::move(event));
}

void JobReporter::Progress(const model::StepProgress& progress) {
  const absl::Time now = absl::Now();
  if (now - last_progress_ < kProgressInterval && progress.step != progress.steps) return;
  last_progress_ = now;
  kiln::v1::JobEvent event;
  auto* p = event.mutable_progress();
  p->set_epoch(progress.epoch);
  p->set_step(progress.step);
  p->set_steps(progress.steps);
  p->set_loss(progress.loss);
  Send(std::move(event));
}

void JobReporter::EpochFinished(const model::RunEpochReport& report) {
  const model::EpochMetrics& metrics = report.training;
  log::Info("epoch ", metrics.epoch, ": loss ", metrics.mean_loss, ", accuracy ",
            metrics.accuracy, ", ", metrics.samples_per_second, " samples/s",
            report.validation ? absl::StrCat(", validation loss ", report.validation->loss,
                                             ", recall@1 ", report.validation->recall_at_1)
                              : std::string(),
            report.best ? " (best so far)" : "");
  kiln::v1::JobEvent event;
  auto* e = event.mutable_epoch_finished();
  e->set_epoch(metrics.epoch);
  e->set_loss(metrics.mean_loss);
  e->set_accuracy(metrics.accuracy);
  e->set_samples_per_second(metrics.samples_per_second);
  e->set_seconds(metrics.seconds);
  if (report.validation) {
    e->set_validation_examples(report.validation->examples);
    e->set_validation_loss(report.validation->loss);
    e->set_validation_recall_at_1(report.validation->recall_at_1);
    e->set_validation_recall_at_3(report.validation->recall_at_3);
  }
  e->set_best(report.best);
  Send(std::move(event));
}

void JobReporter::EarlyStopped(int epoch, int best_epoch) {
  log::Info("stopped early after epoch ", epoch, "; shipping epoch ", best_epoch);
  kiln::v1::JobEvent event;
  event.mutable_early_stopped()->set_epoch(epoch);
  event.mutable_early_stopped()->set_best_epoch(best_epoch);
  Send(std::move(event));
}

void JobReporter::Resumed(int epoch) {
  kiln::v1::JobEvent event;
  event.mutable_resumed()->set_epoch(epoch);
  Send(std::move(event));
}

}  // namespace kiln::worker
