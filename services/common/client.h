// How Kiln programs call Kiln services.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>

#include "absl/time/time.h"

namespace kiln {

// A channel to host:port with Kiln's message size limits.
std::shared_ptr<grpc::Channel> MakeChannel(const std::string& address);

// Prepares a call: bearer token (if any) and a deadline (if finite).
void PrepareContext(grpc::ClientContext& context, const std::string& token,
                    absl::Duration timeout = absl::InfiniteDuration());

}  // namespace kiln
