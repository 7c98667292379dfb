// Minimal leveled logging to stderr, one line per message, human-readable
//   2026-11-24T15:00:00.123Z INFO  kiln-data: listening on 127.0.0.1:7001
// or, with SetFormat("json") (KILN_LOG_FORMAT=json), one JSON object per
// line for a log pipeline, with the fields of the thread's ScopedContext:
//   {"time":"2026-11-24T15:00:00.123Z","level":"info","program":"kiln-data",
//    "message":"...","rpc":"/kiln.v1.DataService/ListPosts","request_id":"..."}
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace kiln::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide settings, set once at start-up.
void SetProgramName(absl::string_view name);
void SetLevel(Level level);
// Accepts "debug", "info", "warning", "error".
absl::Status SetLevel(absl::string_view name);
bool Enabled(Level level);
// Accepts "text" (the default) and "json".
absl::Status SetFormat(absl::string_view name);

// Fields that every line this thread writes carries while the object lives
// (JSON format; the text format leaves them out): the RPC and request id of
// a call (KILN_AUTHORIZE sets them), the job a worker runs. Nested scopes
// add to the outer ones.
class ScopedContext {
 public:
  explicit ScopedContext(std::vector<std::pair<std::string, std::string>> fields);
  ScopedContext(std::string key, std::string value);
  ~ScopedContext();
  ScopedContext(const ScopedContext&) = delete;
  ScopedContext& operator=(const ScopedContext&) = delete;

 private:
  size_t outer_size_;
};

void Write(Level level, absl::string_view message);

template <typename... Args>
void Debug(const Args&... args) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, absl::StrCat(args...));
}
template <typename... Args>
void Info(const Args&... args) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, absl::StrCat(args...));
}
template <typename... Args>
void Warning(const Args&... args) {
  if (Enabled(Level::kWarning)) Write(Level::kWarning, absl::StrCat(args...));
}
template <typename... Args>
void Error(const Args&... args) {
  if (Enabled(Level::kError)) Write(Level::kError, absl::StrCat(args...));
}

}  // namespace kiln::log
