// A bundle as a set of named files (docs/bundle.md), in memory or in a
// directory.
#pragma once

#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace kiln::model {

// File name -> contents. Ordered, so that iterating is deterministic.
using BundleFiles = std::map<std::string, std::string>;

inline constexpr char kManifestFile[] = "manifest.json";
inline constexpr char kModelFile[] = "model.json";
inline constexpr char kVocabFile[] = "vocab.json";
inline constexpr char kPreprocessFile[] = "preprocess.json";
// Format 1 bundles carried their preprocessing as a script instead; still
// read (kiln predict of an old version), never written.
inline constexpr char kFormat1PreprocessFile[] = "preprocess.js";
inline constexpr char kIdfFile[] = "idf.json";  // tfidf models only

// Bundles are flat: a file name is 1-128 of [A-Za-z0-9._-], not starting
// with '.', so that no name read from a manifest can leave the bundle's
// directory or URL prefix.
bool IsBundleFileName(absl::string_view name);

// Writes every file into `directory` (created if missing), manifest.json
// last: a directory cut short by a crash has no manifest and is never taken
// for a bundle.
absl::Status WriteBundleDirectory(const BundleFiles& files, const std::string& directory);

// Reads manifest.json from `directory` and the files it lists, nothing else.
// NotFound naming the first missing file; contents are not verified here
// (ReadBundle does that).
absl::StatusOr<BundleFiles> ReadBundleDirectory(const std::string& directory);

}  // namespace kiln::model
