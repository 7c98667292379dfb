// The gRPC surface of the registry: auth, validation at the edge, the
// publish stream, and translation to RegistryStore calls.
#pragma once

#include "kiln/v1/registry.grpc.pb.h"
#include "services/registry/publish_budget.h"
#include "services/registry/registry_store.h"
#include "services/registry/serving_cache.h"

namespace kiln::registry {

class RegistryServiceImpl final : public kiln::v1::RegistryService::Service {
 public:
  // File contents are read through `cache`, whose entries for a model are
  // dropped whenever this service changes the model.
  // Publishes in progress hold their bundles within `publish_budget`.
  RegistryServiceImpl(RegistryStore& store, ServingCache& cache, PublishBudget& publish_budget)
      : store_(store), cache_(cache), publish_budget_(publish_budget) {}

  grpc::Status PublishVersion(grpc::ServerContext* context,
                              grpc::ServerReader<kiln::v1::PublishVersionRequest>* reader,
                              kiln::v1::ModelVersion* response) override;
  grpc::Status ListModels(grpc::ServerContext* context, const kiln::v1::ListModelsRequest* request,
                          kiln::v1::ListModelsResponse* response) override;
  grpc::Status GetModel(grpc::ServerContext* context, const kiln::v1::GetModelRequest* request,
                        kiln::v1::Model* response) override;
  grpc::Status ListVersions(grpc::ServerContext* context,
                            const kiln::v1::ListVersionsRequest* request,
                            kiln::v1::ListVersionsResponse* response) override;
  grpc::Status GetVersion(grpc::ServerContext* context, const kiln::v1::GetVersionRequest* request,
                          kiln::v1::ModelVersion* response) override;
  grpc::Status DownloadVersion(grpc::ServerContext* context,
                               const kiln::v1::DownloadVersionRequest* request,
                               grpc::ServerWriter<kiln::v1::DownloadVersionResponse>* writer) override;
  grpc::Status DeleteVersion(grpc::ServerContext* context,
                             const kiln::v1::DeleteVersionRequest* request,
                             kiln::v1::DeleteVersionResponse* response) override;
  grpc::Status SetAlias(grpc::ServerContext* context, const kiln::v1::SetAliasRequest* request,
                        kiln::v1::Alias* response) override;
  grpc::Status DeleteAlias(grpc::ServerContext* context,
                           const kiln::v1::DeleteAliasRequest* request,
                           kiln::v1::DeleteAliasResponse* response) override;

 private:
  // The version `ref` names, through an alias if it uses one, read fresh
  // from the store.
  absl::StatusOr<kiln::v1::ModelVersion> Resolve(const kiln::v1::VersionRef& ref);

  RegistryStore& store_;
  ServingCache& cache_;
  PublishBudget& publish_budget_;
};

}  // namespace kiln::registry
