// clients/text/kiln-text.js, the JavaScript twin of services/text, embedded
// at build time (embed_kiln_text.cmake) without its closing `export`
// statement, so that it runs as a classic script: workers that write
// bundles need no file besides their binary.
#pragma once

namespace kiln::model {

extern const char kEmbeddedKilnTextJs[];

}  // namespace kiln::model
