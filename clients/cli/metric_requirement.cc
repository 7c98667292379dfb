#include "clients/cli/metric_requirement.h"

#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::cli {

absl::StatusOr<kiln::v1::MetricRequirement> ParseRequirement(const std::string& text) {
  static const std::regex pattern(R"(^\s*([A-Za-z0-9@_.\-]+)\s*(>=|<=|>|<)\s*([-+0-9.eE]+)\s*$)");
  std::smatch match;
  double threshold = 0;
  if (!std::regex_match(text, match, pattern) || !absl::SimpleAtod(match[3].str(), &threshold)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--require \"", text, "\" is not METRIC OP NUMBER, e.g. recall@1>=0.85"));
  }
  kiln::v1::MetricRequirement requirement;
  requirement.set_metric(match[1].str());
  const std::string op = match[2].str();
  requirement.set_comparison(op == ">="  ? kiln::v1::MetricRequirement::GREATER_OR_EQUAL
                             : op == ">" ? kiln::v1::MetricRequirement::GREATER
                             : op == "<=" ? kiln::v1::MetricRequirement::LESS_OR_EQUAL
                                          : kiln::v1::MetricRequirement::LESS);
  requirement.set_threshold(threshold);
  return requirement;
}

}  // namespace kiln::cli
