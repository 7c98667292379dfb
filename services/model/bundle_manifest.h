// manifest.json: what a bundle holds and how to check it (docs/bundle.md,
// section "manifest.json"). The writer fills it in, the reader and the
// registry parse it to verify every file's size and sha256.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "services/model/model_weights.h"
#include "services/model/weight_encoding.h"

namespace kiln::model {

inline constexpr char kBundleFormat[] = "kiln-bundle";
// Written: 2 (preprocess.json). Read: 1 (preprocess.js) and 2.
inline constexpr int kBundleFormatVersion = 2;
inline constexpr int kOldestBundleFormatVersion = 1;

struct BundleFileEntry {
  std::string path;  // a bundle file name (IsBundleFileName)
  int64_t size = 0;
  std::string sha256;  // lower-case hex
};

struct BundleManifest {
  int format_version = kBundleFormatVersion;
  std::vector<std::string> classes;  // index = output unit
  std::string spec_version;          // the preprocessing spec, e.g. "kiln-text-1"
  std::string vocab_sha256;          // Vocabulary::sha256() of vocab.json
  ModelShape shape;                  // num_classes == classes.size()
  WeightEncoding weight_encoding = WeightEncoding::kFloat32;
  std::map<std::string, double> metrics;
  nlohmann::json lineage = nlohmann::json::object();
  std::vector<BundleFileEntry> files;  // every file but manifest.json, by path
};

// Pretty-printed JSON with sorted keys: equal manifests give equal bytes.
std::string ManifestToJson(const BundleManifest& manifest);

// Parses and validates manifest.json: types, ranges, file names, sha256
// syntax, the presence of model.json, vocab.json and preprocess.json
// (format 1: preprocess.js). FailedPrecondition for a format version this
// build does not read,
// InvalidArgument for anything malformed, each naming the field.
absl::StatusOr<BundleManifest> ParseManifest(absl::string_view json);

}  // namespace kiln::model
