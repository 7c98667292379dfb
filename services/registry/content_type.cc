#include "services/registry/content_type.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace kiln::registry {
namespace {

struct Mapping {
  const char* extension;
  const char* type;
};

constexpr Mapping kTypes[] = {
    {".json", "application/json"},
    {".map", "application/json"},
    {".webmanifest", "application/manifest+json"},
    {".js", "text/javascript"},
    {".mjs", "text/javascript"},
    {".html", "text/html; charset=utf-8"},
    {".htm", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".txt", "text/plain; charset=utf-8"},
    {".wasm", "application/wasm"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".gz", "application/gzip"},
};

}  // namespace

std::string ContentTypeFor(absl::string_view path) {
  const std::string lower = absl::AsciiStrToLower(path);
  for (const Mapping& mapping : kTypes) {
    if (absl::EndsWith(lower, mapping.extension)) return mapping.type;
  }
  return "application/octet-stream";
}

std::string BundleFileContentType(absl::string_view path) {
  if (absl::EndsWith(absl::AsciiStrToLower(path), ".json")) return "application/json";
  return "application/octet-stream";
}

}  // namespace kiln::registry
