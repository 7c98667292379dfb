#include "services/common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace kiln::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
thread_local std::vector<std::pair<std::string, std::string>> t_context;
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

const char* JsonLevelName(Level level) {
  switch (level) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "unknown";
}

std::string JsonLine(const std::string& stamp, Level level, const std::string& program,
                     absl::string_view message) {
  nlohmann::ordered_json line = {{"time", stamp},
                                 {"level", JsonLevelName(level)},
                                 {"program", program},
                                 {"message", std::string(message)}};
  for (const auto& [key, value] : t_context) line[key] = value;
  // Messages may quote bytes from a request: invalid UTF-8 becomes U+FFFD
  // rather than an exception.
  return line.dump(-1, ' ', /*ensure_ascii=*/false, nlohmann::json::error_handler_t::replace);
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

absl::Status SetFormat(absl::string_view name) {
  if (name != "text" && name != "json") {
    return absl::InvalidArgumentError(
        absl::StrCat("log format \"", name, "\" is not one of text, json"));
  }
  g_json = name == "json";
  return absl::OkStatus();
}

ScopedContext::ScopedContext(std::vector<std::pair<std::string, std::string>> fields)
    : outer_size_(t_context.size()) {
  for (auto& field : fields) t_context.push_back(std::move(field));
}

ScopedContext::ScopedContext(std::string key, std::string value) : outer_size_(t_context.size()) {
  t_context.emplace_back(std::move(key), std::move(value));
}

ScopedContext::~ScopedContext() { t_context.resize(outer_size_); }

void Write(Level level, absl::string_view message) {
  const std::string stamp =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone());
  std::lock_guard<std::mutex> lock(g_mutex);
  if (g_json) {
    const std::string line = JsonLine(stamp, level, g_program, message);
    std::fprintf(stderr, "%s\n", line.c_str());
    return;
  }
  std::fprintf(stderr, "%s %s %s: %.*s\n", stamp.c_str(), LevelName(level),
               g_program.c_str(), static_cast<int>(message.size()), message.data());
}

}  // namespace kiln::log
