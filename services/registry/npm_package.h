// A model version as an npm package (the article's "further improvement"),
// served as GET /v1/models/{model}/versions/{version}/npm.tgz:
//
//   npm install ./kiln-model-news-2.0.0.tgz @tensorflow/tfjs
//   const news = require('kiln-model-news');
//   await news.predict('text of a post', 3);  // [{label, probability}, ...]
//
// Package `kiln-model-{model}`, version `{version}.0.0`: the bundle's files
// as they are in bundle/ (manifest.json, model.json, shards, vocab.json,
// preprocess.json, idf.json), Kiln's code from clients/ (index.js for node,
// CommonJS; browser.mjs for browsers and bundlers; index.d.ts; text/ the
// preprocessing library; sync/layers-model-io.js) and per version only
// data: package.json, README.md and model-files.mjs (every file as a
// `new URL(..., import.meta.url)` asset for bundlers). @tensorflow/tfjs is a
// peer dependency: the app picks its copy.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/registry.pb.h"
#include "services/registry/bundle_archive.h"

namespace kiln::registry {

inline constexpr char kNpmPackagePath[] = "npm.tgz";

// "kiln-model-news" for model "news"; registry model names are valid npm
// names once prefixed.
std::string NpmPackageName(const std::string& model);

// "kiln-model-news-2.0.0.tgz", the name `npm pack` would give it.
std::string NpmPackageFileName(const std::string& model, int64_t version);

// The package of `version`, `files` being its bundle files and
// manifest.json (as for MakeTarGz): a deterministic tar.gz with every entry
// under package/, dated `version.created_at()`. InvalidArgument when
// `files` lack model.json, vocab.json or manifest.json; FailedPrecondition
// for a format 1 bundle (preprocess.js instead of preprocess.json).
absl::StatusOr<std::string> MakeNpmPackage(const kiln::v1::ModelVersion& version,
                                           const std::vector<ArchiveFile>& files);

}  // namespace kiln::registry
