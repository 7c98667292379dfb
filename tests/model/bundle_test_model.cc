#include "tests/model/bundle_test_model.h"

#include <cctype>
#include <cmath>
#include <iterator>
#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/text/spec.h"

namespace kiln::model::testing {
namespace {

// std::uniform_real_distribution's algorithm is left to the library; this
// one is fixed, so fixtures are the same everywhere.
class Random {
 public:
  explicit Random(uint32_t seed) : engine_(seed) {}
  float Uniform(float low, float high) {
    const float unit = static_cast<float>(engine_() >> 8) * (1.0f / 16777216.0f);
    return low + (high - low) * unit;
  }
  size_t Below(size_t n) { return static_cast<size_t>(engine_() % n); }

 private:
  std::mt19937 engine_;
};

constexpr const char* kCommonWords[] = {
    "the",    "of",         "and",     "to",         "in",     "is",    "that",   "for",
    "it",     "god",        "space",   "car",        "engine", "game",  "team",   "season",
    "cafe",   "naive",      "windows", "disk",       "drive",  "card",  "video",  "israel",
    "gun",    "law",        "orbit",   "nasa",       "moon",   "jesus", "church", "bible",
    "hockey", "baseball",   "bike",    "motorcycle", "sale",   "offer", "price",  "key",
    "chip",   "encryption", "doctor",  "health",     "486",    "1993",  "x11",    "server"};

std::vector<float> UniformTensor(size_t size, float limit, Random* random) {
  std::vector<float> values(size);
  for (float& value : values) value = random->Uniform(-limit, limit);
  return values;
}

}  // namespace

TestModel MakeTestModel(const ModelShape& shape, uint32_t seed) {
  std::vector<std::string> words = {text::kPaddingWord, text::kUnknownWord};
  for (const char* word : kCommonWords) {
    if (static_cast<int>(words.size()) < shape.vocab_size) words.emplace_back(word);
  }
  while (static_cast<int>(words.size()) < shape.vocab_size) {
    words.push_back(absl::StrCat("w", words.size()));
  }
  absl::StatusOr<text::Vocabulary> vocabulary = text::Vocabulary::FromWords(std::move(words));

  Random random(seed);
  ModelWeights weights;
  weights.shape = shape;
  const auto glorot = [](int in, int out) {
    return std::sqrt(6.0f / static_cast<float>(in + out));
  };
  weights.embedding =
      UniformTensor(size_t{1} * shape.vocab_size * shape.embedding_dim, 1.0f, &random);
  weights.hidden_kernel =
      UniformTensor(static_cast<size_t>(shape.hidden_kernel_size()),
                    2.0f * glorot(shape.pooled_dim(), shape.hidden_units), &random);
  weights.hidden_bias = UniformTensor(shape.hidden_units, 0.1f, &random);
  weights.output_kernel =
      UniformTensor(size_t{1} * shape.hidden_units * shape.num_classes,
                    2.0f * glorot(shape.hidden_units, shape.num_classes), &random);
  weights.output_bias = UniformTensor(shape.num_classes, 0.1f, &random);
  if (shape.tfidf()) {
    // idf in its real range (1 .. 1 + ln n); the reserved ids get 0.
    weights.idf = UniformTensor(shape.vocab_size, 3.0f, &random);
    for (float& value : weights.idf) value = 4.0f + value;
    weights.idf[0] = weights.idf[1] = 0.0f;
  }

  std::vector<std::string> classes;
  for (int i = 0; i < shape.num_classes; ++i) classes.push_back(absl::StrCat("topic.", i));
  return TestModel{std::move(weights), std::move(classes), *std::move(vocabulary)};
}

std::vector<std::string> MakeTestTexts(const text::Vocabulary& vocabulary, int count,
                                       uint32_t seed) {
  static constexpr const char* kOddities[] = {"Caf\xc3\xa9",
                                              "NA\xc3\x8f"
                                              "VE",
                                              "http://www.example.com/a?b=1",
                                              "someone@example.org",
                                              "1234567",
                                              "don't",
                                              "\xe2\x80\x94",
                                              "\xf0\x9f\x98\x80",
                                              "unknownword",
                                              "Zzyzx",
                                              "(486)",
                                              "x11r5,",
                                              "\n\t",
                                              "...",
                                              "www.kiln.dev",
                                              "ma\xc3\x9f"
                                              "e"};
  Random random(seed);
  std::vector<std::string> texts;
  for (int t = 0; t < count; ++t) {
    std::string text;
    const size_t length = 1 + random.Below(90);
    for (size_t i = 0; i < length; ++i) {
      if (random.Below(6) == 0) {
        absl::StrAppend(&text, kOddities[random.Below(std::size(kOddities))], " ");
        continue;
      }
      std::string word = vocabulary.words()[2 + random.Below(vocabulary.words().size() - 2)];
      if (random.Below(5) == 0) word[0] = static_cast<char>(std::toupper(word[0]));
      absl::StrAppend(&text, word, random.Below(8) == 0 ? ", " : " ");
    }
    texts.push_back(std::move(text));
  }
  return texts;
}

}  // namespace kiln::model::testing
