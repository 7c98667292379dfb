#include "services/registry/registry_service.h"

#include <algorithm>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/file_chunks.h"
#include "services/common/log.h"
#include "services/common/status.h"
#include "services/common/validation.h"
#include "services/registry/publish_session.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

constexpr int kDefaultPageSize = 50;

grpc::Status InvalidArgument(const std::string& message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, message);
}

absl::Status ValidateModel(const std::string& model) { return ValidateModelName(model); }

absl::Status ValidateAlias(const std::string& alias, bool allow_latest) {
  if (absl::Status valid = ValidateAliasName(alias); !valid.ok()) return valid;
  if (!allow_latest && alias == kLatestAlias) {
    return absl::InvalidArgumentError("alias \"latest\" moves by publishing only");
  }
  return absl::OkStatus();
}

absl::Status ValidateVersionNumber(int64_t version) {
  if (version >= 1) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("version ", version, " must be >= 1"));
}

absl::Status ValidateRef(const kiln::v1::VersionRef& ref) {
  KILN_RETURN_IF_ERROR(ValidateModel(ref.model()));
  switch (ref.selector_case()) {
    case kiln::v1::VersionRef::kVersion:
      return ValidateVersionNumber(ref.version());
    case kiln::v1::VersionRef::kAlias:
      return ValidateAlias(ref.alias(), /*allow_latest=*/true);
    default:
      return absl::InvalidArgumentError("ref names neither a version nor an alias");
  }
}

// A refused publish: the reason, and the reassurance the caller needs.
grpc::Status PublishRefused(const absl::Status& status) {
  return ToGrpcStatus(
      absl::Status(status.code(), absl::StrCat(status.message(), " (nothing was stored)")));
}

}  // namespace

grpc::Status RegistryServiceImpl::PublishVersion(
    grpc::ServerContext* context, grpc::ServerReader<kiln::v1::PublishVersionRequest>* reader,
    kiln::v1::ModelVersion* response) {
  KILN_AUTHORIZE(context);
  PublishSession session;
  PublishBudget::Reservation held;
  std::optional<NewVersion> committed;
  kiln::v1::PublishVersionRequest request;
  while (reader->Read(&request)) {
    if (committed) return PublishRefused(absl::InvalidArgumentError("a message follows the commit"));
    absl::Status status;
    switch (request.part_case()) {
      case kiln::v1::PublishVersionRequest::kHeader: {
        status = session.Start(request.header());
        if (!status.ok()) break;
        absl::StatusOr<PublishBudget::Reservation> reserved =
            publish_budget_.Reserve(session.declared_bytes());
        status = reserved.status();
        if (reserved.ok()) held = *std::move(reserved);
        break;
      }
      case kiln::v1::PublishVersionRequest::kFile:
        status = session.Add(request.file());
        break;
      case kiln::v1::PublishVersionRequest::kCommit: {
        absl::StatusOr<NewVersion> version = session.Commit();
        status = version.status();
        if (version.ok()) committed = *std::move(version);
        break;
      }
      default:
        status = absl::InvalidArgumentError("a message carries no header, file or commit");
    }
    if (!status.ok()) return PublishRefused(status);
  }
  // Storing only once the client has closed its side cleanly: a cancel
  // right after the commit still leaves nothing behind.
  if (context->IsCancelled()) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "publish cancelled; nothing was stored");
  }
  if (!committed) {
    return grpc::Status(grpc::StatusCode::ABORTED,
                        "the publish stream ended without a commit; nothing was stored");
  }
  absl::StatusOr<kiln::v1::ModelVersion> stored = store_.Publish(*committed);
  if (!stored.ok()) {
    log::Error("publish of ", committed->model, " failed: ", stored.status().ToString());
    return PublishRefused(stored.status());
  }
  cache_.Forget(stored->model());
  log::Info("published ", stored->model(), " version ", stored->version(), " (",
            stored->files_size(), " files, ", stored->size_bytes(), " bytes)");
  *response = *std::move(stored);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::ListModels(grpc::ServerContext* context,
                                             const kiln::v1::ListModelsRequest*,
                                             kiln::v1::ListModelsResponse* response) {
  KILN_AUTHORIZE(context);
  absl::StatusOr<std::vector<kiln::v1::Model>> models = store_.ListModels();
  if (!models.ok()) return ToGrpcStatus(models.status());
  for (kiln::v1::Model& model : *models) *response->add_models() = std::move(model);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::GetModel(grpc::ServerContext* context,
                                           const kiln::v1::GetModelRequest* request,
                                           kiln::v1::Model* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateModel(request->name()); !valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<kiln::v1::Model> model = store_.GetModel(request->name());
  if (!model.ok()) return ToGrpcStatus(model.status());
  *response = *std::move(model);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::ListVersions(grpc::ServerContext* context,
                                               const kiln::v1::ListVersionsRequest* request,
                                               kiln::v1::ListVersionsResponse* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateModel(request->model()); !valid.ok()) return ToGrpcStatus(valid);
  if (absl::Status valid = ValidatePageSize(request->page_size()); !valid.ok()) {
    return ToGrpcStatus(valid);
  }
  // The token is the version to continue below.
  int64_t before = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &before) || before < 1)) {
    return InvalidArgument("page_token is not one this service handed out");
  }
  absl::StatusOr<RegistryStore::VersionPage> page = store_.ListVersions(
      request->model(), request->page_size() > 0 ? request->page_size() : kDefaultPageSize,
      before);
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (kiln::v1::ModelVersion& version : page->versions) {
    *response->add_versions() = std::move(version);
  }
  if (page->next_before > 0) response->set_next_page_token(std::to_string(page->next_before));
  return grpc::Status::OK;
}

absl::StatusOr<kiln::v1::ModelVersion> RegistryServiceImpl::Resolve(
    const kiln::v1::VersionRef& ref) {
  int64_t version = ref.version();
  if (ref.selector_case() == kiln::v1::VersionRef::kAlias) {
    KILN_ASSIGN_OR_RETURN(version, store_.ResolveAlias(ref.model(), ref.alias()));
  }
  return store_.GetVersion(ref.model(), version);
}

grpc::Status RegistryServiceImpl::GetVersion(grpc::ServerContext* context,
                                             const kiln::v1::GetVersionRequest* request,
                                             kiln::v1::ModelVersion* response) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateRef(request->ref()); !valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<kiln::v1::ModelVersion> version = Resolve(request->ref());
  if (!version.ok()) return ToGrpcStatus(version.status());
  *response = *std::move(version);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::DownloadVersion(
    grpc::ServerContext* context, const kiln::v1::DownloadVersionRequest* request,
    grpc::ServerWriter<kiln::v1::DownloadVersionResponse>* writer) {
  KILN_AUTHORIZE(context);
  if (absl::Status valid = ValidateRef(request->ref()); !valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<kiln::v1::ModelVersion> version = Resolve(request->ref());
  if (!version.ok()) return ToGrpcStatus(version.status());

  // Files in manifest order, manifest.json last: a client writing them to
  // disk as they come never holds a manifest without its files.
  const std::set<std::string> wanted(request->paths().begin(), request->paths().end());
  for (const std::string& path : wanted) {
    const bool listed = std::any_of(version->files().begin(), version->files().end(),
                                    [&](const kiln::v1::FileDigest& file) { return file.path() == path; });
    if (!listed && path != kManifestPath) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND,
                          absl::StrCat("version ", version->version(), " of model \"",
                                       version->model(), "\" has no file \"", path, "\""));
    }
  }
  auto included = [&](const std::string& path) { return wanted.empty() || wanted.count(path) > 0; };

  kiln::v1::DownloadVersionResponse message;
  *message.mutable_version() = *version;
  if (!writer->Write(message)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  auto send = [&](const std::string& path, const std::string& bytes) {
    return SendFileChunks(path, bytes, [&](const kiln::v1::FileChunk& chunk) {
      message.Clear();
      *message.mutable_chunk() = chunk;
      return writer->Write(message);
    });
  };
  for (const kiln::v1::FileDigest& file : version->files()) {
    if (!included(file.path())) continue;
    absl::StatusOr<std::shared_ptr<const std::string>> bytes = cache_.Blob(file.sha256());
    if (!bytes.ok()) return ToGrpcStatus(bytes.status());
    if (!send(file.path(), **bytes)) return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  if (included(kManifestPath) && !send(kManifestPath, version->manifest_json())) {
    return grpc::Status(grpc::StatusCode::CANCELLED, "client went away");
  }
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::DeleteVersion(grpc::ServerContext* context,
                                                const kiln::v1::DeleteVersionRequest* request,
                                                kiln::v1::DeleteVersionResponse*) {
  KILN_AUTHORIZE(context);
  absl::Status valid = ValidateModel(request->model());
  if (valid.ok()) valid = ValidateVersionNumber(request->version());
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status deleted = store_.DeleteVersion(request->model(), request->version());
  if (!deleted.ok()) return ToGrpcStatus(deleted);
  cache_.Forget(request->model());
  log::Info("deleted ", request->model(), " version ", request->version());
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::SetAlias(grpc::ServerContext* context,
                                           const kiln::v1::SetAliasRequest* request,
                                           kiln::v1::Alias* response) {
  KILN_AUTHORIZE(context);
  absl::Status valid = ValidateModel(request->model());
  if (valid.ok()) valid = ValidateAlias(request->alias(), /*allow_latest=*/false);
  if (valid.ok()) valid = ValidateVersionNumber(request->version());
  if (valid.ok()) valid = ValidateRequirements(request->requirements());
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::StatusOr<kiln::v1::Alias> alias = store_.SetAlias(request->model(), request->alias(),
                                                          request->version(), request->requirements());
  if (!alias.ok()) return ToGrpcStatus(alias.status());
  cache_.Forget(request->model());
  log::Info("alias ", request->model(), "@", request->alias(), " -> version ", request->version());
  *response = *std::move(alias);
  return grpc::Status::OK;
}

grpc::Status RegistryServiceImpl::DeleteAlias(grpc::ServerContext* context,
                                              const kiln::v1::DeleteAliasRequest* request,
                                              kiln::v1::DeleteAliasResponse*) {
  KILN_AUTHORIZE(context);
  absl::Status valid = ValidateModel(request->model());
  if (valid.ok()) valid = ValidateAlias(request->alias(), /*allow_latest=*/false);
  if (!valid.ok()) return ToGrpcStatus(valid);
  absl::Status deleted = store_.DeleteAlias(request->model(), request->alias());
  if (!deleted.ok()) return ToGrpcStatus(deleted);
  cache_.Forget(request->model());
  log::Info("deleted alias ", request->model(), "@", request->alias());
  return grpc::Status::OK;
}

}  // namespace kiln::registry
