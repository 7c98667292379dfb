#include "services/model/idf_file.h"

#include <charconv>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kiln::model {
namespace {

constexpr char kIdfFormat[] = "kiln-idf";

}  // namespace

std::string IdfToJson(absl::Span<const float> idf, const std::string& vocab_sha256) {
  // Keys in sorted order, as nlohmann would write them; the array by hand
  // because nlohmann prints a float as its double expansion.
  std::string out = absl::StrCat("{\"format\":\"", kIdfFormat, "\",\"idf\":[");
  char buffer[32];
  for (size_t i = 0; i < idf.size(); ++i) {
    if (i > 0) out.push_back(',');
    const std::to_chars_result written = std::to_chars(buffer, buffer + sizeof(buffer), idf[i]);
    out.append(buffer, written.ptr);
  }
  absl::StrAppend(&out, "],\"vocab_sha256\":\"", vocab_sha256, "\"}");
  return out;
}

absl::StatusOr<std::vector<float>> ParseIdfJson(absl::string_view text,
                                                const std::string& vocab_sha256, int vocab_size) {
  const nlohmann::json doc =
      nlohmann::json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("format") ||
      doc["format"] != kIdfFormat) {
    return absl::InvalidArgumentError(
        absl::StrCat("idf.json is not a JSON object with \"format\": \"", kIdfFormat, "\""));
  }
  if (!doc.contains("vocab_sha256") || doc["vocab_sha256"] != vocab_sha256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "idf.json belongs to vocabulary ", doc.value("vocab_sha256", nlohmann::json()).dump(),
        ", this bundle's is ", vocab_sha256));
  }
  const auto values = doc.find("idf");
  if (values == doc.end() || !values->is_array() ||
      values->size() != static_cast<size_t>(vocab_size)) {
    return absl::InvalidArgumentError(
        absl::StrCat("idf.json needs an \"idf\" array of ", vocab_size, " numbers (one per id)"));
  }
  std::vector<float> idf;
  idf.reserve(values->size());
  for (size_t i = 0; i < values->size(); ++i) {
    const nlohmann::json& value = (*values)[i];
    const double number = value.is_number() ? value.get<double>() : -1;
    if (!std::isfinite(number) || number < 0 || number > 1e6) {
      return absl::InvalidArgumentError(
          absl::StrCat("idf.json: idf[", i, "] is ", value.dump(), ", not a number in 0..1e6"));
    }
    idf.push_back(static_cast<float>(number));
  }
  return idf;
}

}  // namespace kiln::model
