#include "clients/cli/sweep_table.h"

#include <algorithm>
#include <optional>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "clients/cli/table.h"

namespace kiln::cli {
namespace {

// Without validation (none held out, or no epoch finished) there is no
// validation figure, whatever the zeros say.
bool HasValidation(const kiln::v1::Job& job) {
  return job.has_best_epoch() && job.best_epoch().validation_examples() > 0;
}

std::optional<double> ValidationRecall(const kiln::v1::Job& job) {
  if (!HasValidation(job)) return std::nullopt;
  return job.best_epoch().validation_recall_at_1();
}

std::optional<double> TestRecall(const kiln::v1::Job& job) {
  auto it = job.result().metrics().find("recall@1");
  if (it == job.result().metrics().end()) return std::nullopt;
  return it->second;
}

// -1 when a ranks above b, 1 when below, 0 when tied.
int CompareDescending(std::optional<double> a, std::optional<double> b) {
  if (a.has_value() != b.has_value()) return a.has_value() ? -1 : 1;
  if (!a.has_value() || *a == *b) return 0;
  return *a > *b ? -1 : 1;
}

std::string Figure(std::optional<double> value) {
  return value ? absl::StrFormat("%.4f", *value) : "-";
}

std::string StateWord(kiln::v1::JobState state) {
  if (state == kiln::v1::JOB_STATE_UNSPECIFIED) return "-";
  return absl::AsciiStrToLower(kiln::v1::JobState_Name(state).substr(sizeof("JOB_STATE_") - 1));
}

}  // namespace

absl::StatusOr<kiln::v1::GridAxis> ParseGridFlag(const std::string& text) {
  const size_t equals = text.find('=');
  kiln::v1::GridAxis axis;
  if (equals != std::string::npos) {
    axis.set_field(std::string(absl::StripAsciiWhitespace(text.substr(0, equals))));
  }
  if (axis.field().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid \"", text, "\" is not FIELD=VALUE[,VALUE...], e.g. learning_rate=1e-3,5e-3"));
  }
  for (absl::string_view value : absl::StrSplit(text.substr(equals + 1), ',')) {
    axis.add_values(std::string(absl::StripAsciiWhitespace(value)));
  }
  return axis;
}

std::vector<int> RankSweepJobs(const kiln::v1::GetSweepResponse& sweep) {
  std::vector<int> ranking(sweep.jobs_size());
  for (int i = 0; i < sweep.jobs_size(); ++i) ranking[i] = i;
  std::stable_sort(ranking.begin(), ranking.end(), [&](int left, int right) {
    const kiln::v1::Job& a = sweep.jobs(left);
    const kiln::v1::Job& b = sweep.jobs(right);
    if (int c = CompareDescending(ValidationRecall(a), ValidationRecall(b)); c != 0) return c < 0;
    if (int c = CompareDescending(TestRecall(a), TestRecall(b)); c != 0) return c < 0;
    return a.id() < b.id();
  });
  return ranking;
}

int BestSweepJob(const kiln::v1::GetSweepResponse& sweep, const std::vector<int>& ranking) {
  for (int position : ranking) {
    const kiln::v1::Job& job = sweep.jobs(position);
    if (job.state() == kiln::v1::JOB_STATE_SUCCEEDED && job.result().version() > 0) {
      return position;
    }
  }
  return -1;
}

std::string SweepTable(const kiln::v1::GetSweepResponse& sweep, const std::vector<int>& ranking) {
  const kiln::v1::Sweep& about = sweep.sweep();
  std::ostringstream out;
  out << about.id();
  if (!about.plan().name().empty()) out << " " << about.plan().name();
  out << ": " << about.jobs_ended() << " of " << about.trials_size() << " jobs ended, "
      << about.jobs_succeeded() << " succeeded\n";
  std::vector<std::string> header = {"JOB"};
  for (const auto& axis : about.plan().grid()) header.push_back(axis.field());
  for (const char* column :
       {"STATE", "EPOCHS", "BEST", "VAL LOSS", "VAL R@1", "TEST R@1", "VERSION"}) {
    header.push_back(column);
  }
  Table table(header);
  for (int position : ranking) {
    const kiln::v1::Job& job = sweep.jobs(position);
    std::vector<std::string> row = {job.id()};
    for (int k = 0; k < about.plan().grid_size(); ++k) {
      const bool known = position < about.trials_size() &&
                         k < about.trials(position).values_size();
      row.push_back(known ? about.trials(position).values(k) : "-");
    }
    row.push_back(StateWord(job.state()));
    row.push_back(absl::StrCat(job.epochs_done(), "/", job.spec().epochs()));
    row.push_back(job.has_best_epoch() ? absl::StrCat(job.best_epoch().epoch()) : "-");
    row.push_back(HasValidation(job) ? absl::StrFormat("%.4f", job.best_epoch().validation_loss())
                                     : "-");
    row.push_back(Figure(ValidationRecall(job)));
    row.push_back(Figure(TestRecall(job)));
    row.push_back(job.result().version() > 0
                      ? absl::StrCat(job.result().model(), ":", job.result().version())
                      : "-");
    table.AddRow(std::move(row));
  }
  table.Print(out);
  return out.str();
}

}  // namespace kiln::cli
