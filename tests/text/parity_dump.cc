// First half of the whole-corpus parity test (run_corpus_parity.cmake):
// encodes every 20news post with the C++ implementation and writes what the
// JavaScript twin must reproduce.
//
//   kiln_text_parity_dump <repo_root> <out_dir>
//
// Writes <out_dir>/vocab.json (built from the train split with the
// baseline's min_count of 2, so that test posts also hit unknown words),
// <out_dir>/posts.jsonl (one {"path", "text", "tokens", "ids"} per post) and
// <out_dir>/meta.json ({"spec_version", "posts", "max_length"}).
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_archive.h"
#include "nlohmann/json.hpp"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace {

constexpr int32_t kMaxLength = 256;
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

  const std::string jsonl_path = out_dir + "/posts.jsonl";
  std::ofstream jsonl(jsonl_path, std::ios::binary);
  // Ids come from TextEncoder, which stops scanning at kMaxLength tokens,
  // and tokens from a full scan: both paths are checked against the twin.
  kiln::text::TextEncoder encoder(*vocab);
  std::vector<int32_t> ids(kMaxLength);
  for (const auto& post : *posts) {
    encoder.Encode(post.body, absl::MakeSpan(ids));
    const absl::Span<const std::string_view> tokens = tokenizer.Tokenize(post.body);
    nlohmann::json line = {
        {"path", absl::StrCat(post.split, "/", post.category, "/", post.id)},
        {"text", post.body},
        {"tokens", std::vector<std::string>(tokens.begin(), tokens.end())},
        {"ids", ids},
    };
    jsonl << line.dump() << '\n';
  }
  jsonl.close();
  if (!jsonl) return absl::UnavailableError(absl::StrCat("cannot write ", jsonl_path));

  const nlohmann::json meta = {
      {"spec_version", kiln::text::kSpecVersion},
      {"posts", posts->size()},
      {"max_length", kMaxLength},
  };
  if (absl::Status s = WriteFile(out_dir + "/meta.json", meta.dump()); !s.ok()) return s;
  std::cout << "C++: encoded " << posts->size() << " posts of " << archive
            << " with a vocabulary of " << vocab->size() << " ids\n";
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
