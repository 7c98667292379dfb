// What the service tests share: the test tokens, a pool on the test's
// database with a schema migrated, and Kiln gRPC servers on free loopback
// ports with the standard bootstrap (auth interceptor, health, reflection).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <grpcpp/impl/codegen/service_type.h>

#include "absl/strings/string_view.h"
#include "services/common/db/migrations.h"
#include "services/common/db/pool.h"
#include "services/common/server.h"

namespace kiln::testing {

inline constexpr char kReaderToken[] = "reader-token-0123456789";
inline constexpr char kWriterToken[] = "writer-token-0123456789";
inline constexpr char kAdminToken[] = "admin-token-0123456789ab";

// A pool on `uri` with `schema` migrated; nullptr (and a test failure) when
// either fails.
std::unique_ptr<db::Pool> MigratedPool(const std::string& uri, absl::string_view schema,
                                       const std::vector<db::Migration>& migrations);

// Serves `services` on 127.0.0.1 with the three test tokens; nullptr (and a
// test failure) when the server cannot start.
std::unique_ptr<GrpcServer> StartLoopbackServer(std::vector<grpc::Service*> services,
                                                bool public_reads = false);

// "127.0.0.1:<port>".
std::string LoopbackAddress(const GrpcServer& server);

}  // namespace kiln::testing
