// The C++ implementation against tests/golden/text-vectors.json and
// tests/golden/tfidf-vectors.json, the same files the JavaScript tests read.
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "services/text/cleaner.h"
#include "services/text/encoder.h"
#include "services/text/spec.h"
#include "services/text/tfidf.h"
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace kiln::text {
namespace {

nlohmann::json LoadGolden(const std::string& file_name) {
  const char* source_dir = std::getenv("KILN_SOURCE_DIR");
  if (source_dir == nullptr) {
    ADD_FAILURE() << "KILN_SOURCE_DIR is not set; run this test through ctest";
    return nullptr;
  }
  const std::string path = std::string(source_dir) + "/tests/golden/" + file_name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return nullptr;
  }
  std::stringstream contents;
  contents << in.rdbuf();
  return nlohmann::json::parse(contents.str());
}

std::string CaseText(const nlohmann::json& c) {
  if (c.contains("text_hex")) {
    return absl::HexStringToBytes(c["text_hex"].get<std::string>());
  }
  return c["text"].get<std::string>();
}

TEST(GoldenTest, EveryCaseCleansTokenizesAndEncodesAsExpected) {
  const nlohmann::json golden = LoadGolden("text-vectors.json");
  ASSERT_TRUE(golden.is_object());
  ASSERT_EQ(golden["spec_version"], kSpecVersion);
  const absl::StatusOr<Vocabulary> vocab =
      Vocabulary::FromWords(golden["vocabulary"].get<std::vector<std::string>>());
  ASSERT_TRUE(vocab.ok()) << vocab.status();
  ASSERT_FALSE(golden["cases"].empty());

  Tokenizer tokenizer;
  TextEncoder encoder(*vocab);
  for (const nlohmann::json& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const std::string text = CaseText(c);
    const auto expected_tokens = c["tokens"].get<std::vector<std::string>>();
    const auto expected_ids = c["ids"].get<std::vector<int32_t>>();
    const int32_t max_length = c["max_length"].get<int32_t>();

    EXPECT_EQ(Tokenize(text), expected_tokens);
    EXPECT_EQ(CleanText(text), absl::StrJoin(expected_tokens, " "));

    const absl::Span<const std::string_view> tokens = tokenizer.Tokenize(text);
    EXPECT_EQ(std::vector<std::string>(tokens.begin(), tokens.end()), expected_tokens);
    const absl::StatusOr<std::vector<int32_t>> ids = Encode(tokens, *vocab, max_length);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(*ids, expected_ids);

    std::vector<int32_t> encoded(static_cast<size_t>(max_length), -1);
    encoder.Encode(text, absl::MakeSpan(encoded));
    EXPECT_EQ(encoded, expected_ids);
  }
}

// `values` as a JSON array of the shortest decimals that read back as the
// same float32s, the golden file's form: a new case's expected features can
// be pasted from a failure message.
std::string Float32Json(const std::vector<float>& values) {
  std::string out = "[";
  for (size_t i = 0; i < values.size(); ++i) {
    char buffer[32];
    const std::to_chars_result end = std::to_chars(buffer, buffer + sizeof(buffer), values[i]);
    out += (i == 0 ? "" : ", ") + std::string(buffer, end.ptr);
  }
  return out + "]";
}

TEST(TfidfGoldenTest, DocumentFrequenciesAndIdfOfTheDocuments) {
  const nlohmann::json golden = LoadGolden("tfidf-vectors.json");
  ASSERT_TRUE(golden.is_object());
  ASSERT_EQ(golden["spec_version"], kSpecVersion);
  const auto expected_df = golden["document_frequencies"].get<std::vector<int64_t>>();
  std::vector<int64_t> df(expected_df.size(), 0);
  for (const nlohmann::json& document : golden["documents"]) {
    CountDocumentFrequencies(document.get<std::vector<int32_t>>(), absl::MakeSpan(df));
  }
  EXPECT_EQ(df, expected_df);
  const std::vector<float> idf =
      InverseDocumentFrequencies(expected_df, static_cast<int64_t>(golden["documents"].size()));
  EXPECT_EQ(idf, golden["idf"].get<std::vector<float>>()) << "computed: " << Float32Json(idf);
}

TEST(TfidfGoldenTest, EveryCaseGivesItsFeatures) {
  const nlohmann::json golden = LoadGolden("tfidf-vectors.json");
  ASSERT_TRUE(golden.is_object());
  const auto idf = golden["idf"].get<std::vector<float>>();
  ASSERT_FALSE(golden["cases"].empty());
  std::vector<int32_t> scratch;
  SparseFeatures features;
  for (const nlohmann::json& c : golden["cases"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    TfidfFeatures(c["ids"].get<std::vector<int32_t>>(), idf, &scratch, &features);
    EXPECT_EQ(features.ids, c["features"]["ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(features.values, c["features"]["values"].get<std::vector<float>>())
        << "computed: " << Float32Json(features.values);
    // Independent of the expected values: a unit vector, or nothing at all.
    double squares = 0;
    for (float value : features.values) squares += static_cast<double>(value) * value;
    if (!features.values.empty()) {
      EXPECT_NEAR(std::sqrt(squares), 1.0, 1e-6);
    }
  }
}

}  // namespace
}  // namespace kiln::text
