#include "services/text/vocabulary.h"

#include <openssl/evp.h>

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/text/tokenizer.h"

namespace kiln::text {
namespace {

absl::StatusOr<std::string> Sha256Hex(std::string_view data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_size = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &digest_size, EVP_sha256(),
                 nullptr) != 1) {
    return absl::InternalError("OpenSSL could not compute a sha256 digest");
  }
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_size));
}

absl::StatusOr<std::string> ContentHash(const std::vector<std::string>& words) {
  std::string canonical = absl::StrCat(kSpecVersion, "\n");
  for (const std::string& word : words) absl::StrAppend(&canonical, word, "\n");
  return Sha256Hex(canonical);
}

}  // namespace

void TokenCounter::Add(absl::Span<const std::string_view> tokens) {
  for (std::string_view token : tokens) {
    // find first: a string key is only built for words not seen before.
    const auto it = counts_.find(token);
    if (it == counts_.end()) {
      counts_.emplace(token, 1);
    } else {
      ++it->second;
    }
  }
}

absl::StatusOr<Vocabulary> Vocabulary::Build(const TokenCounter& counter,
                                             const VocabularyOptions& options) {
  if (options.min_count < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("min_count must be at least 1, got ", options.min_count));
  }
  if (options.max_size < 0 || options.max_size == 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "max_size must be 0 (no limit) or at least 2 (the reserved ids), got ",
        options.max_size));
  }
  std::vector<std::pair<std::string_view, int64_t>> ranked;
  for (const auto& [word, count] : counter.counts()) {
    if (count >= options.min_count) ranked.emplace_back(word, count);
  }
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second != b.second) return a.second > b.second;
    return a.first < b.first;  // char_traits<char> compares as unsigned bytes
  });
  if (options.max_size > 0) {
    const size_t max_words = static_cast<size_t>(options.max_size) - 2;
    if (ranked.size() > max_words) ranked.resize(max_words);
  }
  std::vector<std::string> words = {std::string(kPaddingWord),
                                    std::string(kUnknownWord)};
  words.reserve(ranked.size() + 2);
  for (const auto& entry : ranked) words.emplace_back(entry.first);
  return FromWords(std::move(words));
}

absl::StatusOr<Vocabulary> Vocabulary::FromWords(std::vector<std::string> words) {
  if (words.size() < 2 || words[kPaddingId] != kPaddingWord ||
      words[kUnknownId] != kUnknownWord) {
    return absl::InvalidArgumentError(absl::StrCat(
        "a vocabulary starts with \"", kPaddingWord, "\" and \"", kUnknownWord, "\""));
  }
  if (words.size() > static_cast<size_t>(INT32_MAX)) {
    return absl::InvalidArgumentError("a vocabulary holds at most 2^31-1 words");
  }
  size_t total_bytes = 0;
  for (const std::string& word : words) total_bytes += word.size();
  if (total_bytes >= (size_t{1} << 32)) {
    return absl::InvalidArgumentError("a vocabulary holds less than 4 GiB of words");
  }
  absl::flat_hash_set<std::string_view, WordHash, WordEq> seen;
  seen.reserve(words.size());
  for (size_t id = 2; id < words.size(); ++id) {
    const std::string& word = words[id];
    if (!IsToken(word)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "vocabulary word ", id, " \"", absl::CEscape(word),
          "\" is not a token that ", kSpecVersion, " cleaning produces"));
    }
    if (!seen.insert(word).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocabulary word \"", word, "\" appears twice"));
    }
  }
  absl::StatusOr<std::string> hash = ContentHash(words);
  if (!hash.ok()) return hash.status();
  Vocabulary vocab;
  vocab.sha256_ = *std::move(hash);
  vocab.index_ = WordIndex(words, 2);
  vocab.words_ = std::move(words);
  return vocab;
}

absl::StatusOr<Vocabulary> Vocabulary::FromJson(std::string_view json) {
  const nlohmann::json doc =
      nlohmann::json::parse(json.begin(), json.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("vocab.json is not a JSON object");
  }
  const auto version = doc.find("spec_version");
  if (version == doc.end() || !version->is_string()) {
    return absl::InvalidArgumentError("vocab.json has no string \"spec_version\"");
  }
  if (version->get_ref<const std::string&>() != kSpecVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("vocab.json was made for preprocessing spec \"",
                     version->get_ref<const std::string&>(), "\", this build implements \"",
                     kSpecVersion, "\""));
  }
  const auto words_json = doc.find("words");
  if (words_json == doc.end() || !words_json->is_array()) {
    return absl::InvalidArgumentError("vocab.json has no array \"words\"");
  }
  std::vector<std::string> words;
  words.reserve(words_json->size());
  for (const nlohmann::json& word : *words_json) {
    if (!word.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat("vocab.json word ", words.size(), " is not a string"));
    }
    words.push_back(word.get_ref<const std::string&>());
  }
  absl::StatusOr<Vocabulary> vocab = FromWords(std::move(words));
  if (!vocab.ok()) return vocab.status();
  const auto sha256 = doc.find("sha256");
  if (sha256 != doc.end() &&
      (!sha256->is_string() || sha256->get_ref<const std::string&>() != vocab->sha256())) {
    return absl::DataLossError(absl::StrCat(
        "vocab.json \"sha256\" does not match its words (computed ", vocab->sha256(), ")"));
  }
  return vocab;
}

std::string Vocabulary::ToJson() const {
  const nlohmann::json doc = {
      {"spec_version", std::string(kSpecVersion)},
      {"sha256", sha256_},
      {"words", words_},
  };
  return doc.dump();
}

}  // namespace kiln::text
