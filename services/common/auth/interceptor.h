// Authentication at the gRPC edge.
//
// gRPC C++ server interceptors cannot end a call themselves, so the work is
// split: the interceptor decides (token, role, the method's access level)
// before any handler runs and leaves its verdict in the call's metadata,
// where a client cannot forge it; every handler starts with
// KILN_AUTHORIZE(context), which returns that verdict when it is a refusal.
// A call that did not pass through the interceptor is refused. The
// interceptor also names the call for the logs (its RPC, and a request id:
// the client's x-request-id when it sent a sane one), and KILN_AUTHORIZE
// puts both in the log context of the handler's scope.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include "services/common/auth/policy.h"
#include "services/common/log.h"

namespace kiln::auth {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuthInterceptorFactory(
    std::shared_ptr<const Policy> policy);

// The interceptor's verdict for this call.
grpc::Status CheckAuthorized(const grpc::ServerContextBase& context);

// {"rpc", method} and {"request_id", id} of this call, for log::ScopedContext.
std::vector<std::pair<std::string, std::string>> CallLogFields(const grpc::ServerContextBase& context);

}  // namespace kiln::auth

// Declares the handler's log context, so use it once per handler, at the top.
#define KILN_AUTHORIZE(context)                                          \
  const ::kiln::log::ScopedContext kiln_log_call_(                        \
      ::kiln::auth::CallLogFields(*(context)));                          \
  do {                                                                   \
    ::grpc::Status kiln_auth_ = ::kiln::auth::CheckAuthorized(*(context)); \
    if (!kiln_auth_.ok()) return kiln_auth_;                             \
  } while (0)
