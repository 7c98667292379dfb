// The server bootstrap over real gRPC on loopback: health, reflection, and
// the auth verdicts that every Kiln handler enforces.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <regex>
#include <string>
#include <utility>
#include <vector>

#include "google/protobuf/unknown_field_set.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "gtest/gtest.h"
#include "kiln/v1/data.grpc.pb.h"
#include "nlohmann/json.hpp"
#include "services/common/auth/interceptor.h"
#include "services/common/client.h"
#include "services/common/log.h"
#include "services/common/server.h"

namespace kiln {
namespace {

constexpr char kReaderToken[] = "reader-token-0123456789";
constexpr char kWriterToken[] = "writer-token-0123456789";

// A DataService whose handlers do nothing but the auth check, so the test
// sees exactly what the auth layer lets through.
class AuthOnlyDataService final : public kiln::v1::DataService::Service {
 public:
  grpc::Status ImportPosts(grpc::ServerContext* context,
                           grpc::ServerReader<kiln::v1::ImportPostsRequest>* reader,
                           kiln::v1::ImportPostsResponse* response) override {
    KILN_AUTHORIZE(context);
    kiln::v1::ImportPostsRequest request;
    while (reader->Read(&request)) response->set_imported(response->imported() + request.posts_size());
    return grpc::Status::OK;
  }
  grpc::Status CountPosts(grpc::ServerContext* context, const kiln::v1::CountPostsRequest*,
                          kiln::v1::CountPostsResponse* response) override {
    KILN_AUTHORIZE(context);
    log::Info("counting posts");
    response->set_total(42);
    return grpc::Status::OK;
  }
};

class GrpcServerTest : public ::testing::TestWithParam<bool> {
 protected:
  void StartServer(bool public_reads) {
    ServiceConfig config;
    config.tokens = std::string("reader:") + kReaderToken + ",writer:" + kWriterToken;
    config.public_reads = public_reads;
    auto policy = MakePolicy(config);
    ASSERT_TRUE(policy.ok()) << policy.status();
    auto server = GrpcServer::Start(
        {"kiln-test", "127.0.0.1:0", *std::move(policy), {&service_}});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    channel_ = MakeChannel("127.0.0.1:" + std::to_string(server_->port()));
    stub_ = kiln::v1::DataService::NewStub(channel_);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(absl::Seconds(1));
  }

  grpc::Status Import(const std::string& token, int posts) {
    grpc::ClientContext context;
    PrepareContext(context, token, absl::Seconds(10));
    kiln::v1::ImportPostsResponse response;
    auto writer = stub_->ImportPosts(&context, &response);
    kiln::v1::ImportPostsRequest request;
    for (int i = 0; i < posts; ++i) request.add_posts()->set_body("x");
    writer->Write(request);
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    if (status.ok()) {
      EXPECT_EQ(response.imported(), posts);
    }
    return status;
  }

  grpc::Status Count(grpc::ClientContext& context) {
    kiln::v1::CountPostsResponse response;
    grpc::Status status = stub_->CountPosts(&context, kiln::v1::CountPostsRequest(), &response);
    if (status.ok()) {
      EXPECT_EQ(response.total(), 42);
    }
    return status;
  }

  AuthOnlyDataService service_;
  std::unique_ptr<GrpcServer> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<kiln::v1::DataService::Stub> stub_;
};

TEST_F(GrpcServerTest, HealthServiceReportsServing) {
  StartServer(false);
  auto health = grpc::health::v1::Health::NewStub(channel_);
  grpc::ClientContext context;
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = health->Check(&context, {}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
}

// A grpcurl-style client lists services through reflection. The request is
// encoded by hand (field 7, list_services) because the reflection protos
// are compiled into libgrpc++_reflection and may not be registered twice.
TEST_F(GrpcServerTest, ReflectionListsTheServices) {
  StartServer(false);
  grpc::GenericStub generic(channel_);
  grpc::ClientContext context;
  grpc::CompletionQueue cq;
  auto call = generic.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &cq);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  const std::string request("\x3a\x00", 2);
  grpc::Slice slice(request);
  grpc::ByteBuffer out(&slice, 1);
  call->Write(out, reinterpret_cast<void*>(2));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  grpc::ByteBuffer in;
  call->Read(&in, reinterpret_cast<void*>(3));
  ASSERT_TRUE(cq.Next(&tag, &ok) && ok);
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(in.Dump(&slices).ok());
  std::string bytes;
  for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());

  // ServerReflectionResponse.list_services_response (6) -> service (1) -> name (1)
  google::protobuf::UnknownFieldSet response;
  ASSERT_TRUE(response.ParseFromString(bytes));
  std::vector<std::string> names;
  for (int i = 0; i < response.field_count(); ++i) {
    if (response.field(i).number() != 6) continue;
    google::protobuf::UnknownFieldSet list;
    ASSERT_TRUE(list.ParseFromString(response.field(i).length_delimited()));
    for (int j = 0; j < list.field_count(); ++j) {
      google::protobuf::UnknownFieldSet service;
      ASSERT_TRUE(service.ParseFromString(list.field(j).length_delimited()));
      names.push_back(service.field(0).length_delimited());
    }
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "kiln.v1.DataService"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "grpc.health.v1.Health"), names.end());
  call->WritesDone(reinterpret_cast<void*>(4));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  grpc::Status finish;
  call->Finish(&finish, reinterpret_cast<void*>(5));
  ASSERT_TRUE(cq.Next(&tag, &ok));
  EXPECT_TRUE(finish.ok()) << finish.error_message();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
}

TEST_F(GrpcServerTest, WriteWithoutTokenIsUnauthenticated) {
  StartServer(false);
  EXPECT_EQ(Import("", 1).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Import("not-a-token-this-server-knows", 1).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(GrpcServerTest, WriteWithReaderTokenIsPermissionDenied) {
  StartServer(false);
  grpc::Status status = Import(kReaderToken, 1);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_NE(status.error_message().find("writer"), std::string::npos) << status.error_message();
}

TEST_F(GrpcServerTest, WriteWithWriterTokenPasses) {
  StartServer(false);
  EXPECT_TRUE(Import(kWriterToken, 3).ok());
}

TEST_F(GrpcServerTest, ReadsNeedATokenUnlessPublic) {
  StartServer(false);
  {
    grpc::ClientContext context;
    EXPECT_EQ(Count(context).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  }
  {
    grpc::ClientContext context;
    PrepareContext(context, kReaderToken);
    EXPECT_TRUE(Count(context).ok());
  }
}

TEST_F(GrpcServerTest, PublicReadsPassWithoutTokenButWritesDoNot) {
  StartServer(true);
  grpc::ClientContext context;
  EXPECT_TRUE(Count(context).ok());
  EXPECT_EQ(Import("", 1).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// A client cannot smuggle in the interceptor's verdict.
TEST_F(GrpcServerTest, ForgedVerdictHeaderIsIgnored) {
  StartServer(false);
  grpc::ClientContext context;
  context.AddMetadata("kiln-auth-code", "0");
  context.AddMetadata("kiln-auth-message", "");
  EXPECT_EQ(Count(context).error_code(), grpc::StatusCode::UNAUTHENTICATED);
}

// KILN_LOG_FORMAT=json: what a handler logs carries its RPC and a request
// id, the client's x-request-id when it is sane, one of ours otherwise, and
// neither can be forged through the interceptor's own metadata keys.
TEST_F(GrpcServerTest, HandlerLogLinesNameTheirRpcAndRequest) {
  StartServer(true);
  ASSERT_TRUE(log::SetFormat("json").ok());
  auto count_and_log = [&](const std::vector<std::pair<std::string, std::string>>& metadata) {
    grpc::ClientContext context;
    for (const auto& [key, value] : metadata) context.AddMetadata(key, value);
    ::testing::internal::CaptureStderr();
    EXPECT_TRUE(Count(context).ok());
    const std::string output = ::testing::internal::GetCapturedStderr();
    const nlohmann::json line = nlohmann::json::parse(output.substr(0, output.find('\n')));
    EXPECT_EQ(line["message"], "counting posts") << output;
    EXPECT_EQ(line["rpc"], "/kiln.v1.DataService/CountPosts") << output;
    return line;
  };
  EXPECT_EQ(count_and_log({{"x-request-id", "req-42.a_b"}})["request_id"], "req-42.a_b");
  const nlohmann::json generated =
      count_and_log({{"x-request-id", "not a sane id"}, {"kiln-rpc-method", "/forged"},
                     {"kiln-request-id", "forged"}});
  EXPECT_TRUE(std::regex_match(generated["request_id"].get<std::string>(), std::regex("[0-9a-f]{16}")))
      << generated;
  EXPECT_NE(count_and_log({})["request_id"], generated["request_id"]);
  ASSERT_TRUE(log::SetFormat("text").ok());
}

}  // namespace
}  // namespace kiln
