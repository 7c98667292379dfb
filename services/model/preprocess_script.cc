#include "services/model/preprocess_script.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "services/model/embedded_kiln_text.h"
#include "services/text/spec.h"

namespace kiln::model {
namespace {

constexpr char kHeader[] = R"js(// preprocess.js of a Kiln model bundle (docs/bundle.md): the text
// preprocessing this model was trained with, bound to its constants.
// Generated; do not edit. ES5, so that old browsers run it: load it as a
// classic <script>, with importScripts() in a worker, or with require(). It
// defines one global, KilnPreprocess:
//
//   var preprocess = KilnPreprocess.createPreprocessor(vocabJson, idfJson);
//   var input = preprocess(text);  // the model's input for one text
//   KilnPreprocess.predict(tf, model, preprocess, text, 3);  // top 3 classes
//
// ARCHITECTURE 'article': the input is MAX_LENGTH ids and idfJson is not
// needed; 'tfidf': a Float32Array of VOCAB_SIZE TF-IDF features of the
// first MAX_LENGTH ids, with the idf of the bundle's idf.json.
var KilnPreprocess = (function () {
)js";

// Runs inside the function above, after the twin's declarations.
constexpr char kHelpers[] = R"js(
// A preprocess(text) function for this bundle's vocab.json and, for a tfidf
// model, idf.json, each passed parsed or as its text. Refuses files of
// another bundle or spec version.
function createPreprocessor(vocab, idf) {
  if (typeof vocab === 'string') vocab = JSON.parse(vocab);
  if (!vocab || vocab.spec_version !== SPEC_VERSION) {
    throw new Error('vocab.json is for preprocessing spec ' + (vocab && vocab.spec_version) +
                    ', this bundle uses ' + SPEC_VERSION);
  }
  if (vocab.sha256 !== VOCAB_SHA256 || !vocab.words || vocab.words.length !== VOCAB_SIZE) {
    throw new Error('vocab.json does not belong to this bundle (expected ' + VOCAB_SIZE +
                    ' words with sha256 ' + VOCAB_SHA256 + ')');
  }
  var vocabIndex = buildVocabIndex(vocab.words);
  if (ARCHITECTURE !== 'tfidf') {
    return function preprocess(text) {
      return encodeText(String(text), vocabIndex, MAX_LENGTH);
    };
  }
  var weights = readIdf(idf);
  return function preprocess(text) {
    var ids = encodeText(String(text), vocabIndex, MAX_LENGTH);
    return denseFeatures(tfidfFeatures(ids, weights), VOCAB_SIZE);
  };
}

// idf.json's idf as a Float32Array (the float32s training used), after
// checking that the file belongs to this bundle's vocabulary.
function readIdf(idf) {
  if (idf === undefined || idf === null) {
    throw new Error('this bundle is a tfidf model: createPreprocessor needs its idf.json ' +
                    'as the second argument');
  }
  if (typeof idf === 'string') idf = JSON.parse(idf);
  if (!idf || idf.format !== 'kiln-idf') {
    throw new Error('idf.json is not in the kiln-idf format (format ' + (idf && idf.format) + ')');
  }
  if (idf.vocab_sha256 !== VOCAB_SHA256 || !idf.idf || idf.idf.length !== VOCAB_SIZE) {
    throw new Error('idf.json does not belong to this bundle (expected ' + VOCAB_SIZE +
                    ' values for the vocabulary with sha256 ' + VOCAB_SHA256 + ')');
  }
  var weights = new Float32Array(VOCAB_SIZE);
  for (var i = 0; i < VOCAB_SIZE; i++) {
    var value = idf.idf[i];
    if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
      throw new Error('idf.json value ' + i + ' is ' + value + ', not a finite number >= 0');
    }
    weights[i] = value;
  }
  return weights;
}

// The k most probable classes (all when k is omitted), most probable first,
// as [{label: ..., probability: ...}]; ties keep the class order.
function topClasses(probabilities, k) {
  if (probabilities.length !== CLASSES.length) {
    throw new Error('expected ' + CLASSES.length + ' probabilities, got ' + probabilities.length);
  }
  var order = [];
  for (var i = 0; i < CLASSES.length; i++) order.push(i);
  order.sort(function (a, b) {
    return probabilities[b] - probabilities[a] || a - b;
  });
  var count = k === undefined ? CLASSES.length : Math.min(k, CLASSES.length);
  var top = [];
  for (var j = 0; j < count; j++) {
    top.push({ label: CLASSES[order[j]], probability: probabilities[order[j]] });
  }
  return top;
}

// Runs `model` (from tf.loadLayersModel) on one text; returns topClasses.
function predict(tf, model, preprocess, text, k) {
  var input = ARCHITECTURE === 'tfidf'
    ? tf.tensor2d(preprocess(text), [1, VOCAB_SIZE], 'float32')
    : tf.tensor2d([preprocess(text)], [1, MAX_LENGTH], 'int32');
  var output = model.predict(input);
  var probabilities = output.dataSync();
  input.dispose();
  output.dispose();
  return topClasses(probabilities, k);
}

return {
  ARCHITECTURE: ARCHITECTURE,
  SPEC_VERSION: SPEC_VERSION,
  MAX_LENGTH: MAX_LENGTH,
  VOCAB_SIZE: VOCAB_SIZE,
  VOCAB_SHA256: VOCAB_SHA256,
  CLASSES: CLASSES,
  tokenize: tokenize,
  cleanText: cleanText,
  createPreprocessor: createPreprocessor,
  topClasses: topClasses,
  predict: predict
};
})();

if (typeof module === 'object' && module !== null && module.exports) {
  module.exports = KilnPreprocess;
}
)js";

}  // namespace

absl::StatusOr<std::string> BuildPreprocessScript(ModelInput input, int max_length,
                                                  const text::Vocabulary& vocabulary,
                                                  const std::vector<std::string>& classes) {
  const absl::string_view twin = kEmbeddedKilnTextJs;
  // The trap this guards against: a bundle whose browser side encodes text
  // differently from the C++ side that built its vocabulary and trained it.
  const std::string declaration = absl::StrCat("var SPEC_VERSION = '", text::kSpecVersion, "';");
  if (twin.find(declaration) == absl::string_view::npos) {
    return absl::InternalError(absl::StrCat(
        "the embedded clients/text/kiln-text.js does not declare ", declaration,
        " like kiln_text does: rebuild with matching preprocessing sources"));
  }
  // ensure_ascii: a JSON string is then also a valid ES5 string literal
  // (raw U+2028 and U+2029 are not).
  const std::string classes_literal = nlohmann::json(classes).dump(-1, ' ', /*ensure_ascii=*/true);
  const char* architecture = input == ModelInput::kTfidf ? "tfidf" : "article";
  return absl::StrCat(kHeader, twin, "\n// This model's constants.\nvar ARCHITECTURE = '",
                      architecture, "';\nvar MAX_LENGTH = ", max_length,
                      ";\nvar VOCAB_SIZE = ", vocabulary.size(), ";\nvar VOCAB_SHA256 = '",
                      vocabulary.sha256(), "';\nvar CLASSES = ", classes_literal, ";\n", kHelpers);
}

}  // namespace kiln::model
