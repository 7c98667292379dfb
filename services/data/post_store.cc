#include "services/data/post_store.h"

#include <pqxx/pqxx>
#include <algorithm>
#include <climits>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/db/transaction.h"
#include "services/data/holdout.h"
#include "services/data/post_validation.h"

namespace kiln::data {
namespace {

constexpr int kDefaultPageSize = 256;

// The WHERE clause selecting a dataset's posts. Values are quoted by the
// connection; years are integers validated at the edge.
std::string DatasetFilter(pqxx::transaction_base& tx, const kiln::v1::DatasetSpec& dataset) {
  std::vector<std::string> categories;
  for (const std::string& category : dataset.categories()) categories.push_back(tx.quote(category));
  std::vector<std::string> years;
  for (const auto& range : dataset.years()) {
    years.push_back(absl::StrCat("year BETWEEN ", range.first(), " AND ", range.last()));
  }
  std::string filter = absl::StrCat("category IN (", absl::StrJoin(categories, ", "), ") AND (",
                                    absl::StrJoin(years, " OR "), ")");
  if (!dataset.sources().empty()) {
    std::vector<std::string> sources;
    for (const std::string& prefix : dataset.sources()) {
      sources.push_back(absl::StrCat("starts_with(source, ", tx.quote(prefix), ")"));
    }
    absl::StrAppend(&filter, " AND (", absl::StrJoin(sources, " OR "), ")");
  }
  if (dataset.has_holdout()) {
    // COLLATE "C": byte order, which is numeric order for hex digits.
    absl::StrAppend(&filter, " AND left(content_hash, 16) COLLATE \"C\" ",
                    dataset.holdout().side() == kiln::v1::HOLDOUT_SIDE_HELD_OUT ? "<" : ">=",
                    " '", HeldOutBound(dataset.holdout().fraction()), "'");
  }
  return filter;
}

void SetTimestamp(double epoch_seconds, google::protobuf::Timestamp* timestamp) {
  const auto seconds = static_cast<int64_t>(epoch_seconds);
  timestamp->set_seconds(seconds);
  timestamp->set_nanos(static_cast<int32_t>((epoch_seconds - seconds) * 1e9));
}

}  // namespace

absl::Status PostStore::RefreshStatistics() {
  return db::RunInTransaction(pool_, [](pqxx::work& tx) -> absl::Status {
    tx.exec("ANALYZE data.posts");
    return absl::OkStatus();
  });
}

absl::StatusOr<PostStore::ImportOutcome> PostStore::ImportBatch(
    const std::vector<const kiln::v1::PostInput*>& posts) {
  ImportOutcome outcome;
  if (posts.empty()) return outcome;
  std::vector<std::string> hashes;
  hashes.reserve(posts.size());
  for (const auto* post : posts) hashes.push_back(PostContentHash(*post));

  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    // COPY into a per-connection staging table, then one INSERT that skips
    // known hashes: far fewer round trips than a statement per post.
    tx.exec(
        "CREATE TEMP TABLE IF NOT EXISTS import_batch (ord integer, content_hash text, "
        "category text, year integer, body text, source text) ON COMMIT DELETE ROWS");
    {
      pqxx::stream_to stream(tx, "import_batch",
                             std::vector<std::string>{"ord", "content_hash", "category", "year",
                                                      "body", "source"});
      for (size_t i = 0; i < posts.size(); ++i) {
        const auto& post = *posts[i];
        stream << std::make_tuple(static_cast<int>(i), hashes[i], post.category(), post.year(),
                                  post.body(), post.source());
      }
      stream.complete();
    }
    const pqxx::result inserted = tx.exec(
        "INSERT INTO data.posts (content_hash, category, year, body, source) "
        "SELECT content_hash, category, year, body, source FROM import_batch ORDER BY ord "
        "ON CONFLICT (content_hash) DO NOTHING");
    outcome.imported = static_cast<int64_t>(inserted.affected_rows());
    outcome.skipped = static_cast<int64_t>(posts.size()) - outcome.imported;
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return outcome;
}

absl::Status PostStore::Query(const kiln::v1::QueryPostsRequest& request,
                              const std::function<bool(kiln::v1::QueryPostsResponse&)>& on_page) {
  const int page_size = request.page_size() > 0 ? request.page_size() : kDefaultPageSize;
  int64_t cursor = request.after_id();
  int64_t remaining = request.limit() > 0 ? request.limit() : INT64_MAX;
  while (remaining > 0) {
    const int64_t want = std::min<int64_t>(page_size, remaining);
    kiln::v1::QueryPostsResponse page;
    // One short transaction per page, resuming after the last id sent: a
    // retried page never repeats or skips posts.
    absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
      page.Clear();
      std::string sql = absl::StrCat(
          "SELECT id, category, year, source, content_hash, extract(epoch FROM imported_at)",
          request.omit_body() ? "" : ", body", " FROM data.posts WHERE ",
          DatasetFilter(tx, request.dataset()), " AND id > ", cursor);
      if (request.shard_count() > 1) {
        absl::StrAppend(&sql, " AND id % ", request.shard_count(), " = ", request.shard_index());
      }
      absl::StrAppend(&sql, " ORDER BY id LIMIT ", want);
      for (const auto& row : tx.exec(sql)) {
        kiln::v1::Post* post = page.add_posts();
        post->set_id(row[0].as<int64_t>());
        post->set_category(row[1].as<std::string>());
        post->set_year(row[2].as<int>());
        post->set_source(row[3].as<std::string>());
        post->set_content_hash(row[4].as<std::string>());
        SetTimestamp(row[5].as<double>(), post->mutable_imported_at());
        if (!request.omit_body()) post->set_body(row[6].as<std::string>());
      }
      return absl::OkStatus();
    });
    if (!status.ok()) return status;
    if (page.posts().empty()) break;
    cursor = page.posts(page.posts_size() - 1).id();
    page.set_last_id(cursor);
    remaining -= page.posts_size();
    const bool short_page = page.posts_size() < want;
    if (!on_page(page) || short_page) break;
  }
  return absl::OkStatus();
}

absl::StatusOr<kiln::v1::CountPostsResponse> PostStore::Count(
    const kiln::v1::DatasetSpec& dataset) {
  kiln::v1::CountPostsResponse response;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    response.Clear();
    std::map<std::string, int64_t> counts;
    for (const auto& row : tx.exec(absl::StrCat("SELECT category, count(*) FROM data.posts WHERE ",
                                                DatasetFilter(tx, dataset),
                                                " GROUP BY category"))) {
      counts[row[0].as<std::string>()] = row[1].as<int64_t>();
    }
    for (const std::string& category : dataset.categories()) {
      auto* entry = response.add_categories();
      entry->set_category(category);
      entry->set_count(counts[category]);
      response.set_total(response.total() + entry->count());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<kiln::v1::GetStatsResponse> PostStore::Stats() {
  kiln::v1::GetStatsResponse response;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    response.Clear();
    const pqxx::row totals = tx.exec1(
        "SELECT count(*), coalesce(min(year), 0), coalesce(max(year), 0) FROM data.posts");
    response.set_total(totals[0].as<int64_t>());
    response.set_min_year(totals[1].as<int>());
    response.set_max_year(totals[2].as<int>());
    for (const auto& row :
         tx.exec("SELECT category, count(*) FROM data.posts GROUP BY category ORDER BY category")) {
      auto* entry = response.add_categories();
      entry->set_category(row[0].as<std::string>());
      entry->set_count(row[1].as<int64_t>());
    }
    for (const auto& row : tx.exec(
             "SELECT split_part(source, '/', 1) AS prefix, count(*) FROM data.posts "
             "GROUP BY prefix ORDER BY prefix")) {
      auto* entry = response.add_sources();
      entry->set_source(row[0].as<std::string>());
      entry->set_count(row[1].as<int64_t>());
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return response;
}

}  // namespace kiln::data
