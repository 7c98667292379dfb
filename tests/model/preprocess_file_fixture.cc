// kiln_preprocess_file_fixture OUT_DIR: the inputs of
// tests/js/preprocess_file.test.mjs, which reads preprocess.json files with
// the JavaScript library as shipped. From the hand-written short texts (tests/data/short-texts.json) it
// builds a vocabulary and the idf of their encoded ids, and writes
//   OUT_DIR/tfidf/preprocess.json    PreprocessFileJson of a tfidf model
//   OUT_DIR/article/preprocess.json  PreprocessFileJson of an article model
//   OUT_DIR/vocab.json, idf.json   in their bundle forms (docs/bundle.md)
//   OUT_DIR/cases.json             {"classes", "texts", "ids", "features"}:
//                                  texts with their ids and TF-IDF features
//                                  ({"ids", "values"}) as C++ computes them.
// The texts are the short ones, each topic's texts joined (longer than
// kMaxLength tokens, so truncation counts) and a few without known words.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "services/model/idf_file.h"
#include "services/model/preprocess_file.h"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tfidf.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"
#include "tests/support/write_file.h"

namespace kiln::model {
namespace {

// Short enough that the joined texts are cut.
constexpr int kMaxLength = 16;

absl::StatusOr<nlohmann::json> ReadShortTexts() {
  const std::string path = std::string(KILN_SOURCE_DIR) + "/tests/data/short-texts.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream contents;
  contents << in.rdbuf();
  return nlohmann::json::parse(contents.str());
}

using kiln::testing::WriteFile;

absl::Status Run(const std::string& out_dir) {
  absl::StatusOr<nlohmann::json> short_texts = ReadShortTexts();
  if (!short_texts.ok()) return short_texts.status();
  const auto classes = (*short_texts)["topics"].get<std::vector<std::string>>();
  std::vector<std::string> sentences;
  for (const nlohmann::json& entry : (*short_texts)["texts"]) {
    sentences.push_back(entry["text"].get<std::string>());
  }

  text::Tokenizer tokenizer;
  text::TokenCounter counter;
  for (const std::string& sentence : sentences) counter.Add(tokenizer.Tokenize(sentence));
  absl::StatusOr<text::Vocabulary> vocabulary = text::Vocabulary::Build(counter, {});
  if (!vocabulary.ok()) return vocabulary.status();
  text::TextEncoder encoder(*vocabulary);
  std::vector<int32_t> ids(kMaxLength);
  std::vector<int64_t> document_frequencies(vocabulary->size(), 0);
  for (const std::string& sentence : sentences) {
    encoder.Encode(sentence, absl::MakeSpan(ids));
    text::CountDocumentFrequencies(ids, absl::MakeSpan(document_frequencies));
  }
  const std::vector<float> idf = text::InverseDocumentFrequencies(
      document_frequencies, static_cast<int64_t>(sentences.size()));

  std::vector<std::string> texts = sentences;
  for (const std::string& topic : classes) {
    std::vector<std::string> of_topic;
    for (const nlohmann::json& entry : (*short_texts)["texts"]) {
      if (entry["topic"] == topic) of_topic.push_back(entry["text"].get<std::string>());
    }
    texts.push_back(absl::StrJoin(of_topic, ". "));
  }
  texts.insert(texts.end(), {"", "zyzzyva quokka", "<pad> <oov>", "GOD, God and god!"});

  nlohmann::json id_rows = nlohmann::json::array();
  nlohmann::json feature_rows = nlohmann::json::array();
  std::vector<int32_t> scratch;
  text::SparseFeatures features;
  for (const std::string& text : texts) {
    encoder.Encode(text, absl::MakeSpan(ids));
    text::TfidfFeatures(ids, idf, &scratch, &features);
    id_rows.push_back(ids);
    // Each float32 as a double, which JSON reads back exactly.
    feature_rows.push_back({{"ids", features.ids}, {"values", features.values}});
  }

  for (const auto& [dir, architecture] : {std::pair{"tfidf", Architecture::kTfidf},
                                          std::pair{"article", Architecture::kArticle}}) {
    BundleManifest manifest;
    manifest.classes = classes;
    manifest.spec_version = text::kSpecVersion;
    manifest.vocab_sha256 = vocabulary->sha256();
    manifest.shape.architecture = architecture;
    manifest.shape.max_length = kMaxLength;
    manifest.shape.vocab_size = vocabulary->size();
    if (absl::Status s = WriteFile(absl::StrCat(out_dir, "/", dir, "/preprocess.json"),
                                   PreprocessFileJson(manifest));
        !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = WriteFile(out_dir + "/vocab.json", vocabulary->ToJson()); !s.ok()) return s;
  const std::string idf_json = IdfToJson(idf, vocabulary->sha256());
  if (absl::Status s = WriteFile(out_dir + "/idf.json", idf_json); !s.ok()) return s;
  const nlohmann::json cases = {{"classes", classes},
                                {"max_length", kMaxLength},
                                {"texts", texts},
                                {"ids", std::move(id_rows)},
                                {"features", std::move(feature_rows)}};
  if (absl::Status s = WriteFile(out_dir + "/cases.json", cases.dump()); !s.ok()) return s;
  std::printf("%zu texts, a vocabulary of %d ids, written to %s\n", texts.size(),
              vocabulary->size(), out_dir.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace kiln::model

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  if (absl::Status status = kiln::model::Run(argv[1]); !status.ok()) {
    std::fprintf(stderr, "kiln_preprocess_file_fixture: %s\n", status.ToString().c_str());
    return 1;
  }
  return 0;
}
