#include "services/registry/http_route.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "services/common/validation.h"
#include "services/registry/registry_names.h"

namespace kiln::registry {
namespace {

// How much of a bad path an error message repeats.
constexpr size_t kEchoedPathBytes = 200;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

absl::Status Malformed(absl::string_view path, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "malformed request path \"", EchoableUtf8(path, kEchoedPathBytes), "\": ", why));
}

absl::Status NoRoute(absl::string_view path) {
  return absl::NotFoundError(
      absl::StrCat("no route for ", EchoableUtf8(path, kEchoedPathBytes)));
}

// 1 or more, digits only (no sign, no spaces), within int64.
bool ParseVersion(absl::string_view text, int64_t* version) {
  if (text.empty() || !std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) return false;
  return absl::SimpleAtoi(text, version) && *version >= 1;
}

absl::StatusOr<HttpRoute> WebFile(absl::string_view path, const std::string& decoded) {
  absl::string_view relative = decoded;
  absl::ConsumePrefix(&relative, "/");
  HttpRoute route;
  route.kind = HttpRoute::Kind::kWebFile;
  route.directory = relative.empty() || absl::ConsumeSuffix(&relative, "/");
  if (!relative.empty()) {
    if (absl::Status valid = ValidateFilePath(relative); !valid.ok()) {
      return Malformed(path, valid.message());
    }
  }
  route.file = std::string(relative);
  return route;
}

}  // namespace

absl::StatusOr<std::string> PercentDecode(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    const int high = i + 2 < text.size() ? HexValue(text[i + 1]) : -1;
    const int low = i + 2 < text.size() ? HexValue(text[i + 2]) : -1;
    if (high < 0 || low < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"%\" at byte ", i, " is not followed by two hex digits"));
    }
    out.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  if (!IsValidUtf8(out)) return absl::InvalidArgumentError("it is not UTF-8 once percent-decoded");
  return out;
}

absl::StatusOr<HttpRoute> ParseHttpRoute(absl::string_view path, bool web_root) {
  if (!absl::StartsWith(path, "/")) return Malformed(path, "it does not start with \"/\"");
  absl::StatusOr<std::string> decoded = PercentDecode(path);
  if (!decoded.ok()) return Malformed(path, decoded.status().message());
  HttpRoute route;
  if (*decoded == "/healthz") {
    route.kind = HttpRoute::Kind::kHealth;
    return route;
  }
  absl::string_view rest = *decoded;
  if (!absl::ConsumePrefix(&rest, "/v1/")) {
    if (web_root) return WebFile(path, *decoded);
    return NoRoute(path);
  }
  // Every segment is checked before any is looked at, so that the router
  // never sees "..", ".", empty segments, backslashes or control characters.
  const std::vector<std::string> segments = absl::StrSplit(rest, '/');
  for (const std::string& segment : segments) {
    if (absl::Status valid = ValidateFilePath(segment); !valid.ok()) {
      return Malformed(path, valid.message());
    }
  }
  if (segments[0] != "models") return NoRoute(path);
  if (segments.size() == 1) {
    route.kind = HttpRoute::Kind::kModels;
    return route;
  }
  route.model = segments[1];
  if (absl::Status valid = ValidateModelName(route.model); !valid.ok()) return valid;
  if (segments.size() == 2) {
    route.kind = HttpRoute::Kind::kModel;
    return route;
  }
  if (segments[2] == "aliases" && segments.size() == 5 && segments[4] == kManifestPath) {
    route.alias = segments[3];
    if (absl::Status valid = ValidateAliasName(route.alias); !valid.ok()) return valid;
    route.kind = HttpRoute::Kind::kAliasManifest;
    return route;
  }
  if (segments[2] == "versions" && segments.size() >= 5) {
    if (!ParseVersion(segments[3], &route.version)) {
      return absl::InvalidArgumentError(
          absl::StrCat("version \"", segments[3], "\" is not a number >= 1"));
    }
    route.file = absl::StrJoin(segments.begin() + 4, segments.end(), "/");
    route.kind = HttpRoute::Kind::kVersionFile;
    return route;
  }
  return NoRoute(path);
}

}  // namespace kiln::registry
