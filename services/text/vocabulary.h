// Vocabulary: words to ids (docs/preprocessing.md, section "Vocabulary"),
// its content hash and its vocab.json form.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/text/spec.h"
#include "services/text/word_index.h"

namespace kiln::text {

// A map keyed by std::string that can be searched with a std::string_view.
template <typename Value>
using WordMap = absl::flat_hash_map<std::string, Value, WordHash, WordEq>;

// Counts tokens over a corpus, the input of Vocabulary::Build.
class TokenCounter {
 public:
  void Add(absl::Span<const std::string_view> tokens);
  const WordMap<int64_t>& counts() const { return counts_; }

 private:
  WordMap<int64_t> counts_;
};

struct VocabularyOptions {
  // Words seen fewer times are left out (they encode as kUnknownId).
  int64_t min_count = 1;
  // Most ids in the vocabulary, the two reserved ones included, so that it
  // equals the embedding's input size; 0 means no limit.
  int32_t max_size = 0;
};

class Vocabulary {
 public:
  // Ids 0 and 1 are reserved; words follow by descending count, ties broken
  // by byte order.
  static absl::StatusOr<Vocabulary> Build(const TokenCounter& counter,
                                          const VocabularyOptions& options);
  // `words[id]` for every id, starting with kPaddingWord and kUnknownWord.
  static absl::StatusOr<Vocabulary> FromWords(std::vector<std::string> words);
  // Parses vocab.json; a "sha256" member, when present, must match.
  static absl::StatusOr<Vocabulary> FromJson(std::string_view json);

  // {"spec_version": ..., "sha256": ..., "words": [...]}, index = id.
  std::string ToJson() const;

  int32_t size() const { return static_cast<int32_t>(words_.size()); }
  // kUnknownId for words outside the vocabulary (and for the reserved names).
  int32_t IdOf(std::string_view word) const {
    const int32_t id = index_.Find(word);
    return id < 0 ? kUnknownId : id;
  }
  const std::vector<std::string>& words() const { return words_; }
  // Lower-case hex sha256 of the spec version and the words in id order,
  // each followed by '\n': equal hashes mean equal encodings.
  const std::string& sha256() const { return sha256_; }

 private:
  Vocabulary() = default;

  std::vector<std::string> words_;
  WordIndex index_;
  std::string sha256_;
};

}  // namespace kiln::text
