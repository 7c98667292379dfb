#include "services/preprocess/vocabulary_store.h"

#include <algorithm>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/db/transaction.h"
#include "services/common/proto_json.h"
#include "services/text/spec.h"

namespace kiln::preprocess {
namespace {

constexpr size_t kCacheSize = 16;

constexpr char kColumns[] =
    "id, content_hash, spec_version, dataset::text, options::text, size, post_count, "
    "extract(epoch FROM created_at)";

void FillRecord(const pqxx::row& row, kiln::v1::Vocabulary* record) {
  record->set_id(row[0].as<std::string>());
  record->set_content_hash(row[1].as<std::string>());
  record->set_spec_version(row[2].as<std::string>());
  // Written by this service from valid messages: a parse failure would be
  // corruption, and the ids and hash below still identify the vocabulary.
  (void)FromJson(row[3].as<std::string>(), record->mutable_dataset());
  (void)FromJson(row[4].as<std::string>(), record->mutable_options());
  record->set_size(row[5].as<int>());
  record->set_post_count(row[6].as<int64_t>());
  const double created = row[7].as<double>();
  record->mutable_created_at()->set_seconds(static_cast<int64_t>(created));
}

}  // namespace

std::string VocabularyId(const std::string& content_hash) {
  return absl::StrCat("voc-", content_hash.substr(0, 16));
}

absl::StatusOr<kiln::v1::Vocabulary> VocabularyStore::Put(
    const text::Vocabulary& vocabulary, const kiln::v1::DatasetSpec& dataset,
    const kiln::v1::VocabularyOptions& options, int64_t post_count) {
  // Words from id 2 on; the reserved ones are implied.
  const auto& words = vocabulary.words();
  const std::string joined =
      absl::StrJoin(words.begin() + std::min<size_t>(2, words.size()), words.end(), "\n");
  kiln::v1::Vocabulary record;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    record.Clear();
    tx.exec_params(
        "INSERT INTO preprocess.vocabularies (id, content_hash, spec_version, dataset, options, "
        "size, post_count, words) VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6, $7, $8) "
        "ON CONFLICT (content_hash) DO NOTHING",
        VocabularyId(vocabulary.sha256()), vocabulary.sha256(), text::kSpecVersion,
        ToJson(dataset), ToJson(options), vocabulary.size(), post_count, joined);
    const pqxx::row row = tx.exec_params1(
        absl::StrCat("SELECT ", kColumns, " FROM preprocess.vocabularies WHERE content_hash = $1"),
        vocabulary.sha256());
    FillRecord(row, &record);
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return record;
}

absl::StatusOr<kiln::v1::Vocabulary> VocabularyStore::Get(const std::string& id,
                                                          bool include_words) {
  kiln::v1::Vocabulary record;
  bool found = false;
  absl::Status status = db::RunInTransaction(pool_, [&](pqxx::work& tx) {
    record.Clear();
    const pqxx::result rows = tx.exec_params(
        absl::StrCat("SELECT ", kColumns, ", words FROM preprocess.vocabularies WHERE id = $1"),
        id);
    found = !rows.empty();
    if (!found) return absl::OkStatus();
    FillRecord(rows[0], &record);
    if (include_words) {
      const std::string words = rows[0][8].as<std::string>();
      for (absl::string_view word : absl::StrSplit(words, '\n', absl::SkipEmpty())) {
        record.add_words(std::string(word));
      }
    }
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  if (!found) return absl::NotFoundError(absl::StrCat("no vocabulary with id \"", id, "\""));
  return record;
}

absl::StatusOr<std::shared_ptr<const text::Vocabulary>> VocabularyStore::Load(
    const std::string& id) {
  {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (auto it = cache_.find(id); it != cache_.end()) return it->second;
  }
  absl::StatusOr<kiln::v1::Vocabulary> record = Get(id, /*include_words=*/true);
  if (!record.ok()) return record.status();
  std::vector<std::string> words = {text::kPaddingWord, text::kUnknownWord};
  words.insert(words.end(), record->words().begin(), record->words().end());
  absl::StatusOr<text::Vocabulary> vocabulary = text::Vocabulary::FromWords(std::move(words));
  if (!vocabulary.ok()) return vocabulary.status();
  if (vocabulary->sha256() != record->content_hash()) {
    return absl::DataLossError(absl::StrCat("vocabulary ", id, " does not match its content hash"));
  }
  auto shared = std::make_shared<const text::Vocabulary>(*std::move(vocabulary));
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cache_.size() >= kCacheSize) cache_.erase(cache_.begin());
  cache_[id] = shared;
  return shared;
}

}  // namespace kiln::preprocess
