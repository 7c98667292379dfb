// Authentication at the gRPC edge.
//
// gRPC C++ server interceptors cannot end a call themselves, so the work is
// split: the interceptor decides (token, role, the method's access level)
// before any handler runs and leaves its verdict in the call's metadata,
// where a client cannot forge it; every handler starts with
// KILN_AUTHORIZE(context), which returns that verdict when it is a refusal.
// A call that did not pass through the interceptor is refused.
#pragma once

#include <memory>

#include <grpcpp/server_context.h>
#include <grpcpp/support/server_interceptor.h>

#include "services/common/auth/policy.h"

namespace kiln::auth {

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuthInterceptorFactory(
    std::shared_ptr<const Policy> policy);

// The interceptor's verdict for this call.
grpc::Status CheckAuthorized(const grpc::ServerContextBase& context);

}  // namespace kiln::auth

#define KILN_AUTHORIZE(context)                                          \
  do {                                                                   \
    ::grpc::Status kiln_auth_ = ::kiln::auth::CheckAuthorized(*(context)); \
    if (!kiln_auth_.ok()) return kiln_auth_;                             \
  } while (0)
