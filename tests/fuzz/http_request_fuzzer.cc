// The registry's HTTP request parsing (services/registry/http_route.h and
// http_range.h) on any bytes: the input's first line is a request path, the
// rest a Range header's value. Every refusal is a 400 or 404 with a message
// that can go into a JSON body; every accepted route and range keeps the
// promises the headers make.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "services/common/validation.h"
#include "services/registry/http_range.h"
#include "services/registry/http_route.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// Names and paths end up in SQL text parameters and log lines.
bool Clean(const std::string& text) {
  return kiln::IsValidUtf8(text) && text.find('\0') == std::string::npos;
}

void CheckRoute(absl::string_view path, bool web_root) {
  using Kind = kiln::registry::HttpRoute::Kind;
  absl::StatusOr<kiln::registry::HttpRoute> route = kiln::registry::ParseHttpRoute(path, web_root);
  if (!route.ok()) {
    FUZZ_CHECK(route.status().code() == absl::StatusCode::kInvalidArgument ||
               route.status().code() == absl::StatusCode::kNotFound);
    FUZZ_CHECK(kiln::IsValidUtf8(route.status().message()));
    return;
  }
  FUZZ_CHECK(Clean(route->model) && Clean(route->alias) && Clean(route->file));
  if (route->kind == Kind::kWebFile) FUZZ_CHECK(web_root);
  if (route->kind == Kind::kVersionFile) FUZZ_CHECK(route->version > 0 && !route->file.empty());
  if (route->kind == Kind::kVersionFile || route->kind == Kind::kWebFile) {
    // No way out of the version or the web root.
    FUZZ_CHECK(!absl::StartsWith(route->file, "/"));
    FUZZ_CHECK(route->file != ".." && !absl::StartsWith(route->file, "../") &&
               !absl::StrContains(route->file, "/../") && !absl::EndsWith(route->file, "/.."));
    FUZZ_CHECK(!absl::StrContains(route->file, "\\"));
  }
}

void CheckRanges(absl::string_view header, uint64_t size) {
  using Kind = kiln::registry::RangeSelection::Kind;
  const kiln::registry::RangeSelection selection = kiln::registry::SelectRanges(header, size);
  if (selection.kind != Kind::kPartial) {
    FUZZ_CHECK(selection.ranges.empty());
    return;
  }
  FUZZ_CHECK(!selection.ranges.empty() &&
             selection.ranges.size() <= kiln::registry::kMaxByteRanges);
  for (size_t i = 0; i < selection.ranges.size(); ++i) {
    const kiln::registry::ByteRange& range = selection.ranges[i];
    FUZZ_CHECK(range.first <= range.last && range.last < size);
    // Ascending, neither overlapping nor adjacent: at most `size` bytes sent.
    if (i > 0) FUZZ_CHECK(selection.ranges[i - 1].last + 1 < range.first);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view path = input.substr(0, newline);
  CheckRoute(path, /*web_root=*/false);
  CheckRoute(path, /*web_root=*/true);
  if (newline == absl::string_view::npos) return 0;
  const absl::string_view header = input.substr(newline + 1);
  for (uint64_t length : {uint64_t{0}, uint64_t{1}, uint64_t{2400}, uint64_t{4} << 20}) {
    CheckRanges(header, length);
  }
  return 0;
}
