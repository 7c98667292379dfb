#include "clients/cli/model_ref.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace kiln::cli {

absl::StatusOr<kiln::v1::VersionRef> ParseModelRef(const std::string& text) {
  kiln::v1::VersionRef ref;
  const size_t at = text.find('@');
  const size_t colon = text.find(':');
  if (at != std::string::npos) {
    ref.set_model(text.substr(0, at));
    ref.set_alias(text.substr(at + 1));
  } else if (colon != std::string::npos) {
    ref.set_model(text.substr(0, colon));
    int64_t version = 0;
    if (!absl::SimpleAtoi(text.substr(colon + 1), &version) || version < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", text, "\": the version after ':' must be a number >= 1"));
    }
    ref.set_version(version);
  } else {
    ref.set_model(text);
    ref.set_alias("latest");
  }
  if (ref.model().empty() || (ref.has_alias() && ref.alias().empty())) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", text, "\" is not MODEL, MODEL:VERSION or MODEL@ALIAS"));
  }
  return ref;
}

std::string DescribeRef(const kiln::v1::VersionRef& ref) {
  return ref.has_alias() ? absl::StrCat(ref.model(), "@", ref.alias())
                         : absl::StrCat(ref.model(), ":", ref.version());
}

}  // namespace kiln::cli
