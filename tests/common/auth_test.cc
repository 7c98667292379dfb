#include <fstream>

#include "gtest/gtest.h"
#include "google/protobuf/descriptor.h"
#include "kiln/v1/data.pb.h"
#include "kiln/v1/evaluation.pb.h"
#include "kiln/v1/preprocess.pb.h"
#include "kiln/v1/registry.pb.h"
#include "kiln/v1/sweep.pb.h"
#include "kiln/v1/training.pb.h"
#include "services/common/auth/policy.h"
#include "services/common/auth/tokens.h"

namespace kiln::auth {
namespace {

constexpr char kReaderToken[] = "reader-token-0123456789";
constexpr char kWriterToken[] = "writer-token-0123456789";
constexpr char kAdminToken[] = "admin-token-0123456789ab";

Policy MakePolicy(bool public_reads = false) {
  Policy policy;
  policy.tokens = *TokenTable::FromConfig(
      std::string("reader:") + kReaderToken + ", writer:" + kWriterToken + ",admin:" + kAdminToken,
      "");
  policy.public_reads = public_reads;
  return policy;
}

TEST(TokenTableTest, LooksUpRoles) {
  const Policy policy = MakePolicy();
  EXPECT_EQ(policy.tokens.Lookup(kReaderToken), Role::kReader);
  EXPECT_EQ(policy.tokens.Lookup(kWriterToken), Role::kWriter);
  EXPECT_EQ(policy.tokens.Lookup(kAdminToken), Role::kAdmin);
  EXPECT_EQ(policy.tokens.Lookup("reader-token-012345678"), Role::kNone);
  EXPECT_EQ(policy.tokens.Lookup(""), Role::kNone);
}

TEST(TokenTableTest, RejectsMalformedEntriesNamingThem) {
  auto no_colon = TokenTable::FromConfig("reader-token-0123456789", "");
  ASSERT_FALSE(no_colon.ok());
  EXPECT_NE(no_colon.status().message().find("KILN_TOKENS entry 1"), absl::string_view::npos);

  auto bad_role = TokenTable::FromConfig("reader:aaaaaaaaaaaaaaaaaa,root:bbbbbbbbbbbbbbbbbbbb", "");
  ASSERT_FALSE(bad_role.ok());
  EXPECT_NE(bad_role.status().message().find("root"), absl::string_view::npos);

  EXPECT_FALSE(TokenTable::FromConfig("reader:short", "").ok());
  EXPECT_FALSE(TokenTable::FromConfig("reader:has space in it 0123456789", "").ok());
  EXPECT_FALSE(
      TokenTable::FromConfig("reader:aaaaaaaaaaaaaaaaaa,admin:aaaaaaaaaaaaaaaaaa", "").ok());
}

TEST(TokenTableTest, ReadsTokensFileWithComments) {
  const std::string path = ::testing::TempDir() + "/kiln-tokens";
  {
    std::ofstream out(path);
    out << "# tokens for the test\n\nwriter:" << kWriterToken << "\n  admin:" << kAdminToken
        << "  \n";
  }
  auto table = TokenTable::FromConfig("", path);
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_EQ(table->Lookup(kWriterToken), Role::kWriter);
  EXPECT_EQ(table->Lookup(kAdminToken), Role::kAdmin);

  std::ofstream(path) << "writer:" << kWriterToken << "\nnonsense\n";
  auto bad = TokenTable::FromConfig("", path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(path + ":2"), absl::string_view::npos) << bad.status();

  EXPECT_EQ(TokenTable::FromConfig("", path + ".missing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST(PolicyTest, RefusesWithTheRightCode) {
  const Policy policy = MakePolicy();
  using kiln::v1::ACCESS_ADMIN;
  using kiln::v1::ACCESS_READ;
  using kiln::v1::ACCESS_WRITE;
  EXPECT_EQ(Authorize(policy, ACCESS_WRITE, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authorize(policy, ACCESS_WRITE, "not-a-known-token-at-all").code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(Authorize(policy, ACCESS_WRITE, kReaderToken).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(policy, ACCESS_WRITE, kWriterToken).ok());
  EXPECT_EQ(Authorize(policy, ACCESS_ADMIN, kWriterToken).code(),
            absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(Authorize(policy, ACCESS_ADMIN, kAdminToken).ok());
  EXPECT_TRUE(Authorize(policy, ACCESS_READ, kReaderToken).ok());
  EXPECT_EQ(Authorize(policy, ACCESS_READ, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PolicyTest, PublicReadsOpenOnlyReads) {
  const Policy policy = MakePolicy(/*public_reads=*/true);
  EXPECT_TRUE(Authorize(policy, kiln::v1::ACCESS_READ, std::nullopt).ok());
  EXPECT_EQ(Authorize(policy, kiln::v1::ACCESS_WRITE, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
}

TEST(PolicyTest, BulkReadsNeedATokenEvenWithPublicReads) {
  const Policy policy = MakePolicy(/*public_reads=*/true);
  EXPECT_EQ(Authorize(policy, kiln::v1::ACCESS_READ_AUTHENTICATED, std::nullopt).code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_TRUE(Authorize(policy, kiln::v1::ACCESS_READ_AUTHENTICATED, kReaderToken).ok());
  EXPECT_EQ(*AccessOf("/kiln.v1.DataService/QueryPosts"), kiln::v1::ACCESS_READ_AUTHENTICATED);
  EXPECT_EQ(*AccessOf("/kiln.v1.PreprocessService/Encode"), kiln::v1::ACCESS_READ_AUTHENTICATED);
  EXPECT_EQ(*AccessOf("/kiln.v1.TrainingService/LoadCheckpoint"), kiln::v1::ACCESS_WRITE);
}

TEST(PolicyTest, ParsesBearerHeader) {
  EXPECT_EQ(BearerToken("Bearer abc"), absl::string_view("abc"));
  EXPECT_EQ(BearerToken("bearer abc"), absl::string_view("abc"));
  EXPECT_FALSE(BearerToken("Basic abc").has_value());
}

// Every RPC of the API must say who may call it: a forgotten option would
// otherwise be refused at run time (fail closed) with an internal error.
TEST(PolicyTest, EveryKilnRpcDeclaresAnAccessLevel) {
  // One message of each API file pulls its descriptors into the pool.
  const google::protobuf::FileDescriptor* files[] = {
      kiln::v1::Post::descriptor()->file(), kiln::v1::Vocabulary::descriptor()->file(),
      kiln::v1::Job::descriptor()->file(), kiln::v1::EvaluationReport::descriptor()->file(),
      kiln::v1::ModelVersion::descriptor()->file(), kiln::v1::Sweep::descriptor()->file()};
  int methods = 0;
  for (const auto* file : files) {
    ASSERT_EQ(file->service_count(), 1) << file->name();
    const auto* service = file->service(0);
    for (int i = 0; i < service->method_count(); ++i) {
      const auto* method = service->method(i);
      const std::string path = "/" + service->full_name() + "/" + method->name();
      auto access = AccessOf(path);
      EXPECT_TRUE(access.ok()) << path << ": " << access.status();
      ++methods;
    }
  }
  EXPECT_GT(methods, 30);
  EXPECT_EQ(*AccessOf("/kiln.v1.DataService/ImportPosts"), kiln::v1::ACCESS_WRITE);
  EXPECT_EQ(*AccessOf("/kiln.v1.RegistryService/DeleteVersion"), kiln::v1::ACCESS_ADMIN);
  EXPECT_EQ(*AccessOf("/kiln.v1.SweepService/CreateSweep"), kiln::v1::ACCESS_WRITE);
  EXPECT_EQ(*AccessOf("/grpc.health.v1.Health/Check"), kiln::v1::ACCESS_READ);
  EXPECT_EQ(AccessOf("/kiln.v1.DataService/NoSuchMethod").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::auth
