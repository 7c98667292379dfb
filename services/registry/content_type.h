// The Content-Type a browser needs for a web-app file, and the narrower one
// a bundle's files are served with.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace kiln::registry {

// By extension: JSON, JavaScript (text/javascript, as module scripts
// require), HTML, CSS, WebAssembly, images; anything else, weight shards
// included, is application/octet-stream.
std::string ContentTypeFor(absl::string_view path);

// For a file of a published bundle: application/json for .json, otherwise
// application/octet-stream. Never a type a browser would run or render
// (script, HTML, SVG), so that whoever can publish cannot serve a page or a
// script from the registry's origin; sent with X-Content-Type-Options: nosniff.
std::string BundleFileContentType(absl::string_view path);

}  // namespace kiln::registry
