#include "services/registry/client/registry_client.h"

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/common/status.h"

namespace kiln::registry {
namespace {

constexpr size_t kChunk = 1 << 20;

absl::Status Annotate(const grpc::Status& status, const std::string& what) {
  absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat(what, ": ", error.message()));
}

}  // namespace

RegistryClient::RegistryClient(std::shared_ptr<grpc::Channel> channel, std::string token)
    : stub_(kiln::v1::RegistryService::NewStub(std::move(channel))), token_(std::move(token)) {}

absl::StatusOr<kiln::v1::ModelVersion> RegistryClient::Publish(
    const std::string& model, const Files& files, const std::map<std::string, double>& metrics,
    const kiln::v1::Lineage& lineage, const std::string& description) {
  auto manifest = files.find("manifest.json");
  if (manifest == files.end()) return absl::InvalidArgumentError("the bundle has no manifest.json");
  grpc::ClientContext context;
  PrepareContext(context, token_, absl::Minutes(5));
  kiln::v1::ModelVersion version;
  auto writer = stub_->PublishVersion(&context, &version);
  kiln::v1::PublishVersionRequest request;
  auto* header = request.mutable_header();
  header->set_model(model);
  header->set_manifest_json(manifest->second);
  header->mutable_metrics()->insert(metrics.begin(), metrics.end());
  *header->mutable_lineage() = lineage;
  header->set_description(description);
  bool sent = writer->Write(request);
  for (const auto& [path, content] : files) {
    if (path == "manifest.json") continue;
    for (size_t offset = 0; sent && (offset < content.size() || offset == 0); offset += kChunk) {
      request.Clear();
      auto* chunk = request.mutable_file();
      chunk->set_path(path);
      chunk->set_offset(static_cast<int64_t>(offset));
      chunk->set_data(content.substr(offset, kChunk));
      chunk->set_last(offset + kChunk >= content.size());
      sent = writer->Write(request);
      if (content.empty()) break;
    }
  }
  if (sent) {
    request.Clear();
    request.mutable_commit();
    writer->Write(request);
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return Annotate(status, "publishing to the registry");
  return version;
}

absl::StatusOr<std::pair<kiln::v1::ModelVersion, Files>> RegistryClient::Download(
    const kiln::v1::VersionRef& ref) {
  grpc::ClientContext context;
  PrepareContext(context, token_, absl::Minutes(5));
  kiln::v1::DownloadVersionRequest request;
  *request.mutable_ref() = ref;
  auto reader = stub_->DownloadVersion(&context, request);
  std::pair<kiln::v1::ModelVersion, Files> result;
  kiln::v1::DownloadVersionResponse message;
  while (reader->Read(&message)) {
    if (message.has_version()) result.first = message.version();
    if (message.has_chunk()) result.second[message.chunk().path()] += message.chunk().data();
  }
  const grpc::Status status = reader->Finish();
  if (!status.ok()) return Annotate(status, "downloading from the registry");
  return result;
}

absl::StatusOr<kiln::v1::ModelVersion> RegistryClient::GetVersion(const kiln::v1::VersionRef& ref) {
  grpc::ClientContext context;
  PrepareContext(context, token_, absl::Seconds(30));
  kiln::v1::GetVersionRequest request;
  *request.mutable_ref() = ref;
  kiln::v1::ModelVersion version;
  const grpc::Status status = stub_->GetVersion(&context, request, &version);
  if (!status.ok()) return Annotate(status, "reading from the registry");
  return version;
}

}  // namespace kiln::registry
