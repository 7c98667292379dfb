#include "services/common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace kiln::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mutex;  // guards g_program and keeps lines whole
std::string g_program = "kiln";

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO ";
    case Level::kWarning: return "WARN ";
    case Level::kError: return "ERROR";
  }
  return "?    ";
}

}  // namespace

void SetProgramName(absl::string_view name) {
  std::lock_guard<std::mutex> lock(g_mutex);
  g_program = std::string(name);
}

void SetLevel(Level level) { g_level = static_cast<int>(level); }

absl::Status SetLevel(absl::string_view name) {
  if (name == "debug") SetLevel(Level::kDebug);
  else if (name == "info") SetLevel(Level::kInfo);
  else if (name == "warning") SetLevel(Level::kWarning);
  else if (name == "error") SetLevel(Level::kError);
  else
    return absl::InvalidArgumentError(absl::StrCat(
        "log level \"", name, "\" is not one of debug, info, warning, error"));
  return absl::OkStatus();
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, absl::string_view message) {
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "%s %s %s: %.*s\n", stamp.c_str(), LevelName(level),
               g_program.c_str(), static_cast<int>(message.size()), message.data());
}

}  // namespace kiln::log
