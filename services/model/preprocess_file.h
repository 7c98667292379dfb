// preprocess.json: the text preprocessing of one model as data (docs/
// bundle.md, section "preprocess.json"): the spec version and the constants
// the JavaScript twin (clients/text/kiln-preprocess.js) needs besides
// vocab.json and idf.json. Bundles carry no code.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "services/model/bundle_manifest.h"

namespace kiln::model {

inline constexpr char kPreprocessFormat[] = "kiln-preprocess";

// preprocess.json for the model `manifest` describes (its spec version,
// input kind, max_length, vocabulary size and sha256, classes): compact
// ASCII JSON with sorted keys, so equal models give equal bytes.
std::string PreprocessFileJson(const BundleManifest& manifest);

// Checks that `json` is a preprocess.json that agrees with `manifest` in
// every field: InvalidArgument naming the first that does not.
absl::Status CheckPreprocessFile(absl::string_view json, const BundleManifest& manifest);

}  // namespace kiln::model
