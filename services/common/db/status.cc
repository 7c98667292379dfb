#include "services/common/db/status.h"

#include <string>

#include <pqxx/except>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace kiln::db {
namespace {

absl::StatusCode CodeForSqlState(absl::string_view state) {
  if (state == "23505") return absl::StatusCode::kAlreadyExists;
  if (state == "23514" || state == "23502") {
    return absl::StatusCode::kInvalidArgument;
  }
  if (absl::StartsWith(state, "23"))
    return absl::StatusCode::kFailedPrecondition;
  if (absl::StartsWith(state, "22")) return absl::StatusCode::kInvalidArgument;
  // 40003 (statement completion unknown) is not a clean rollback.
  if (state == "40003") return absl::StatusCode::kUnknown;
  if (absl::StartsWith(state, "40") || state == "55P03") {
    return absl::StatusCode::kAborted;
  }
  // Class 08 is connection exceptions; 57P01-57P03 mean the server is
  // shutting down, crashed or not accepting connections yet.
  if (absl::StartsWith(state, "08") || state == "57P01" || state == "57P02" ||
      state == "57P03" || state == "53300") {
    return absl::StatusCode::kUnavailable;
  }
  if (absl::StartsWith(state, "53"))
    return absl::StatusCode::kResourceExhausted;
  if (state == "57014") return absl::StatusCode::kDeadlineExceeded;
  return absl::StatusCode::kInternal;
}

// libpq messages span lines ("ERROR:  ...\nDETAIL:  ...\n"); a status
// message reads better on one line.
std::string OneLine(absl::string_view message) {
  std::string text(absl::StripAsciiWhitespace(message));
  if (absl::StartsWith(text, "ERROR:")) text.erase(0, 6);
  text = absl::StrReplaceAll(text, {{"\n", " "}, {"\t", " "}});
  while (absl::StrContains(text, "  ")) {
    text = absl::StrReplaceAll(text, {{"  ", " "}});
  }
  return std::string(absl::StripAsciiWhitespace(text));
}

absl::StatusCode CodeForException(const std::exception& error,
                                  std::string* sqlstate) {
  // in_doubt_error and the transaction_rollback family are not sql_errors in
  // libpqxx 6, so they are tested by type before the SQLSTATE.
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) {
    *sqlstate = sql->sqlstate();
    if (!sqlstate->empty()) return CodeForSqlState(*sqlstate);
  }
  if (dynamic_cast<const pqxx::in_doubt_error*>(&error) ||
      dynamic_cast<const pqxx::statement_completion_unknown*>(&error)) {
    return absl::StatusCode::kUnknown;
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&error)) {
    return absl::StatusCode::kAborted;
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&error)) {
    return absl::StatusCode::kUnavailable;
  }
  return absl::StatusCode::kInternal;
}

}  // namespace

absl::Status StatusFromException(const std::exception& error,
                                 absl::string_view context) {
  std::string sqlstate;
  const absl::StatusCode code = CodeForException(error, &sqlstate);
  std::string message = OneLine(error.what());
  if (code == absl::StatusCode::kUnknown) {
    absl::StrAppend(&message,
                    " (the outcome is unknown: the transaction may or may "
                    "not have been applied)");
  }
  if (!sqlstate.empty())
    absl::StrAppend(&message, " (SQLSTATE ", sqlstate, ")");
  if (!context.empty()) message = absl::StrCat(context, ": ", message);
  return absl::Status(code, message);
}

absl::Status StatusFromCurrentException(absl::string_view context) {
  try {
    throw;
  } catch (const std::exception& error) {
    return StatusFromException(error, context);
  } catch (...) {
    return absl::InternalError(
        absl::StrCat(context, context.empty() ? "" : ": ",
                     "unknown non-standard exception from the database layer"));
  }
}

}  // namespace kiln::db
