// Who may call which RPC: the access level each RPC declares in the proto
// (option kiln.v1.access) against the role of the caller's bearer token.
#pragma once

#include <optional>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kiln/v1/access.pb.h"
#include "services/common/auth/tokens.h"

namespace kiln::auth {

struct Policy {
  TokenTable tokens;
  // Read RPCs need no token.
  bool public_reads = false;
  // Every RPC passes (local experiments only).
  bool disabled = false;
};

// The access level declared by a gRPC method path such as
// "/kiln.v1.DataService/ImportPosts". Methods outside package kiln.v1 (the
// health and reflection services) are public reads.
absl::StatusOr<kiln::v1::Access> AccessOf(absl::string_view method_path);

// OK, UNAUTHENTICATED (no or unknown token) or PERMISSION_DENIED (role too
// weak). `bearer` is the token from the "authorization: Bearer ..." header.
absl::Status Authorize(const Policy& policy, kiln::v1::Access access,
                       std::optional<absl::string_view> bearer);

// The token of an "authorization" header value, if it is "Bearer <token>".
std::optional<absl::string_view> BearerToken(absl::string_view header_value);

}  // namespace kiln::auth
