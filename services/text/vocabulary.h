// Vocabulary: words to ids (docs/preprocessing.md, section "Vocabulary"),
// its content hash and its vocab.json form.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "services/text/spec.h"

namespace kiln::text {

// Hash and equality for maps keyed by std::string that are searched with a
// std::string_view without building a string. absl's own StringHash takes
// absl::string_view, which Debian's absl does not alias to std::string_view;
// and words are short, so a hash built from at most a few overlapping loads
// beats a general-purpose one on the encoding hot path.
struct WordHash {
  using is_transparent = void;
  size_t operator()(std::string_view word) const {
    const char* p = word.data();
    const size_t n = word.size();
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    if (n >= 8) {
      size_t i = 0;
      for (; i + 8 < n; i += 8) h = Mix(h, Load64(p + i));
      h = Mix(h, Load64(p + n - 8));  // overlaps the previous load
    } else if (n >= 4) {
      h = Mix(h, (uint64_t{Load32(p)} << 32) | Load32(p + n - 4));
    } else if (n > 0) {
      const auto byte = [&](size_t i) { return uint64_t{static_cast<unsigned char>(p[i])}; };
      h = Mix(h, (byte(0) << 16) | (byte(n / 2) << 8) | byte(n - 1));
    }
    return static_cast<size_t>(Mix(h, 0x94D049BB133111EBull));
  }

 private:
  static uint64_t Mix(uint64_t h, uint64_t v) {
    h = (h ^ v) * 0xBF58476D1CE4E5B9ull;
    return h ^ (h >> 31);
  }
  static uint64_t Load64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
  static uint32_t Load32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, sizeof v);
    return v;
  }
};
struct WordEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    // Inline for short words: a call to memcmp costs more than the compare.
    if (a.size() != b.size()) return false;
    if (a.size() > 16) return a == b;
    for (size_t i = 0; i < a.size(); ++i) {
      if (a[i] != b[i]) return false;
    }
    return true;
  }
};
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
    const auto it = ids_.find(word);
    return it == ids_.end() ? kUnknownId : it->second;
  }
  const std::vector<std::string>& words() const { return words_; }
  // Lower-case hex sha256 of the spec version and the words in id order,
  // each followed by '\n': equal hashes mean equal encodings.
  const std::string& sha256() const { return sha256_; }

 private:
  Vocabulary() = default;

  std::vector<std::string> words_;
  WordMap<int32_t> ids_;
  std::string sha256_;
};

}  // namespace kiln::text
