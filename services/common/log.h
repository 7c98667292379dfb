// Minimal leveled logging to stderr, one line per message:
//   2026-11-24T15:00:00.123Z INFO  kiln-data: listening on 127.0.0.1:7001
#pragma once

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace kiln::log {

enum class Level { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

// Process-wide settings, set once at start-up.
void SetProgramName(absl::string_view name);
void SetLevel(Level level);
// Accepts "debug", "info", "warning", "error".
absl::Status SetLevel(absl::string_view name);
bool Enabled(Level level);

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
