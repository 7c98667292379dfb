#include "services/common/server.h"

#include <signal.h>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/server_builder.h>

#include "absl/strings/str_cat.h"
#include "services/common/auth/interceptor.h"
#include "services/common/log.h"

namespace kiln {
namespace {

// Requests are chunked (files, checkpoints: 1 MiB; ingest: ~3 MiB), so a
// larger one is refused before it is buffered. Replies may be bigger pages.
constexpr int kMaxReceiveBytes = 16 << 20;
constexpr int kMaxSendBytes = 64 << 20;
// The synchronous server runs each call on a thread of its own: past this
// many, new calls are refused with RESOURCE_EXHAUSTED instead of starving
// the machine (and the database pool the heartbeats need).
constexpr int kMaxThreads = 128;
constexpr int kMaxConcurrentStreamsPerConnection = 64;
// Dead peers are found by keepalive pings; idle connections are closed;
// every connection is renewed now and then so that load spreads over
// replicas, with a grace period for long streams (watches, uploads).
constexpr int kKeepaliveTimeMs = 30 * 1000;
constexpr int kKeepaliveTimeoutMs = 10 * 1000;
constexpr int kMinClientPingIntervalMs = 10 * 1000;
constexpr int kMaxConnectionIdleMs = 10 * 60 * 1000;
constexpr int kMaxConnectionAgeMs = 60 * 60 * 1000;
constexpr int kMaxConnectionAgeGraceMs = 10 * 60 * 1000;

sigset_t TerminationSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  return set;
}

}  // namespace

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Start(ServerSpec spec) {
  if (spec.policy == nullptr) return absl::InvalidArgumentError("server has no auth policy");
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(spec.listen, grpc::InsecureServerCredentials(), &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  builder.SetMaxSendMessageSize(kMaxSendBytes);
  grpc::ResourceQuota quota(spec.name);
  quota.SetMaxThreads(kMaxThreads);
  builder.SetResourceQuota(quota);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreamsPerConnection);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveTimeMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kMinClientPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PING_STRIKES, 2);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS, kMaxConnectionIdleMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS, kMaxConnectionAgeMs);
  builder.AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, kMaxConnectionAgeGraceMs);
  for (grpc::Service* service : spec.services) builder.RegisterService(service);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(auth::MakeAuthInterceptorFactory(spec.policy));
  builder.experimental().SetInterceptorCreators(std::move(interceptors));

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return absl::UnavailableError(absl::StrCat(
        "cannot listen on ", spec.listen, ": the address is malformed or already in use"));
  }
  server->GetHealthCheckService()->SetServingStatus(true);
  log::Info("listening on ", spec.listen, " (port ", port, ")");
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(server), port));
}

void GrpcServer::Shutdown(absl::Duration grace) {
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

absl::StatusOr<std::shared_ptr<const auth::Policy>> MakePolicy(const ServiceConfig& config) {
  auto policy = std::make_shared<auth::Policy>();
  absl::StatusOr<auth::TokenTable> tokens =
      auth::TokenTable::FromConfig(config.tokens, config.tokens_file);
  if (!tokens.ok()) return tokens.status();
  policy->tokens = *std::move(tokens);
  policy->public_reads = config.public_reads;
  policy->disabled = config.no_auth;
  if (policy->disabled) {
    log::Warning("authentication is off (--no-auth): anyone can change state");
  } else if (policy->tokens.empty()) {
    log::Warning("no tokens configured (KILN_TOKENS): every RPC that needs one is refused");
  }
  return policy;
}

void BlockTerminationSignals() {
  sigset_t set = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForTerminationSignal() {
  sigset_t set = TerminationSignals();
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

}  // namespace kiln
