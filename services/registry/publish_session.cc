#include "services/registry/publish_session.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/validation.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

constexpr size_t kMaxDescriptionBytes = 4096;
constexpr size_t kMaxMetricNameBytes = 128;

absl::Status Invalid(absl::string_view message) { return absl::InvalidArgumentError(message); }

absl::Status ValidateMetrics(const google::protobuf::Map<std::string, double>& metrics) {
  for (const auto& [name, value] : metrics) {
    if (name.empty() || name.size() > kMaxMetricNameBytes || !IsValidUtf8(name) ||
        name.find('\0') != std::string::npos) {
      return Invalid(absl::StrCat("metric name \"", name, "\" must be 1..", kMaxMetricNameBytes,
                                  " bytes of UTF-8"));
    }
    if (!std::isfinite(value)) return Invalid(absl::StrCat("metric ", name, " is not finite"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PublishSession::Start(const kiln::v1::PublishHeader& header) {
  if (started_) return Invalid("the stream carries a second header; send exactly one, first");
  if (absl::Status valid = ValidateModelName(header.model()); !valid.ok()) return valid;
  absl::StatusOr<Manifest> manifest = ParseManifest(header.manifest_json());
  if (!manifest.ok()) return manifest.status();
  int64_t total = static_cast<int64_t>(header.manifest_json().size());
  for (const kiln::v1::FileDigest& file : manifest->files) {
    // Compared before adding: sizes up to INT64_MAX must not wrap the sum.
    if (file.size() > kMaxPublishBytes - total) {
      return Invalid(absl::StrCat("the manifest's files add up to more than ", kMaxPublishBytes,
                                  " bytes, the most one version may hold"));
    }
    total += file.size();
  }
  if (absl::Status valid = ValidateMetrics(header.metrics()); !valid.ok()) return valid;
  if (header.description().size() > kMaxDescriptionBytes || !IsValidUtf8(header.description()) ||
      header.description().find('\0') != std::string::npos) {
    return Invalid(absl::StrCat("description must be at most ", kMaxDescriptionBytes,
                                " bytes of UTF-8 without NUL"));
  }

  started_ = true;
  declared_bytes_ = total;
  version_.model = header.model();
  version_.manifest_json = header.manifest_json();
  version_.manifest_sha256 = Sha256Hex(header.manifest_json());
  version_.manifest = *std::move(manifest);
  version_.metrics = version_.manifest.metrics;
  for (const auto& [name, value] : header.metrics()) version_.metrics[name] = value;
  version_.lineage = header.lineage();
  version_.description = header.description();
  for (size_t i = 0; i < version_.manifest.files.size(); ++i) {
    index_[version_.manifest.files[i].path()] = static_cast<int>(i);
  }
  return absl::OkStatus();
}

absl::Status PublishSession::Add(const kiln::v1::FileChunk& chunk) {
  if (!started_) return Invalid("the first message must be the header");
  const std::string& path = chunk.path();
  const auto listed = index_.find(path);
  if (listed == index_.end()) {
    return Invalid(absl::StrCat("unknown file \"", path, "\": manifest.json does not list it",
                                path == kManifestPath ? " (the manifest travels in the header)" : ""));
  }
  const kiln::v1::FileDigest& expected = version_.manifest.files[listed->second];
  if (static_cast<int64_t>(chunk.data().size()) > kMaxChunkBytes) {
    return Invalid(absl::StrCat("a chunk of ", path, " holds ", chunk.data().size(),
                                " bytes; at most ", kMaxChunkBytes, " per chunk"));
  }
  if (!open_path_.empty() && open_path_ != path) {
    return Invalid(absl::StrCat("got a chunk of ", path, " before the last chunk of ", open_path_,
                                "; send files one after the other"));
  }
  Progress& progress = progress_[path];
  if (progress.complete) return Invalid(absl::StrCat("file ", path, " is sent twice"));
  if (chunk.offset() != progress.received) {
    return Invalid(absl::StrCat("chunk of ", path, " at offset ", chunk.offset(),
                                "; the file's bytes so far end at ", progress.received));
  }
  progress.received += static_cast<int64_t>(chunk.data().size());
  if (progress.received > expected.size()) {
    return Invalid(absl::StrCat("file ", path, " is larger than the ", expected.size(),
                                " bytes manifest.json gives"));
  }
  if (open_path_.empty()) {
    open_path_ = path;
    open_hash_ = std::make_unique<Sha256>();
  }
  open_hash_->Update(chunk.data());
  std::string& bytes = version_.contents[path];
  bytes.append(chunk.data());
  if (!chunk.last()) return absl::OkStatus();

  progress.complete = true;
  open_path_.clear();
  return Close(expected, bytes);
}

absl::Status PublishSession::Close(const kiln::v1::FileDigest& expected, const std::string& bytes) {
  if (static_cast<int64_t>(bytes.size()) != expected.size()) {
    return Invalid(absl::StrCat("file ", expected.path(), " has ", bytes.size(),
                                " bytes; manifest.json gives ", expected.size()));
  }
  const std::string actual = open_hash_->HexDigest();
  open_hash_.reset();
  if (actual != expected.sha256()) {
    return Invalid(absl::StrCat("sha256 mismatch for ", expected.path(), ": manifest.json gives ",
                                expected.sha256(), ", the bytes received hash to ", actual));
  }
  return absl::OkStatus();
}

absl::StatusOr<NewVersion> PublishSession::Commit() {
  if (!started_) return Invalid("commit without a header");
  if (!open_path_.empty()) {
    return Invalid(absl::StrCat("commit before the last chunk of ", open_path_));
  }
  std::vector<std::string> missing;
  for (const kiln::v1::FileDigest& file : version_.manifest.files) {
    if (!progress_[file.path()].complete) missing.push_back(file.path());
  }
  if (!missing.empty()) {
    return Invalid(absl::StrCat("commit without ", missing.size(), " file(s) manifest.json lists: ",
                                absl::StrJoin(missing, ", ")));
  }
  started_ = false;
  return std::move(version_);
}

}  // namespace kiln::registry
