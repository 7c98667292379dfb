// kiln_bench_registry_publish: publishes a bundle-like version (manifest.json,
// a 4 MiB weight shard, model.json, vocab.json, preprocess.json) to a registry
// and writes the same files under --out in the registry's URL layout, so
// that a static server rooted there answers the same URLs.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/client.h"
#include "services/common/config.h"
#include "services/common/sha256.h"
#include "services/registry/registry_client.h"

namespace {

using Files = std::map<std::string, std::string>;

Files MakeBundleFiles() {
  // Incompressible, like real weights, and the same on every run.
  std::mt19937_64 random(20261124);
  std::string shard(4 << 20, '\0');
  for (size_t i = 0; i < shard.size(); i += 8) {
    const uint64_t word = random();
    std::memcpy(&shard[i], &word, 8);
  }
  std::string vocab = R"(["<pad>", "<oov>")";
  for (int i = 0; i < 2000; ++i) absl::StrAppend(&vocab, ", \"word", i, "\"");
  vocab += "]";
  return {{"group1-shard1of1.bin", std::move(shard)},
          {"model.json", R"({"format": "layers-model", "modelTopology": {}, "weightsManifest": []})"},
          {"vocab.json", std::move(vocab)},
          {"preprocess.json", R"({"format": "kiln-preprocess", "spec_version": "kiln-text-1"})"}};
}

std::string ManifestOf(const Files& files) {
  nlohmann::json entries = nlohmann::json::array();
  for (const auto& [path, bytes] : files) {
    entries.push_back({{"path", path}, {"size", bytes.size()}, {"sha256", kiln::Sha256Hex(bytes)}});
  }
  return nlohmann::json{{"format", "kiln-bundle"},
                        {"classes", {"comp.graphics", "rec.autos", "sci.space"}},
                        {"preprocessing", {{"spec_version", "kiln-text-1"}}},
                        {"model", {{"weight_encoding", "float32"}}},
                        {"metrics", {{"recall@1", 0.87}}},
                        {"files", entries}}
             .dump(2);
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace

int main(int argc, char** argv) {
  std::string registry = "127.0.0.1:7005";
  std::string model = "bench";
  std::string out;
  kiln::ClientConfig client;
  CLI::App app{"publishes a bundle-like version and mirrors its files for a static server"};
  app.add_option("--registry", registry, "registry gRPC address host:port")->capture_default_str();
  app.add_option("--model", model, "model name")->capture_default_str();
  app.add_option("--out", out, "directory to mirror the files into (URL layout)")->required();
  kiln::AddClientOptions(app, client);
  CLI11_PARSE(app, argc, argv);

  const Files files = MakeBundleFiles();
  const std::string manifest = ManifestOf(files);
  kiln::v1::PublishHeader header;
  header.set_model(model);
  header.set_manifest_json(manifest);
  auto stub = kiln::v1::RegistryService::NewStub(kiln::MakeChannel(registry));
  absl::StatusOr<kiln::v1::ModelVersion> version =
      kiln::registry::PublishBundle(*stub, client.token, header, files);
  if (!version.ok()) {
    std::cerr << "publish failed: " << version.status() << "\n";
    return 1;
  }
  const std::filesystem::path model_dir = std::filesystem::path(out) / "v1" / "models" / model;
  const std::filesystem::path version_dir = model_dir / "versions" / std::to_string(version->version());
  for (const auto& [path, bytes] : files) WriteFile(version_dir / path, bytes);
  WriteFile(version_dir / "manifest.json", manifest);
  WriteFile(model_dir / "aliases" / "latest" / "manifest.json", manifest);
  std::cout << version->version() << "\n";
  return 0;
}
