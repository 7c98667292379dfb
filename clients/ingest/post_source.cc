#include "clients/ingest/post_source.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_source.h"
#include "clients/ingest/sqlite_source.h"
#include "clients/ingest/text_sources.h"

namespace kiln::ingest {
namespace {

absl::StatusOr<Format> GuessFormat(const std::string& path) {
  const std::string lower = absl::AsciiStrToLower(path);
  if (absl::EndsWith(lower, ".tar.gz") || absl::EndsWith(lower, ".tgz")) return Format::kNewsgroups;
  if (absl::EndsWith(lower, ".db") || absl::EndsWith(lower, ".sqlite") ||
      absl::EndsWith(lower, ".sqlite3")) {
    return Format::kSqlite;
  }
  if (absl::EndsWith(lower, ".jsonl") || absl::EndsWith(lower, ".ndjson")) return Format::kJsonl;
  if (absl::EndsWith(lower, ".csv")) return Format::kCsv;
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot tell the format of ", path,
      " from its name; pass --format 20news, sqlite, jsonl or csv"));
}

}  // namespace

absl::StatusOr<Format> ParseFormat(const std::string& name) {
  if (name == "auto") return Format::kAuto;
  if (name == "20news") return Format::kNewsgroups;
  if (name == "sqlite") return Format::kSqlite;
  if (name == "jsonl") return Format::kJsonl;
  if (name == "csv") return Format::kCsv;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown format \"", name, "\": use auto, 20news, sqlite, jsonl or csv"));
}

absl::StatusOr<std::unique_ptr<PostSource>> OpenPostSource(const std::string& path,
                                                           const SourceOptions& options) {
  Format format = options.format;
  if (format == Format::kAuto) {
    absl::StatusOr<Format> guessed = GuessFormat(path);
    if (!guessed.ok()) return guessed.status();
    format = *guessed;
  }
  switch (format) {
    case Format::kNewsgroups: return OpenNewsgroupsSource(path, options.seed);
    case Format::kSqlite: return OpenSqliteSource(path);
    case Format::kJsonl: return OpenJsonlSource(path);
    case Format::kCsv: return OpenCsvSource(path);
    case Format::kAuto: break;
  }
  return absl::InternalError("unreachable format");
}

}  // namespace kiln::ingest
