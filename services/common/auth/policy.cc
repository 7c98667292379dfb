#include "services/common/auth/policy.h"

#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/descriptor.h"

namespace kiln::auth {
namespace {

Role RequiredRole(kiln::v1::Access access) {
  switch (access) {
    case kiln::v1::ACCESS_READ: return Role::kReader;
    case kiln::v1::ACCESS_READ_AUTHENTICATED: return Role::kReader;
    case kiln::v1::ACCESS_WRITE: return Role::kWriter;
    case kiln::v1::ACCESS_ADMIN: return Role::kAdmin;
    default: return Role::kAdmin;
  }
}

}  // namespace

absl::StatusOr<kiln::v1::Access> AccessOf(absl::string_view method_path) {
  if (!absl::StartsWith(method_path, "/kiln.v1.")) return kiln::v1::ACCESS_READ;
  // "/kiln.v1.DataService/ImportPosts" -> "kiln.v1.DataService.ImportPosts"
  const std::string full_name = absl::StrReplaceAll(method_path.substr(1), {{"/", "."}});
  const google::protobuf::MethodDescriptor* method =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(full_name);
  if (method == nullptr) {
    return absl::NotFoundError(absl::StrCat("unknown method ", method_path));
  }
  const kiln::v1::Access access = method->options().GetExtension(kiln::v1::access);
  if (access == kiln::v1::ACCESS_UNSPECIFIED) {
    return absl::InternalError(absl::StrCat(method_path, " declares no access level"));
  }
  return access;
}

std::optional<absl::string_view> BearerToken(absl::string_view header_value) {
  constexpr absl::string_view kScheme = "Bearer ";
  if (!absl::StartsWithIgnoreCase(header_value, kScheme)) return std::nullopt;
  return header_value.substr(kScheme.size());
}

absl::Status Authorize(const Policy& policy, kiln::v1::Access access,
                       std::optional<absl::string_view> bearer) {
  if (policy.disabled) return absl::OkStatus();
  if (access == kiln::v1::ACCESS_READ && policy.public_reads) return absl::OkStatus();
  if (!bearer.has_value() || bearer->empty()) {
    return absl::UnauthenticatedError(
        "this RPC needs a bearer token: send the header \"authorization: Bearer <token>\" "
        "(the kiln CLI reads it from --token or KILN_TOKEN)");
  }
  const Role role = policy.tokens.Lookup(*bearer);
  if (role == Role::kNone) {
    return absl::UnauthenticatedError("the bearer token is not one this server knows");
  }
  const Role required = RequiredRole(access);
  if (role < required) {
    return absl::PermissionDeniedError(absl::StrCat("this RPC needs role ", RoleName(required),
                                                    "; the token has role ", RoleName(role)));
  }
  return absl::OkStatus();
}

}  // namespace kiln::auth
