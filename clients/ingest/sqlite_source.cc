#include "clients/ingest/sqlite_source.h"

#include <sqlite3.h>

#include "absl/strings/str_cat.h"

namespace kiln::ingest {
namespace {

class SqliteSource final : public PostSource {
 public:
  SqliteSource(std::string path, sqlite3* db, sqlite3_stmt* rows, int64_t total)
      : path_(std::move(path)), db_(db), rows_(rows), total_(total) {}
  ~SqliteSource() override {
    sqlite3_finalize(rows_);
    sqlite3_close(db_);
  }

  absl::StatusOr<bool> Next(RawPost& post) override {
    const int step = sqlite3_step(rows_);
    if (step == SQLITE_DONE) return false;
    if (step != SQLITE_ROW) {
      return absl::DataLossError(
          absl::StrCat("reading table news of ", path_, ": ", sqlite3_errmsg(db_)));
    }
    ++read_;
    post = RawPost();
    post.source = absl::StrCat(path_, ":rowid ", sqlite3_column_int64(rows_, 0));
    post.body = Text(1);
    post.category = Text(2);
    // Years must be integers; text such as "1990" is accepted as SQLite
    // itself would compare it, anything else is a problem of this row.
    switch (sqlite3_column_type(rows_, 3)) {
      case SQLITE_INTEGER:
        post.year = sqlite3_column_int64(rows_, 3);
        break;
      case SQLITE_NULL:
        post.problem = "Year is NULL";
        break;
      default: {
        const std::string text = Text(3);
        char* end = nullptr;
        const long long year = std::strtoll(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0') {
          post.problem = absl::StrCat("Year \"", text.substr(0, 32), "\" is not an integer");
        } else {
          post.year = year;
        }
      }
    }
    if (sqlite3_column_type(rows_, 2) == SQLITE_NULL && post.problem.empty()) {
      post.problem = "Category is NULL";
    }
    return true;
  }

  double Progress() const override {
    return total_ > 0 ? static_cast<double>(read_) / static_cast<double>(total_) : -1;
  }

 private:
  std::string Text(int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(rows_, column));
    return text == nullptr ? std::string()
                           : std::string(text, sqlite3_column_bytes(rows_, column));
  }

  const std::string path_;
  sqlite3* db_;
  sqlite3_stmt* rows_;
  const int64_t total_;
  int64_t read_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PostSource>> OpenSqliteSource(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return absl::NotFoundError(absl::StrCat("cannot open SQLite database ", path, ": ", message));
  }
  int64_t total = -1;
  sqlite3_stmt* count = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM news", -1, &count, nullptr) == SQLITE_OK &&
      sqlite3_step(count) == SQLITE_ROW) {
    total = sqlite3_column_int64(count, 0);
  }
  sqlite3_finalize(count);
  sqlite3_stmt* rows = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT rowid, Data, Category, Year FROM news ORDER BY rowid", -1,
                         &rows, nullptr) != SQLITE_OK) {
    std::string message = sqlite3_errmsg(db);
    sqlite3_close(db);
    return absl::InvalidArgumentError(absl::StrCat(
        path, " is not in the article's layout (table news with columns Data, Category, Year): ",
        message));
  }
  return std::unique_ptr<PostSource>(new SqliteSource(path, db, rows, total));
}

}  // namespace kiln::ingest
