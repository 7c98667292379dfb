#include "services/registry/manifest.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

using nlohmann::json;

// Names the HTTP API serves under a version itself, so no bundle file may
// take them.
constexpr const char* kReservedPaths[] = {kManifestPath, "metrics.json", "bundle.tar.gz"};

// PostgreSQL text cannot hold NUL, which JSON can carry as \u0000.
bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

absl::Status FieldError(absl::string_view field, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("manifest.json \"", field, "\" ", what));
}

absl::StatusOr<kiln::v1::FileDigest> ParseFile(const json& file, const std::string& where) {
  if (!file.is_object()) return FieldError(where, "must be an object");
  kiln::v1::FileDigest digest;
  const auto path = file.find("path");
  if (path == file.end() || !path->is_string()) return FieldError(where + ".path", "must be a string");
  digest.set_path(path->get<std::string>());
  if (absl::Status valid = ValidateFilePath(digest.path()); !valid.ok()) {
    return FieldError(where + ".path", valid.message());
  }
  for (const char* reserved : kReservedPaths) {
    if (digest.path() == reserved) {
      return FieldError(where + ".path", absl::StrCat("\"", reserved, "\" is reserved"));
    }
  }
  const auto size = file.find("size");
  if (size == file.end() || !size->is_number_integer() || size->get<int64_t>() < 0) {
    return FieldError(where + ".size", "must be a non-negative integer");
  }
  digest.set_size(size->get<int64_t>());
  const auto sha256 = file.find("sha256");
  if (sha256 == file.end() || !sha256->is_string() || !IsSha256Hex(sha256->get<std::string>())) {
    return FieldError(where + ".sha256", "must be a lower-case hex sha256");
  }
  digest.set_sha256(sha256->get<std::string>());
  return digest;
}

absl::Status ParseFiles(const json& doc, Manifest& manifest) {
  const auto files = doc.find("files");
  if (files == doc.end() || !files->is_array()) return FieldError("files", "must be an array");
  if (files->size() > static_cast<size_t>(kMaxManifestFiles)) {
    return FieldError("files", absl::StrCat("lists ", files->size(), " files; at most ",
                                            kMaxManifestFiles, " are allowed"));
  }
  std::set<std::string> paths;
  for (const json& file : *files) {
    absl::StatusOr<kiln::v1::FileDigest> digest =
        ParseFile(file, absl::StrCat("files[", manifest.files.size(), "]"));
    if (!digest.ok()) return digest.status();
    if (!paths.insert(digest->path()).second) {
      return FieldError("files", absl::StrCat("lists \"", digest->path(), "\" twice"));
    }
    manifest.files.push_back(*std::move(digest));
  }
  return absl::OkStatus();
}

absl::Status ParseClasses(const json& doc, Manifest& manifest) {
  const auto classes = doc.find("classes");
  if (classes == doc.end()) return absl::OkStatus();
  if (!classes->is_array()) return FieldError("classes", "must be an array of strings");
  for (const json& name : *classes) {
    if (!name.is_string() || HasNul(name.get<std::string>())) {
      return FieldError("classes", "must be an array of strings without NUL");
    }
    manifest.classes.push_back(name.get<std::string>());
  }
  return absl::OkStatus();
}

// The string at doc[section][key], else at doc[flat_key]; empty when
// neither is present.
absl::StatusOr<std::string> OptionalString(const json& doc, const char* section, const char* key,
                                           const char* flat_key) {
  const json* value = nullptr;
  std::string field = flat_key;
  if (const auto nested = doc.find(section); nested != doc.end() && nested->is_object()) {
    if (const auto it = nested->find(key); it != nested->end()) {
      value = &*it;
      field = absl::StrCat(section, ".", key);
    }
  }
  if (value == nullptr) {
    const auto it = doc.find(flat_key);
    if (it == doc.end()) return std::string();
    value = &*it;
  }
  if (!value->is_string() || HasNul(value->get<std::string>())) {
    return FieldError(field, "must be a string without NUL");
  }
  return value->get<std::string>();
}

absl::Status ParseWeightEncoding(const json& doc, Manifest& manifest) {
  absl::StatusOr<std::string> name = OptionalString(doc, "model", "weight_encoding", "weight_encoding");
  if (!name.ok()) return name.status();
  if (name->empty()) return absl::OkStatus();
  for (auto encoding : {kiln::v1::WEIGHT_ENCODING_FLOAT32, kiln::v1::WEIGHT_ENCODING_FLOAT16,
                        kiln::v1::WEIGHT_ENCODING_UINT8}) {
    if (*name == WeightEncodingName(encoding)) {
      manifest.weight_encoding = encoding;
      return absl::OkStatus();
    }
  }
  return FieldError("weight_encoding",
                    absl::StrCat("is \"", *name, "\"; expected float32, float16 or uint8"));
}

void ParseMetrics(const json& doc, Manifest& manifest) {
  const auto metrics = doc.find("metrics");
  if (metrics == doc.end() || !metrics->is_object()) return;
  for (const auto& [name, value] : metrics->items()) {
    if (value.is_number() && std::isfinite(value.get<double>()) && !HasNul(name)) {
      manifest.metrics[name] = value.get<double>();
    }
  }
}

}  // namespace

const char* WeightEncodingName(kiln::v1::WeightEncoding encoding) {
  switch (encoding) {
    case kiln::v1::WEIGHT_ENCODING_FLOAT16:
      return "float16";
    case kiln::v1::WEIGHT_ENCODING_UINT8:
      return "uint8";
    default:
      return "float32";
  }
}

absl::StatusOr<Manifest> ParseManifest(absl::string_view text) {
  if (static_cast<int64_t>(text.size()) > kMaxManifestBytes) {
    return absl::InvalidArgumentError(absl::StrCat("manifest.json is ", text.size(),
                                                   " bytes; at most ", kMaxManifestBytes));
  }
  // Invalid UTF-8 inside strings fails the parse too.
  const json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("manifest.json is not a JSON object");
  }
  Manifest manifest;
  if (absl::Status status = ParseFiles(doc, manifest); !status.ok()) return status;
  if (absl::Status status = ParseClasses(doc, manifest); !status.ok()) return status;
  if (absl::Status status = ParseWeightEncoding(doc, manifest); !status.ok()) return status;
  absl::StatusOr<std::string> spec =
      OptionalString(doc, "preprocessing", "spec_version", "preprocess_spec_version");
  if (!spec.ok()) return spec.status();
  manifest.preprocess_spec_version = *std::move(spec);
  ParseMetrics(doc, manifest);
  return manifest;
}

}  // namespace kiln::registry
