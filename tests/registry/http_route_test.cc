// The HTTP router's pure half: request paths to resources, with
// percent-decoding and validation, no server involved.
#include "services/registry/http_route.h"

#include "gtest/gtest.h"

namespace kiln::registry {
namespace {

HttpRoute Parse(absl::string_view path, bool web_root = false) {
  absl::StatusOr<HttpRoute> route = ParseHttpRoute(path, web_root);
  EXPECT_TRUE(route.ok()) << path << ": " << route.status();
  return route.ok() ? *route : HttpRoute();
}

absl::StatusCode CodeOf(absl::string_view path, bool web_root = false) {
  return ParseHttpRoute(path, web_root).status().code();
}

TEST(HttpRouteTest, NamesEachResource) {
  EXPECT_EQ(Parse("/healthz").kind, HttpRoute::Kind::kHealth);
  EXPECT_EQ(Parse("/v1/models").kind, HttpRoute::Kind::kModels);
  const HttpRoute model = Parse("/v1/models/news");
  EXPECT_EQ(model.kind, HttpRoute::Kind::kModel);
  EXPECT_EQ(model.model, "news");
  const HttpRoute alias = Parse("/v1/models/news/aliases/production/manifest.json");
  EXPECT_EQ(alias.kind, HttpRoute::Kind::kAliasManifest);
  EXPECT_EQ(alias.model, "news");
  EXPECT_EQ(alias.alias, "production");
  const HttpRoute file = Parse("/v1/models/news.v2/versions/12/assets/group1-shard1of1.bin");
  EXPECT_EQ(file.kind, HttpRoute::Kind::kVersionFile);
  EXPECT_EQ(file.model, "news.v2");
  EXPECT_EQ(file.version, 12);
  EXPECT_EQ(file.file, "assets/group1-shard1of1.bin");
}

TEST(HttpRouteTest, DecodesPercentEncodingOnceAndKeepsPlus) {
  const HttpRoute file = Parse("/v1/models/news/versions/1/caf%C3%A9%20menu+1.json");
  EXPECT_EQ(file.file, "caf\xC3\xA9 menu+1.json");
  EXPECT_EQ(Parse("/v1/models/news/versions/1/a%252e").file, "a%2e");
  EXPECT_EQ(Parse("/v1/%6dodels/news").model, "news");
}

TEST(HttpRouteTest, RefusesBadPercentEncodingAndNonUtf8WithA400SayingWhy) {
  for (absl::string_view path :
       {"/v1/%FF", "/v1/models/news/versions/1/%C3", "/v1/models/news/versions/1/%ED%A0%80",
        "/v1/models/%", "/v1/models/%4", "/v1/models/%zz", "/%C0%AF"}) {
    absl::StatusOr<HttpRoute> route = ParseHttpRoute(path, true);
    ASSERT_EQ(route.status().code(), absl::StatusCode::kInvalidArgument) << path;
    EXPECT_NE(route.status().message().find("malformed request path"), std::string::npos);
  }
  EXPECT_NE(ParseHttpRoute("/v1/%FF", false).status().message().find("not UTF-8"),
            std::string::npos);
  EXPECT_NE(ParseHttpRoute("/v1/a%zz", false).status().message().find("two hex digits"),
            std::string::npos);
}

TEST(HttpRouteTest, RefusesTraversalEmptySegmentsAndControlCharacters) {
  for (absl::string_view path :
       {"/v1/models/news/versions/1/../1/model.json", "/v1/models/news/versions/1/%2e%2e/x",
        "/v1/models/news/versions/1/%2E%2E/%2E%2E/etc/passwd", "/v1/models/news/versions/1//x",
        "/v1/models/news/versions/1/a%5c..%5cmodel.json", "/v1/models/news/./versions/1/x",
        "/v1/models/news/versions/1/a%00b", "/v1/models/news/versions/1/..%2fmodel.json",
        "/v1/", "/v1/models/", "v1/models"}) {
    EXPECT_EQ(CodeOf(path), absl::StatusCode::kInvalidArgument) << path;
  }
}

TEST(HttpRouteTest, RefusesMalformedNamesAndVersions) {
  for (absl::string_view path :
       {"/v1/models/News", "/v1/models/news/aliases/Prod/manifest.json",
        "/v1/models/news/versions/0/model.json", "/v1/models/news/versions/x/model.json",
        "/v1/models/news/versions/+1/model.json", "/v1/models/news/versions/%201/model.json",
        "/v1/models/news/versions/99999999999999999999/model.json"}) {
    EXPECT_EQ(CodeOf(path), absl::StatusCode::kInvalidArgument) << path;
  }
}

TEST(HttpRouteTest, UnknownRoutesAreNotFound) {
  for (absl::string_view path :
       {"/v1/elsewhere", "/index.html", "/", "/v1/models/news/aliases/latest",
        "/v1/models/news/versions/1", "/v1/models/news/tags/x/manifest.json", "/v1"}) {
    EXPECT_EQ(CodeOf(path), absl::StatusCode::kNotFound) << path;
  }
}

TEST(HttpRouteTest, OtherPathsNameWebRootFilesWhenOneIsServed) {
  const HttpRoute top = Parse("/", true);
  EXPECT_EQ(top.kind, HttpRoute::Kind::kWebFile);
  EXPECT_TRUE(top.directory);
  EXPECT_EQ(top.file, "");
  const HttpRoute script = Parse("/assets/app%2Ejs", true);
  EXPECT_EQ(script.file, "assets/app.js");
  EXPECT_FALSE(script.directory);
  const HttpRoute folder = Parse("/docs/", true);
  EXPECT_EQ(folder.file, "docs");
  EXPECT_TRUE(folder.directory);
  EXPECT_EQ(CodeOf("/assets/../../etc/passwd", true), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf("/%2e%2e/etc/passwd", true), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CodeOf("//etc/passwd", true), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Parse("/v1/models", true).kind, HttpRoute::Kind::kModels);
}

TEST(PercentDecodeTest, DecodesOrSaysWhereItFails) {
  EXPECT_EQ(*PercentDecode("a%2Fb%2fc"), "a/b/c");
  EXPECT_EQ(*PercentDecode(""), "");
  EXPECT_EQ(PercentDecode("ab%").status().message(),
            "\"%\" at byte 2 is not followed by two hex digits");
  EXPECT_FALSE(PercentDecode("%80").ok());
}

}  // namespace
}  // namespace kiln::registry
