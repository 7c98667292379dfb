#include "services/registry/metric_requirements.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln::registry {
namespace {

using Comparison = kiln::v1::MetricRequirement::Comparison;

const char* Operator(Comparison comparison) {
  switch (comparison) {
    case kiln::v1::MetricRequirement::GREATER_OR_EQUAL:
      return ">=";
    case kiln::v1::MetricRequirement::GREATER:
      return ">";
    case kiln::v1::MetricRequirement::LESS_OR_EQUAL:
      return "<=";
    case kiln::v1::MetricRequirement::LESS:
      return "<";
    default:
      return "?";
  }
}

bool Holds(double actual, Comparison comparison, double threshold) {
  switch (comparison) {
    case kiln::v1::MetricRequirement::GREATER_OR_EQUAL:
      return actual >= threshold;
    case kiln::v1::MetricRequirement::GREATER:
      return actual > threshold;
    case kiln::v1::MetricRequirement::LESS_OR_EQUAL:
      return actual <= threshold;
    case kiln::v1::MetricRequirement::LESS:
      return actual < threshold;
    default:
      return false;
  }
}

}  // namespace

absl::Status ValidateRequirements(const Requirements& requirements) {
  for (int i = 0; i < requirements.size(); ++i) {
    const kiln::v1::MetricRequirement& requirement = requirements[i];
    const std::string where = absl::StrCat("requirements[", i, "]");
    if (requirement.metric().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, " names no metric"));
    }
    if (requirement.comparison() == kiln::v1::MetricRequirement::COMPARISON_UNSPECIFIED ||
        !kiln::v1::MetricRequirement::Comparison_IsValid(requirement.comparison())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", requirement.metric(), ") has no comparison"));
    }
    if (!std::isfinite(requirement.threshold())) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " (", requirement.metric(), ") has a threshold that is not finite"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckRequirements(const std::map<std::string, double>& metrics,
                               const Requirements& requirements, absl::string_view subject) {
  std::vector<std::string> failures;
  for (const kiln::v1::MetricRequirement& requirement : requirements) {
    const std::string wanted = absl::StrCat(requirement.metric(), " ",
                                            Operator(requirement.comparison()), " ",
                                            requirement.threshold());
    const auto metric = metrics.find(requirement.metric());
    if (metric == metrics.end()) {
      failures.push_back(absl::StrCat(wanted, " (the version has no such metric)"));
    } else if (!Holds(metric->second, requirement.comparison(), requirement.threshold())) {
      failures.push_back(absl::StrCat(wanted, " (actual ", metric->second, ")"));
    }
  }
  if (failures.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(subject, " fails ", failures.size(), " of ",
                                                    requirements.size(), " requirements: ",
                                                    absl::StrJoin(failures, "; ")));
}

}  // namespace kiln::registry
