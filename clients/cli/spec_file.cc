#include "clients/cli/spec_file.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "services/common/proto_json.h"

namespace kiln::cli {

absl::StatusOr<kiln::v1::JobSpec> ReadJobSpecFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
  kiln::v1::JobSpec spec;
  if (absl::Status parsed = FromJson(text.str(), &spec); !parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a job spec: ", parsed.message()));
  }
  return spec;
}

}  // namespace kiln::cli
