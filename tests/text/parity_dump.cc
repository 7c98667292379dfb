// First half of the whole-corpus parity test (run_corpus_parity.cmake):
// encodes every 20news post with the C++ implementation and writes what the
// JavaScript twin must reproduce.
//
//   kiln_text_parity_dump <repo_root> <out_dir>
//
// Writes <out_dir>/vocab.json (built from the train split with the
// baseline's min_count of 2, so that test posts also hit unknown words),
// <out_dir>/idf.json (the inverse document frequencies of the train split's
// encoded posts, as the bundle writer's IdfToJson writes them),
// <out_dir>/posts.jsonl (one {"path", "text", "tokens", "ids", "features"}
// per post, features being the TF-IDF {"ids", "values"} of its ids, then as
// many random mixtures of the characters every rule reacts to, which the
// corpus holds too rarely) and
// <out_dir>/meta.json ({"spec_version", "posts", "max_length"}).
#include <cstdint>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_archive.h"
#include "nlohmann/json.hpp"
#include "services/model/idf_file.h"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tfidf.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace {

constexpr int32_t kMaxLength = 256;
constexpr int kMixtures = 20000;

// Valid UTF-8 only (JSON carries the texts); the golden vectors cover
// invalid bytes. Mixtures run long enough to span several of the C++
// scanner's 64-byte blocks.
std::string RandomMixture(std::mt19937& rng) {
  static constexpr std::string_view kPieces[] = {
      "a", "Z", "w", "W", "7", "12345", " ", " ", " ", "\n", "\t", ".", ",", "-", "_", "'",
      "@", ":", "/", "://", "http://", "HTTPS://", "ftp://", "www.", "x@y.z", "word", "Word",
      "\xC3\xA9", "\xC3\x9F", "\xC5\x93", "\xCC\x81", "\xC2\xAD", "\xC2\xA0",
      "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
  };
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> length(0, 300);
  std::string text;
  for (int i = length(rng); i > 0; --i) text += kPieces[piece(rng)];
  return text;
}
constexpr int64_t kMinCount = 2;

absl::Status WriteFile(const std::string& path, std::string_view contents) {
  std::ofstream out(path, std::ios::binary);
  out << contents;
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status Run(const std::string& repo_root, const std::string& out_dir) {
  const std::string archive = kiln::ingest::NewsgroupsArchivePath(repo_root);
  absl::StatusOr<std::vector<kiln::ingest::NewsgroupsPost>> posts =
      kiln::ingest::ReadNewsgroupsArchive(archive);
  if (!posts.ok()) return posts.status();

  kiln::text::Tokenizer tokenizer;
  kiln::text::TokenCounter counter;
  for (const auto& post : *posts) {
    if (post.split == "train") counter.Add(tokenizer.Tokenize(post.body));
  }
  absl::StatusOr<kiln::text::Vocabulary> vocab =
      kiln::text::Vocabulary::Build(counter, {kMinCount});
  if (!vocab.ok()) return vocab.status();
  if (absl::Status s = WriteFile(out_dir + "/vocab.json", vocab->ToJson()); !s.ok()) return s;

  kiln::text::TextEncoder encoder(*vocab);
  std::vector<int32_t> ids(kMaxLength);
  // The idf of training: document frequencies over the train split's ids.
  std::vector<int64_t> document_frequencies(vocab->size(), 0);
  int64_t train_posts = 0;
  for (const auto& post : *posts) {
    if (post.split != "train") continue;
    encoder.Encode(post.body, absl::MakeSpan(ids));
    kiln::text::CountDocumentFrequencies(ids, absl::MakeSpan(document_frequencies));
    ++train_posts;
  }
  const std::vector<float> idf =
      kiln::text::InverseDocumentFrequencies(document_frequencies, train_posts);
  const std::string idf_json = kiln::model::IdfToJson(idf, vocab->sha256());
  if (absl::Status s = WriteFile(out_dir + "/idf.json", idf_json); !s.ok()) return s;

  const std::string jsonl_path = out_dir + "/posts.jsonl";
  std::ofstream jsonl(jsonl_path, std::ios::binary);
  // Ids come from TextEncoder, which stops scanning at kMaxLength tokens,
  // and tokens from a full scan: both paths are checked against the twin.
  std::vector<int32_t> scratch;
  kiln::text::SparseFeatures features;
  const auto write = [&](const std::string& path, const std::string& text) {
    encoder.Encode(text, absl::MakeSpan(ids));
    const absl::Span<const std::string_view> tokens = tokenizer.Tokenize(text);
    kiln::text::TfidfFeatures(ids, idf, &scratch, &features);
    // Each float32 goes out as a double that JSON reads back exactly.
    const nlohmann::json line = {
        {"path", path},
        {"text", text},
        {"tokens", std::vector<std::string>(tokens.begin(), tokens.end())},
        {"ids", ids},
        {"features", {{"ids", features.ids}, {"values", features.values}}},
    };
    jsonl << line.dump() << '\n';
  };
  for (const auto& post : *posts) {
    write(absl::StrCat(post.split, "/", post.category, "/", post.id), post.body);
  }
  std::mt19937 rng(18846);
  for (int i = 0; i < kMixtures; ++i) write(absl::StrCat("mixture/", i), RandomMixture(rng));
  jsonl.close();
  if (!jsonl) return absl::UnavailableError(absl::StrCat("cannot write ", jsonl_path));

  const nlohmann::json meta = {
      {"spec_version", kiln::text::kSpecVersion},
      {"posts", posts->size() + kMixtures},
      {"max_length", kMaxLength},
  };
  if (absl::Status s = WriteFile(out_dir + "/meta.json", meta.dump()); !s.ok()) return s;
  std::cout << "C++: encoded " << posts->size() << " posts of " << archive << " and "
            << kMixtures << " random mixtures, with a vocabulary of " << vocab->size()
            << " ids and the idf of " << train_posts << " train posts\n";
  return absl::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: kiln_text_parity_dump <repo_root> <out_dir>\n";
    return 2;
  }
  const absl::Status status = Run(argv[1], argv[2]);
  if (!status.ok()) {
    std::cerr << "kiln_text_parity_dump: " << status << "\n";
    return 1;
  }
  return 0;
}
