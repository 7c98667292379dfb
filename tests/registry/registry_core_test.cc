// The registry's pieces that need neither a database nor a network: names,
// manifests, the publish protocol, metric gates, the blob LRU, archives.
#include <archive.h>
#include <archive_entry.h>

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/registry/blob_cache.h"
#include "services/registry/bundle_archive.h"
#include "services/registry/content_type.h"
#include "services/registry/manifest.h"
#include "services/registry/metric_requirements.h"
#include "services/registry/npm_package.h"
#include "services/registry/publish_session.h"
#include "services/registry/registry_names.h"
#include "services/registry/ttl_cache.h"

namespace kiln::registry {
namespace {

using nlohmann::json;

json FileEntry(const std::string& path, const std::string& bytes) {
  return {{"path", path}, {"size", bytes.size()}, {"sha256", Sha256Hex(bytes)}};
}

std::string ManifestOf(const std::map<std::string, std::string>& files, json extra = json::object()) {
  json doc = extra;
  doc["files"] = json::array();
  for (const auto& [path, bytes] : files) doc["files"].push_back(FileEntry(path, bytes));
  return doc.dump();
}

kiln::v1::FileChunk Chunk(const std::string& path, int64_t offset, const std::string& data,
                          bool last) {
  kiln::v1::FileChunk chunk;
  chunk.set_path(path);
  chunk.set_offset(offset);
  chunk.set_data(data);
  chunk.set_last(last);
  return chunk;
}

kiln::v1::PublishHeader Header(const std::string& manifest, const std::string& model = "news") {
  kiln::v1::PublishHeader header;
  header.set_model(model);
  header.set_manifest_json(manifest);
  return header;
}

TEST(RegistryNamesTest, ModelAndAliasNames) {
  EXPECT_TRUE(IsValidModelName("news"));
  EXPECT_TRUE(IsValidModelName("0news.v2_a-b"));
  EXPECT_TRUE(IsValidModelName(std::string(64, 'a')));
  EXPECT_FALSE(IsValidModelName(std::string(65, 'a')));
  EXPECT_FALSE(IsValidModelName(""));
  EXPECT_FALSE(IsValidModelName("News"));
  EXPECT_FALSE(IsValidModelName(".news"));
  EXPECT_FALSE(IsValidModelName("news/x"));
  EXPECT_TRUE(IsValidAliasName("production"));
  EXPECT_TRUE(IsValidAliasName("a1_-"));
  EXPECT_FALSE(IsValidAliasName("1a"));
  EXPECT_FALSE(IsValidAliasName(std::string(33, 'a')));
  EXPECT_FALSE(IsValidAliasName("prod.uction"));
}

TEST(RegistryNamesTest, FilePathsStayInsideTheBundle) {
  EXPECT_TRUE(ValidateFilePath("model.json").ok());
  EXPECT_TRUE(ValidateFilePath("weights/group1-shard1of2.bin").ok());
  EXPECT_TRUE(ValidateFilePath("a..b").ok());
  for (const std::string& bad : std::vector<std::string>{"", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/",
                                "a\\b", std::string("a\nb"), std::string("a\0b", 3),
                                std::string("caf\xC3", 4), std::string(256, 'a')}) {
    EXPECT_FALSE(ValidateFilePath(bad).ok()) << bad;
  }
}

TEST(ManifestTest, ReadsFilesAndOptionalFields) {
  const std::string manifest = ManifestOf(
      {{"model.json", "{}"}, {"group1-shard1of1.bin", "abcd"}},
      {{"classes", {"sci.space", "rec.autos"}},
       {"preprocessing", {{"spec_version", "kiln-text-1"}}},
       {"model", {{"weight_encoding", "uint8"}}},
       {"metrics", {{"recall@1", 0.9}, {"per_class", {{"a", 1}}}}}});
  absl::StatusOr<Manifest> parsed = ParseManifest(manifest);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->files.size(), 2u);
  EXPECT_EQ(parsed->files[0].path(), "group1-shard1of1.bin");
  EXPECT_EQ(parsed->files[0].size(), 4);
  EXPECT_EQ(parsed->classes, (std::vector<std::string>{"sci.space", "rec.autos"}));
  EXPECT_EQ(parsed->preprocess_spec_version, "kiln-text-1");
  EXPECT_EQ(parsed->weight_encoding, kiln::v1::WEIGHT_ENCODING_UINT8);
  EXPECT_EQ(parsed->metrics, (std::map<std::string, double>{{"recall@1", 0.9}}));

  absl::StatusOr<Manifest> minimal = ParseManifest(R"({"files": []})");
  ASSERT_TRUE(minimal.ok()) << minimal.status();
  EXPECT_EQ(minimal->weight_encoding, kiln::v1::WEIGHT_ENCODING_FLOAT32);
}

TEST(ManifestTest, RefusesMalformedManifestsNamingTheField) {
  const std::string hash = Sha256Hex("x");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[]", "not a JSON object"},
      {"{", "not a JSON object"},
      {R"({"classes": []})", "\"files\""},
      {R"({"files": [{"path": "../a", "size": 1, "sha256": ")" + hash + R"("}]})", "files[0].path"},
      {R"({"files": [{"path": "manifest.json", "size": 1, "sha256": ")" + hash + R"("}]})",
       "reserved"},
      {R"({"files": [{"path": "a", "size": -1, "sha256": ")" + hash + R"("}]})", "files[0].size"},
      {R"({"files": [{"path": "a", "size": 1, "sha256": "ABC"}]})", "files[0].sha256"},
      {R"({"files": [{"path": "a", "size": 1, "sha256": ")" + hash + R"("}, {"path": "a", "size": 1, "sha256": ")" +
           hash + R"("}]})",
       "twice"},
      {R"({"files": [], "classes": [1]})", "\"classes\""},
      {R"({"files": [], "weight_encoding": "int4"})", "int4"},
  };
  for (const auto& [manifest, expected] : cases) {
    absl::StatusOr<Manifest> parsed = ParseManifest(manifest);
    ASSERT_FALSE(parsed.ok()) << manifest;
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find(expected), std::string::npos)
        << parsed.status().message();
  }
}

TEST(PublishSessionTest, AcceptsFilesInChunksAndHandsOutTheVersion) {
  const std::map<std::string, std::string> files = {{"a.bin", "hello world"}, {"empty", ""}};
  kiln::v1::PublishHeader header = Header(ManifestOf(files, {{"metrics", {{"accuracy", 0.5}}}}));
  (*header.mutable_metrics())["recall@1"] = 0.75;
  PublishSession session;
  ASSERT_TRUE(session.Start(header).ok());
  ASSERT_TRUE(session.Add(Chunk("a.bin", 0, "hello ", false)).ok());
  ASSERT_TRUE(session.Add(Chunk("a.bin", 6, "world", true)).ok());
  ASSERT_TRUE(session.Add(Chunk("empty", 0, "", true)).ok());
  absl::StatusOr<NewVersion> version = session.Commit();
  ASSERT_TRUE(version.ok()) << version.status();
  EXPECT_EQ(version->contents.at("a.bin"), "hello world");
  EXPECT_EQ(version->manifest_sha256, Sha256Hex(header.manifest_json()));
  EXPECT_EQ(version->metrics, (std::map<std::string, double>{{"accuracy", 0.5}, {"recall@1", 0.75}}));
}

TEST(PublishSessionTest, RefusesEveryBrokenStep) {
  const std::map<std::string, std::string> files = {{"a.bin", "hello"}, {"b.bin", "bye"}};
  const std::string manifest = ManifestOf(files);
  auto started = [&] {
    auto session = std::make_unique<PublishSession>();
    EXPECT_TRUE(session->Start(Header(manifest)).ok());
    return session;
  };
  auto expect_refused = [](const absl::Status& status, const std::string& expected) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_NE(status.message().find(expected), std::string::npos) << status.message();
  };
  PublishSession headless;
  expect_refused(headless.Add(Chunk("a.bin", 0, "hello", true)), "first message");
  expect_refused(PublishSession().Start(Header(manifest, "Bad Name")), "model name");
  expect_refused(started()->Start(Header(manifest)), "second header");
  expect_refused(started()->Add(Chunk("c.bin", 0, "x", true)), "unknown file \"c.bin\"");
  expect_refused(started()->Add(Chunk("a.bin", 1, "ello", true)), "offset 1");
  expect_refused(started()->Add(Chunk("a.bin", 0, "hello!", true)), "larger than");
  expect_refused(started()->Add(Chunk("a.bin", 0, std::string(kMaxChunkBytes + 1, 'x'), false)),
                 "at most");
  expect_refused(started()->Add(Chunk("a.bin", 0, "hell", true)), "has 4 bytes");
  expect_refused(started()->Add(Chunk("a.bin", 0, "HELLO", true)),
                 absl::StrCat("sha256 mismatch for a.bin: manifest.json gives ", Sha256Hex("hello"),
                              ", the bytes received hash to ", Sha256Hex("HELLO")));
  {
    auto session = started();
    ASSERT_TRUE(session->Add(Chunk("a.bin", 0, "he", false)).ok());
    expect_refused(session->Add(Chunk("b.bin", 0, "bye", true)), "before the last chunk of a.bin");
  }
  {
    auto session = started();
    ASSERT_TRUE(session->Add(Chunk("a.bin", 0, "hello", true)).ok());
    expect_refused(session->Add(Chunk("a.bin", 0, "hello", true)), "sent twice");
    expect_refused(session->Commit().status(), "b.bin");
  }
}

TEST(PublishSessionTest, RefusesManifestsOverTheSizeLimit) {
  const std::string hash = Sha256Hex("");
  const std::string manifest = json{{"files", {{{"path", "big"}, {"size", kMaxPublishBytes}, {"sha256", hash}}}}}.dump();
  absl::Status status = PublishSession().Start(Header(manifest));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("more than"), std::string::npos) << status.message();

  // K8: sizes whose sum wraps int64 passed the check.
  const std::string wrapping =
      json{{"files",
            {{{"path", "a"}, {"size", 16}, {"sha256", hash}},
             {{"path", "b"}, {"size", std::numeric_limits<int64_t>::max()}, {"sha256", hash}}}}}
          .dump();
  status = PublishSession().Start(Header(wrapping));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("more than"), std::string::npos) << status.message();
}

TEST(MetricRequirementsTest, ListsEveryFailureWithTheFigures) {
  Requirements requirements;
  auto add = [&](const std::string& metric, kiln::v1::MetricRequirement::Comparison comparison,
                 double threshold) {
    kiln::v1::MetricRequirement* requirement = requirements.Add();
    requirement->set_metric(metric);
    requirement->set_comparison(comparison);
    requirement->set_threshold(threshold);
  };
  add("recall@1", kiln::v1::MetricRequirement::GREATER_OR_EQUAL, 0.85);
  add("accuracy", kiln::v1::MetricRequirement::GREATER, 0.5);
  add("f1", kiln::v1::MetricRequirement::GREATER_OR_EQUAL, 0.1);
  add("loss", kiln::v1::MetricRequirement::LESS, 1.0);
  ASSERT_TRUE(ValidateRequirements(requirements).ok());
  const std::map<std::string, double> metrics = {{"recall@1", 0.8123}, {"accuracy", 0.6}, {"loss", 0.5}};
  absl::Status status = CheckRequirements(metrics, requirements, "version 1");
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("recall@1 >= 0.85 (actual 0.8123)"), std::string::npos) << status;
  EXPECT_NE(status.message().find("f1 >= 0.1 (the version has no such metric)"), std::string::npos)
      << status;
  EXPECT_EQ(status.message().find("accuracy"), std::string::npos) << status;
  EXPECT_TRUE(CheckRequirements({{"recall@1", 0.85}, {"accuracy", 0.51}, {"f1", 0.2}, {"loss", 0.9}},
                                requirements, "version 1")
                  .ok());

  Requirements unspecified;
  unspecified.Add()->set_metric("recall@1");
  EXPECT_EQ(ValidateRequirements(unspecified).code(), absl::StatusCode::kInvalidArgument);
}

TEST(BlobCacheTest, EvictsTheLeastRecentlyUsedWithinItsBound) {
  BlobCache cache(800);
  auto blob = [](char c) { return std::make_shared<const std::string>(100, c); };
  for (char c : std::string("abcdefgh")) cache.Insert(std::string(1, c), blob(c));
  EXPECT_EQ(cache.size_bytes(), 800);
  ASSERT_NE(cache.Find("a"), nullptr);  // now the most recently used
  cache.Insert("i", blob('i'));
  EXPECT_EQ(cache.size_bytes(), 800);
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_EQ(*cache.Find("i"), std::string(100, 'i'));
  cache.Insert("huge", std::make_shared<const std::string>(101, 'x'));  // over an eighth
  EXPECT_EQ(cache.Find("huge"), nullptr);
}

TEST(TtlCacheTest, LoadsOnceServesUntilExpiryAndForgets) {
  TtlCache<std::string, int> cache(std::chrono::hours(1));
  int loads = 0;
  auto load = [&]() -> absl::StatusOr<int> { return ++loads; };
  EXPECT_EQ(*cache.Get("a", load), 1);
  EXPECT_EQ(*cache.Get("a", load), 1);
  EXPECT_EQ(loads, 1);
  cache.EraseIf([](const std::string& key) { return key == "a"; });
  EXPECT_EQ(*cache.Get("a", load), 2);
  auto missing = [] { return absl::StatusOr<int>(absl::NotFoundError("gone")); };
  EXPECT_TRUE(absl::IsNotFound(cache.Get("b", missing).status()));
  EXPECT_EQ(*cache.Get("b", load), 3);  // errors are not cached
}

TEST(TtlCacheTest, ExpiredEntriesAreReloadedAndDroppedWhenGone) {
  TtlCache<std::string, int> cache(std::chrono::nanoseconds(0));
  EXPECT_EQ(*cache.Get("a", [] { return absl::StatusOr<int>(1); }), 1);
  EXPECT_EQ(*cache.Get("a", [] { return absl::StatusOr<int>(2); }), 2);
  // A failed refresh keeps the old value; NotFound removes it.
  EXPECT_EQ(*cache.Get("a", [] { return absl::StatusOr<int>(absl::UnavailableError("db")); }), 2);
  EXPECT_TRUE(absl::IsNotFound(
      cache.Get("a", [] { return absl::StatusOr<int>(absl::NotFoundError("deleted")); }).status()));
  EXPECT_TRUE(absl::IsUnavailable(
      cache.Get("a", [] { return absl::StatusOr<int>(absl::UnavailableError("db")); }).status()));
}

TEST(ContentTypeTest, ByExtension) {
  EXPECT_EQ(ContentTypeFor("manifest.json"), "application/json");
  EXPECT_EQ(ContentTypeFor("preprocess.js"), "text/javascript");
  EXPECT_EQ(ContentTypeFor("group1-shard1of1.bin"), "application/octet-stream");
  EXPECT_EQ(ContentTypeFor("INDEX.HTML"), "text/html; charset=utf-8");
  EXPECT_EQ(ContentTypeFor("noextension"), "application/octet-stream");
}

TEST(ContentTypeTest, BundleFilesAreJsonOrOctetStreamOnly) {
  EXPECT_EQ(BundleFileContentType("manifest.json"), "application/json");
  EXPECT_EQ(BundleFileContentType("VOCAB.JSON"), "application/json");
  EXPECT_EQ(BundleFileContentType("preprocess.js"), "application/octet-stream");
  EXPECT_EQ(BundleFileContentType("page.html"), "application/octet-stream");
  EXPECT_EQ(BundleFileContentType("image.svg"), "application/octet-stream");
  EXPECT_EQ(BundleFileContentType("group1-shard1of1.bin"), "application/octet-stream");
}

TEST(BundleArchiveTest, DeterministicTarGzOfEveryFile) {
  auto shared = [](std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); };
  const std::vector<ArchiveFile> files = {{"model.json", shared("{}")},
                                          {"weights/a.bin", shared(std::string(5000, '\x7f'))},
                                          {"empty", shared("")}};
  absl::StatusOr<std::string> first = MakeTarGz(files, 1700000000);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::string> second = MakeTarGz(files, 1700000000);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, *second);

  std::unique_ptr<struct archive, decltype(&archive_read_free)> reader(archive_read_new(),
                                                                      archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  ASSERT_EQ(archive_read_open_memory(reader.get(), first->data(), first->size()), ARCHIVE_OK);
  struct archive_entry* entry = nullptr;
  size_t index = 0;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    ASSERT_LT(index, files.size());
    EXPECT_EQ(archive_entry_pathname(entry), files[index].path);
    EXPECT_EQ(archive_entry_mtime(entry), 1700000000);
    std::string bytes(static_cast<size_t>(archive_entry_size(entry)), '\0');
    if (!bytes.empty()) {
      ASSERT_EQ(archive_read_data(reader.get(), bytes.data(), bytes.size()),
                static_cast<la_ssize_t>(bytes.size()));
    }
    EXPECT_EQ(bytes, *files[index].bytes);
    ++index;
  }
  EXPECT_EQ(index, files.size());
}

// Every entry of a tar.gz, by path.
std::map<std::string, std::string> TarGzEntries(const std::string& archive) {
  std::map<std::string, std::string> entries;
  std::unique_ptr<struct archive, decltype(&archive_read_free)> reader(archive_read_new(),
                                                                      archive_read_free);
  archive_read_support_filter_gzip(reader.get());
  archive_read_support_format_tar(reader.get());
  if (archive_read_open_memory(reader.get(), archive.data(), archive.size()) != ARCHIVE_OK) return {};
  struct archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK) {
    std::string bytes(static_cast<size_t>(archive_entry_size(entry)), '\0');
    if (!bytes.empty()) archive_read_data(reader.get(), bytes.data(), bytes.size());
    entries[archive_entry_pathname(entry)] = std::move(bytes);
  }
  return entries;
}

// K8: bundle files named package.json or index.js replaced the generated
// ones, and file names were pasted unescaped into browser.mjs.
TEST(NpmPackageTest, BundleFilesCannotReplaceOrInjectIntoTheGeneratedOnes) {
  auto shared = [](std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); };
  const std::string odd_name = "it's #1?'); alert(1); ('.bin";
  ASSERT_TRUE(ValidateFilePath(odd_name).ok());
  const std::vector<ArchiveFile> files = {
      {"model.json", shared("{}")},          {"vocab.json", shared("[]")},
      {"preprocess.json", shared("{}")},     {"manifest.json", shared("{}")},
      {"package.json", shared("{\"name\": \"evil\"}")}, {"index.js", shared("evil()")},
      {odd_name, shared("x")}};
  kiln::v1::ModelVersion version;
  version.set_model("news");
  version.set_version(3);
  version.add_classes("sci.space");
  absl::StatusOr<std::string> package = MakeNpmPackage(version, files);
  ASSERT_TRUE(package.ok()) << package.status();
  const std::map<std::string, std::string> entries = TarGzEntries(*package);

  const auto package_json = nlohmann::json::parse(entries.at("package/package.json"));
  EXPECT_EQ(package_json["name"], "kiln-model-news");
  EXPECT_EQ(package_json["exports"]["./manifest.json"], "./bundle/manifest.json");
  EXPECT_NE(entries.at("package/index.js"), "evil()");
  EXPECT_EQ(entries.at("package/bundle/package.json"), "{\"name\": \"evil\"}");
  EXPECT_EQ(entries.at("package/bundle/index.js"), "evil()");
  EXPECT_EQ(entries.at("package/bundle/" + odd_name), "x");
  // The odd name appears in model-files.mjs only as JSON strings: its key,
  // and a percent-encoded URL.
  const std::string& files_module = entries.at("package/model-files.mjs");
  EXPECT_EQ(files_module.find("'it's"), std::string::npos);
  EXPECT_NE(files_module.find(nlohmann::json(odd_name).dump() + ": new URL(\"./bundle/it%27s%20%231%3F%27%29%3B%20alert%281%29%3B%20%28%27.bin\", import.meta.url),"),
            std::string::npos)
      << files_module;
}

// A file of the repository (ctest sets KILN_SOURCE_DIR).
std::string ReadSourceFile(const std::string& path) {
  const char* root = std::getenv("KILN_SOURCE_DIR");
  EXPECT_NE(root, nullptr) << "KILN_SOURCE_DIR is not set; run through ctest";
  std::ifstream in(absl::StrCat(root == nullptr ? "." : root, "/", path), std::ios::binary);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// The package's code is Kiln's, the same files as in clients/ (K12, K13):
// nothing of it is generated, and the text library comes along.
// The package of version `number` of "news", whose bundle holds stub
// model.json, vocab.json and manifest.json plus `preprocess` (the file name
// that tells format 2 from format 1).
absl::StatusOr<std::string> StubPackage(int64_t number, const std::string& preprocess) {
  auto shared = [](std::string bytes) { return std::make_shared<const std::string>(std::move(bytes)); };
  const std::vector<ArchiveFile> files = {{"model.json", shared("{}")},
                                          {"vocab.json", shared("[]")},
                                          {preprocess, shared("{}")},
                                          {"manifest.json", shared("{}")}};
  kiln::v1::ModelVersion version;
  version.set_model("news");
  version.set_version(number);
  return MakeNpmPackage(version, files);
}

TEST(NpmPackageTest, CarriesKilnsLibrariesAsTheyAreInTheRepository) {
  absl::StatusOr<std::string> package = StubPackage(3, "preprocess.json");
  ASSERT_TRUE(package.ok()) << package.status();
  const std::map<std::string, std::string> entries = TarGzEntries(*package);
  for (const auto& [entry, source] : {std::pair{"index.js", "clients/npm/index.js"},
                                      std::pair{"browser.mjs", "clients/npm/browser.mjs"},
                                      std::pair{"index.d.ts", "clients/npm/index.d.ts"},
                                      std::pair{"text/kiln-text.js", "clients/text/kiln-text.js"},
                                      std::pair{"text/kiln-preprocess.js", "clients/text/kiln-preprocess.js"},
                                      std::pair{"text/package.json", "clients/text/package.json"},
                                      std::pair{"sync/layers-model-io.js", "clients/sync/layers-model-io.js"}}) {
    ASSERT_TRUE(entries.count(absl::StrCat("package/", entry))) << entry;
    EXPECT_EQ(entries.at(absl::StrCat("package/", entry)), ReadSourceFile(source)) << entry;
  }
  EXPECT_EQ(nlohmann::json::parse(entries.at("package/sync/package.json"))["type"], "module");
}

TEST(NpmPackageTest, RefusesAFormat1Bundle) {
  absl::StatusOr<std::string> package = StubPackage(1, "preprocess.js");
  EXPECT_EQ(package.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(package.status().message().find("format 1"), std::string::npos) << package.status();
}

}  // namespace
}  // namespace kiln::registry
