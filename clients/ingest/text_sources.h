// Line-oriented sources: JSON Lines and CSV with a header row.
//
// JSONL: one object per line with "body" (or "text"), "category" and
// "year"; "source" is optional. CSV: RFC 4180 (quoted fields may hold
// commas, quotes and newlines) with a header naming the columns body (or
// text), category, year and optionally source, in any order and case. The
// article's column names Data, Category and Year work in both.
#pragma once

#include "clients/ingest/post_source.h"

namespace kiln::ingest {

absl::StatusOr<std::unique_ptr<PostSource>> OpenJsonlSource(const std::string& path);
absl::StatusOr<std::unique_ptr<PostSource>> OpenCsvSource(const std::string& path);

}  // namespace kiln::ingest
