// Stored vocabularies (schema `preprocess`): immutable rows keyed by their
// content hash, with a small in-memory cache of parsed vocabularies.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "absl/status/statusor.h"
#include "kiln/v1/preprocess.pb.h"
#include "services/common/db/pool.h"
#include "services/text/vocabulary.h"

namespace kiln::preprocess {

class VocabularyStore {
 public:
  explicit VocabularyStore(db::Pool& pool) : pool_(pool) {}

  // Stores `vocabulary` unless one with the same content hash exists, and
  // returns the stored record (without words).
  absl::StatusOr<kiln::v1::Vocabulary> Put(const text::Vocabulary& vocabulary,
                                           const kiln::v1::DatasetSpec& dataset,
                                           const kiln::v1::VocabularyOptions& options,
                                           int64_t post_count);

  // The record; NotFound for an unknown id.
  absl::StatusOr<kiln::v1::Vocabulary> Get(const std::string& id, bool include_words);

  // The parsed vocabulary, cached: vocabularies never change.
  absl::StatusOr<std::shared_ptr<const text::Vocabulary>> Load(const std::string& id);

 private:
  db::Pool& pool_;
  std::mutex cache_mutex_;
  std::map<std::string, std::shared_ptr<const text::Vocabulary>> cache_;
};

// "voc-" and the first 16 hex digits of the content hash.
std::string VocabularyId(const std::string& content_hash);

}  // namespace kiln::preprocess
