#include "bench/scale/scaled_corpus.h"

#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_source.h"
#include "kiln/v1/data.pb.h"
#include "nlohmann/json.hpp"
#include "services/data/holdout.h"
#include "services/data/post_validation.h"

namespace kiln::bench {
namespace {

// Draws for a copy that turned out identical to an earlier one of the same
// post, or on the other side of the holdout, before falling back to
// trailing newlines. A held-out side of 10% takes ten draws on average.
constexpr int kMaxAttempts = 128;
// Shorter runs ("a", "is") are left alone: a typo there reads as noise, not
// as a word.
constexpr size_t kMinWordLength = 3;

// splitmix64: a tiny generator whose output is fixed by its definition, so
// a seed gives the same corpus with any compiler and standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 random bits.
  double Uniform01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // In [0, bound); the modulo bias of a 64-bit draw is far below anything
  // a corpus could show.
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

uint64_t Fnv1a(std::string_view text, uint64_t basis = 1469598103934665603ull) {
  uint64_t h = basis;
  for (const unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// The stream of one draw of one copy: independent of every other copy, so
// that a copy does not change when the number of copies does.
uint64_t StreamSeed(uint64_t seed, std::string_view source, int copy, int attempt) {
  SplitMix64 mix(Fnv1a(source) ^ seed);
  uint64_t h = mix.Next() ^ static_cast<uint64_t>(copy);
  h = SplitMix64(h).Next() ^ static_cast<uint64_t>(attempt);
  return SplitMix64(h).Next();
}

bool IsAsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

struct Word {
  size_t start;
  size_t length;
};

std::vector<Word> FindWords(std::string_view body) {
  std::vector<Word> words;
  size_t i = 0;
  while (i < body.size()) {
    if (!IsAsciiLetter(body[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < body.size() && IsAsciiLetter(body[i])) ++i;
    if (i - start >= kMinWordLength) words.push_back({start, i - start});
  }
  return words;
}

enum class Edit { kNone, kSubstitute, kTranspose, kDrop, kRepeat };

Edit DrawEdit(SplitMix64& random) {
  switch (random.Below(4)) {
    case 0: return Edit::kSubstitute;
    case 1: return Edit::kTranspose;
    case 2: return Edit::kDrop;
    default: return Edit::kRepeat;
  }
}

// Another letter of the same case: a typo, hence (lower-cased by the
// tokenizer) a token the original may not have.
char OtherLetter(char letter, SplitMix64& random) {
  const char base = letter >= 'a' ? 'a' : 'A';
  const int shift = 1 + static_cast<int>(random.Below(25));
  return static_cast<char>(base + (letter - base + shift) % 26);
}

// Appends `word` edited by `edit`. The first letter is kept: typos rarely
// hit it, and the word stays recognisable.
void AppendEdited(std::string_view word, Edit edit, SplitMix64& random, std::string& out) {
  switch (edit) {
    case Edit::kNone:
      out.append(word);
      return;
    case Edit::kDrop:
      return;
    case Edit::kRepeat:
      out.append(word);
      out.push_back(' ');
      out.append(word);
      return;
    case Edit::kTranspose: {
      const size_t at = 1 + random.Below(word.size() - 2);
      if (word[at] != word[at + 1]) {
        const size_t begin = out.size();
        out.append(word);
        std::swap(out[begin + at], out[begin + at + 1]);
        return;
      }
      // "book": swapping equal letters changes nothing; a typo instead.
      [[fallthrough]];
    }
    case Edit::kSubstitute: {
      const size_t at = 1 + random.Below(word.size() - 1);
      const size_t begin = out.size();
      out.append(word);
      out[begin + at] = OtherLetter(word[at], random);
      return;
    }
  }
}

// `body` with about `edit_rate` of its words edited, at least one; `body`
// itself when it has no word to edit.
std::string PerturbWords(std::string_view body, double edit_rate, SplitMix64& random) {
  const std::vector<Word> words = FindWords(body);
  if (words.empty()) return std::string(body);
  std::vector<Edit> edits(words.size(), Edit::kNone);
  bool edited = false;
  for (Edit& edit : edits) {
    if (random.Uniform01() < edit_rate) {
      edit = DrawEdit(random);
      edited = true;
    }
  }
  if (!edited) edits[random.Below(words.size())] = DrawEdit(random);
  std::string out;
  out.reserve(body.size() + body.size() / 16);
  size_t at = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    out.append(body.substr(at, words[i].start - at));
    AppendEdited(body.substr(words[i].start, words[i].length), edits[i], random, out);
    at = words[i].start + words[i].length;
  }
  out.append(body.substr(at));
  return out;
}

}  // namespace

absl::Status ValidateScaleOptions(const ScaleOptions& options) {
  if (options.copies < 1 || options.copies > kMaxCopies) {
    return absl::InvalidArgumentError(
        absl::StrCat("copies is ", options.copies, "; allowed: 1..", kMaxCopies));
  }
  if (!(options.edit_rate > 0 && options.edit_rate <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("edit_rate is ", options.edit_rate, "; allowed: above 0, at most 1"));
  }
  if (!(options.validation_fraction >= 0 && options.validation_fraction <= 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "validation_fraction is ", options.validation_fraction, "; allowed: 0..0.5"));
  }
  return absl::OkStatus();
}

bool IsHeldOut(const ScaledPost& post, double fraction) {
  kiln::v1::PostInput input;
  input.set_body(post.body);
  input.set_category(post.category);
  input.set_year(post.year);
  // COLLATE "C" in the data service's query: byte order.
  return data::PostContentHash(input).compare(0, 16, data::HeldOutBound(fraction)) < 0;
}

absl::Status ForEachCopy(const ingest::NewsgroupsPost& post, const ScaleOptions& options,
                         absl::FunctionRef<absl::Status(const ScaledPost&)> visit) {
  if (absl::Status valid = ValidateScaleOptions(options); !valid.ok()) return valid;
  const std::string source =
      absl::StrCat("20news-bydate-", post.split, "/", post.category, "/", post.id);
  ScaledPost copy;
  copy.category = post.category;
  copy.split = post.split;
  copy.body = post.body;
  copy.source = source;
  // The year `kiln ingest` gives the original for this seed: at 1x the
  // corpus is exactly the tarball's import.
  copy.year = ingest::NewsgroupsYear(options.seed, post.split, post.category, post.id);
  if (absl::Status status = visit(copy); !status.ok()) return status;

  // Test posts are never held out: only the training years are split.
  const bool keep_side = post.split == "train" && options.validation_fraction > 0;
  const bool held_out = keep_side && IsHeldOut(copy, options.validation_fraction);
  // A draw is kept when it lands on the original's side of the holdout and
  // repeats no body of this post so far (the data service would skip it as
  // already stored).
  absl::flat_hash_set<uint64_t> seen = {Fnv1a(post.body)};
  auto keep = [&] {
    if (keep_side && IsHeldOut(copy, options.validation_fraction) != held_out) return false;
    return seen.insert(Fnv1a(copy.body)).second;
  };
  for (int k = 1; k < options.copies; ++k) {
    copy.copy = k;
    copy.source = absl::StrCat(source, "#", k);
    // NewsgroupsYear keeps the split's range (train 1922-1953, test
    // 1990-2000), so a copy lands on its original's side of the split.
    copy.year = ingest::NewsgroupsYear(options.seed, post.split, post.category,
                                       absl::StrCat(post.id, "#", k));
    bool kept = false;
    for (int attempt = 0; attempt < kMaxAttempts && !kept; ++attempt) {
      SplitMix64 random(StreamSeed(options.seed, source, k, attempt));
      copy.body = PerturbWords(post.body, options.edit_rate, random);
      kept = keep();
    }
    // A post without words to edit: trailing newlines make the bytes (and
    // the content hash) new and leave the tokens as they are.
    for (int newlines = k; !kept; newlines += options.copies) {
      copy.body = absl::StrCat(post.body, std::string(static_cast<size_t>(newlines), '\n'));
      kept = keep();
    }
    if (absl::Status status = visit(copy); !status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status ForEachScaledPost(const std::string& archive_path, const ScaleOptions& options,
                               absl::FunctionRef<absl::Status(const ScaledPost&)> visit) {
  if (absl::Status valid = ValidateScaleOptions(options); !valid.ok()) return valid;
  return ingest::ForEachNewsgroupsPost(archive_path, [&](const ingest::NewsgroupsPost& post) {
    return ForEachCopy(post, options, visit);
  });
}

std::string ToJsonLine(const ScaledPost& post) {
  const nlohmann::json line = {{"body", post.body},
                               {"category", post.category},
                               {"year", post.year},
                               {"source", post.source}};
  return line.dump();
}

}  // namespace kiln::bench
