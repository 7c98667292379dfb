#include "services/registry/registry_client.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "services/common/client.h"
#include "services/common/file_chunks.h"
#include "services/common/status.h"
#include "services/registry/publish_session.h"

namespace kiln::registry {
namespace {

absl::Status Annotate(const grpc::Status& status, const std::string& what) {
  absl::Status error = FromGrpcStatus(status);
  return absl::Status(error.code(), absl::StrCat(what, ": ", error.message()));
}

}  // namespace


absl::StatusOr<kiln::v1::ModelVersion> PublishBundle(
    kiln::v1::RegistryService::StubInterface& stub, const std::string& token,
    const kiln::v1::PublishHeader& header, const std::map<std::string, std::string>& files) {
  // A deadline in proportion to the upload (a minute, and a second per MiB):
  // a stalled registry fails the publish instead of holding the job.
  int64_t bytes = static_cast<int64_t>(header.manifest_json().size());
  for (const auto& [path, content] : files) bytes += static_cast<int64_t>(content.size());
  grpc::ClientContext context;
  PrepareContext(context, token, absl::Seconds(60) + absl::Seconds(bytes >> 20));
  kiln::v1::ModelVersion version;
  std::unique_ptr<grpc::ClientWriterInterface<kiln::v1::PublishVersionRequest>> writer =
      stub.PublishVersion(&context, &version);
  kiln::v1::PublishVersionRequest request;
  *request.mutable_header() = header;
  // A failed Write means the server ended the call; Finish() says why.
  bool open = writer->Write(request);
  for (auto file = files.begin(); open && file != files.end(); ++file) {
    open = SendFileChunks(file->first, file->second, [&](const kiln::v1::FileChunk& chunk) {
      request.Clear();
      *request.mutable_file() = chunk;
      return writer->Write(request);
    });
  }
  if (open) {
    request.Clear();
    request.mutable_commit();
    writer->Write(request);
  }
  writer->WritesDone();
  const grpc::Status status = writer->Finish();
  if (!status.ok()) return FromGrpcStatus(status);
  return version;
}

RegistryClient::RegistryClient(std::shared_ptr<grpc::Channel> channel, std::string token)
    : stub_(kiln::v1::RegistryService::NewStub(std::move(channel))), token_(std::move(token)) {}

absl::StatusOr<kiln::v1::ModelVersion> RegistryClient::Publish(
    const std::string& model, const Files& files, const std::map<std::string, double>& metrics,
    const kiln::v1::Lineage& lineage, const std::string& description) {
  auto manifest = files.find("manifest.json");
  if (manifest == files.end()) return absl::InvalidArgumentError("the bundle has no manifest.json");
  kiln::v1::PublishHeader header;
  header.set_model(model);
  header.set_manifest_json(manifest->second);
  header.mutable_metrics()->insert(metrics.begin(), metrics.end());
  *header.mutable_lineage() = lineage;
  header.set_description(description);
  Files others = files;
  others.erase("manifest.json");
  absl::StatusOr<kiln::v1::ModelVersion> version = PublishBundle(*stub_, token_, header, others);
  if (!version.ok()) {
    return absl::Status(version.status().code(),
                        absl::StrCat("publishing to the registry: ", version.status().message()));
  }
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
