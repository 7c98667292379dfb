// The Content-Type a browser needs for a bundle or web-app file.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace kiln::registry {

// By extension: JSON, JavaScript (text/javascript, as module scripts
// require), HTML, CSS, WebAssembly, images; anything else, weight shards
// included, is application/octet-stream.
std::string ContentTypeFor(absl::string_view path);

}  // namespace kiln::registry
