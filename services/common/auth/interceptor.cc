#include "services/common/auth/interceptor.h"

#include <string>

#include "absl/random/random.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_cat.h"
#include "services/common/status.h"

namespace kiln::auth {
namespace {

// Metadata keys the interceptor writes. Any copy sent by a client is
// dropped before the verdict is written.
constexpr char kVerdictCode[] = "kiln-auth-code";
constexpr char kVerdictMessage[] = "kiln-auth-message";
constexpr char kMethod[] = "kiln-rpc-method";
constexpr char kRequestId[] = "kiln-request-id";
// A client may name its request (x-request-id) so that its lines and ours
// can be joined; anything else gets an id of our own.
constexpr char kClientRequestId[] = "x-request-id";
constexpr size_t kMaxRequestIdBytes = 64;

bool IsRequestId(absl::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string NewRequestId() {
  thread_local absl::BitGen random;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(random));
}

std::string Value(const grpc::string_ref& ref) { return std::string(ref.data(), ref.size()); }

class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(const Policy& policy, std::string method)
      : policy_(policy), method_(std::move(method)) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      WriteVerdict(*methods->GetRecvInitialMetadata());
    }
    methods->Proceed();
  }

 private:
  void WriteVerdict(std::multimap<grpc::string_ref, grpc::string_ref>& metadata) {
    metadata.erase(kVerdictCode);
    metadata.erase(kVerdictMessage);
    metadata.erase(kMethod);
    if (auto it = metadata.find(kClientRequestId); it != metadata.end() && IsRequestId(Value(it->second))) {
      request_id_ = Value(it->second);
    } else {
      request_id_ = NewRequestId();
    }
    metadata.erase(kRequestId);
    metadata.emplace(kMethod, method_);
    metadata.emplace(kRequestId, request_id_);
    std::optional<absl::string_view> bearer;
    if (auto it = metadata.find("authorization"); it != metadata.end()) {
      bearer = BearerToken(absl::string_view(it->second.data(), it->second.size()));
    }
    absl::Status verdict;
    if (absl::StatusOr<kiln::v1::Access> access = AccessOf(method_); access.ok()) {
      verdict = Authorize(policy_, *access, bearer);
    } else {
      verdict = access.status();
    }
    // The metadata map refers to these strings; they live as long as the call.
    code_ = absl::StrCat(static_cast<int>(verdict.code()));
    message_ = std::string(verdict.message());
    metadata.emplace(kVerdictCode, code_);
    metadata.emplace(kVerdictMessage, message_);
  }

  const Policy& policy_;
  const std::string method_;
  std::string code_;
  std::string message_;
  std::string request_id_;
};

class AuthInterceptorFactory final
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(std::shared_ptr<const Policy> policy)
      : policy_(std::move(policy)) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override {
    return new AuthInterceptor(*policy_, info->method());
  }

 private:
  std::shared_ptr<const Policy> policy_;
};

}  // namespace

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> MakeAuthInterceptorFactory(
    std::shared_ptr<const Policy> policy) {
  return std::make_unique<AuthInterceptorFactory>(std::move(policy));
}

grpc::Status CheckAuthorized(const grpc::ServerContextBase& context) {
  const auto& metadata = context.client_metadata();
  const auto code_it = metadata.find(kVerdictCode);
  const auto message_it = metadata.find(kVerdictMessage);
  int code = 0;
  if (code_it == metadata.end() || message_it == metadata.end() ||
      !absl::SimpleAtoi(absl::string_view(code_it->second.data(), code_it->second.size()),
                        &code)) {
    return grpc::Status(grpc::StatusCode::INTERNAL,
                        "authorization did not run for this call; refusing it");
  }
  if (code == 0) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(code),
                      std::string(message_it->second.data(), message_it->second.size()));
}

std::vector<std::pair<std::string, std::string>> CallLogFields(const grpc::ServerContextBase& context) {
  std::vector<std::pair<std::string, std::string>> fields;
  const auto& metadata = context.client_metadata();
  for (const char* key : {kMethod, kRequestId}) {
    if (auto it = metadata.find(key); it != metadata.end()) {
      fields.emplace_back(key == kMethod ? "rpc" : "request_id", Value(it->second));
    }
  }
  return fields;
}

}  // namespace kiln::auth
