#include "tests/support/loopback_service.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace kiln::testing {

std::unique_ptr<db::Pool> MigratedPool(const std::string& uri, absl::string_view schema,
                                       const std::vector<db::Migration>& migrations) {
  absl::StatusOr<std::unique_ptr<db::Pool>> pool = db::Pool::Create({uri});
  if (!pool.ok()) {
    ADD_FAILURE() << pool.status();
    return nullptr;
  }
  if (auto applied = db::ApplyMigrations(**pool, schema, migrations); !applied.ok()) {
    ADD_FAILURE() << "migrating " << schema << ": " << applied.status();
    return nullptr;
  }
  return *std::move(pool);
}

std::unique_ptr<GrpcServer> StartLoopbackServer(std::vector<grpc::Service*> services,
                                                bool public_reads) {
  ServiceConfig config;
  config.tokens = absl::StrCat("reader:", kReaderToken, ",writer:", kWriterToken,
                               ",admin:", kAdminToken);
  config.public_reads = public_reads;
  absl::StatusOr<std::shared_ptr<const auth::Policy>> policy = MakePolicy(config);
  if (!policy.ok()) {
    ADD_FAILURE() << policy.status();
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<GrpcServer>> server =
      GrpcServer::Start({"kiln-test", "127.0.0.1:0", *std::move(policy), std::move(services)});
  if (!server.ok()) {
    ADD_FAILURE() << server.status();
    return nullptr;
  }
  return *std::move(server);
}

std::string LoopbackAddress(const GrpcServer& server) {
  return absl::StrCat("127.0.0.1:", server.port());
}

}  // namespace kiln::testing
