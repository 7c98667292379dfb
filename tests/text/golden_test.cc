// The C++ implementation against tests/golden/text-vectors.json, the same
// file the JavaScript tests read.
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
#include "services/text/tokenizer.h"
#include "services/text/vocabulary.h"

namespace kiln::text {
namespace {

nlohmann::json LoadGolden() {
  const char* source_dir = std::getenv("KILN_SOURCE_DIR");
  if (source_dir == nullptr) {
    ADD_FAILURE() << "KILN_SOURCE_DIR is not set; run this test through ctest";
    return nullptr;
  }
  const std::string path = std::string(source_dir) + "/tests/golden/text-vectors.json";
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
  const nlohmann::json golden = LoadGolden();
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

}  // namespace
}  // namespace kiln::text
