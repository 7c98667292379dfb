// kiln_bundle_fixture OUT_DIR: writes the inputs of the tfjs parity suite
// (tests/js/bundle_parity.test.mjs):
//   OUT_DIR/<name>/          a bundle of a deterministic random model, for
//                            float32, float16, uint8 and a Flatten model;
//   OUT_DIR/cases.json       texts, their ids as the C++ encoder computes
//                            them, and per bundle the probabilities a plain
//                            forward pass computes over the weights read back
//                            from the bundle, plus the sha256 of each
//                            dequantized tensor (float32, little-endian).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "services/common/sha256.h"
#include "services/model/bundle_files.h"
#include "services/model/bundle_reader.h"
#include "services/model/bundle_writer.h"
#include "services/model/keras_topology.h"
#include "services/text/encoder.h"
#include "tests/model/bundle_test_model.h"
#include "tests/model/reference_forward.h"
#include "tests/support/write_file.h"

namespace kiln::model {
namespace {

struct FixtureBundle {
  const char* name;
  Pooling pooling;
  WeightEncoding encoding;
};

// Big enough that float32 weights span two shards (5.2 MB).
ModelShape FixtureShape(Pooling pooling) {
  ModelShape shape;
  shape.vocab_size = pooling == Pooling::kFlatten ? 3000 : 20000;
  shape.max_length = 64;
  shape.embedding_dim = pooling == Pooling::kFlatten ? 16 : 64;
  shape.hidden_units = 32;
  shape.num_classes = 20;
  shape.pooling = pooling;
  return shape;
}

std::string TensorSha256(const std::vector<float>& values) {
  static_assert(sizeof(float) == 4);
  // Hosts running this are little-endian, like the bytes TF.js hashes.
  return Sha256Hex(absl::string_view(reinterpret_cast<const char*>(values.data()),
                                     values.size() * sizeof(float)));
}

absl::StatusOr<nlohmann::json> WriteFixtureBundle(const FixtureBundle& spec,
                                                  const std::vector<std::string>& texts,
                                                  const std::string& out_dir) {
  const testing::TestModel model = testing::MakeTestModel(FixtureShape(spec.pooling), 7);
  BundleMetadata metadata;
  metadata.weight_encoding = spec.encoding;
  metadata.metrics = {{"recall@1", 0.5}};
  metadata.lineage = {{"fixture", spec.name}};
  absl::StatusOr<BundleFiles> files =
      WriteBundle(model.weights, model.classes, model.vocabulary, metadata);
  if (!files.ok()) return files.status();
  const std::string dir = absl::StrCat(out_dir, "/", spec.name);
  if (absl::Status s = WriteBundleDirectory(*files, dir); !s.ok()) return s;

  // Expected values come from the bundle as read back, so quantized weights
  // are compared as TF.js dequantizes them.
  absl::StatusOr<BundleFiles> read = ReadBundleDirectory(dir);
  if (!read.ok()) return read.status();
  absl::StatusOr<Bundle> bundle = ReadBundle(*read);
  if (!bundle.ok()) return bundle.status();

  text::TextEncoder encoder(bundle->vocabulary);
  std::vector<int32_t> ids(bundle->weights.shape.max_length);
  nlohmann::json id_rows = nlohmann::json::array();
  nlohmann::json probabilities = nlohmann::json::array();
  for (const std::string& text : texts) {
    encoder.Encode(text, absl::MakeSpan(ids));
    id_rows.push_back(ids);
    probabilities.push_back(testing::ReferenceForward(bundle->weights, ids));
  }
  const KerasWeightNames names = StandardTopology(bundle->weights.shape).weight_names;
  const ModelWeights& weights = bundle->weights;
  return nlohmann::json{
      {"dir", spec.name},
      {"weight_encoding", WeightEncodingName(spec.encoding)},
      {"ids", std::move(id_rows)},
      {"probabilities", std::move(probabilities)},
      {"weight_sha256",
       {{names.embedding, TensorSha256(weights.embedding)},
        {names.hidden_kernel, TensorSha256(weights.hidden_kernel)},
        {names.hidden_bias, TensorSha256(weights.hidden_bias)},
        {names.output_kernel, TensorSha256(weights.output_kernel)},
        {names.output_bias, TensorSha256(weights.output_bias)}}},
  };
}

int Run(const std::string& out_dir) {
  const std::vector<FixtureBundle> bundles = {
      {"float32", Pooling::kGlobalAverage, WeightEncoding::kFloat32},
      {"float16", Pooling::kGlobalAverage, WeightEncoding::kFloat16},
      {"uint8", Pooling::kGlobalAverage, WeightEncoding::kUint8},
      {"flatten-float32", Pooling::kFlatten, WeightEncoding::kFloat32},
  };
  // Texts drawn from the big model's vocabulary; the Flatten model's smaller
  // one maps most of them to <oov>, which is also worth testing.
  const testing::TestModel words = testing::MakeTestModel(FixtureShape(Pooling::kGlobalAverage), 7);
  const std::vector<std::string> texts = testing::MakeTestTexts(words.vocabulary, 200, 11);

  nlohmann::json cases = {{"texts", texts}, {"bundles", nlohmann::json::object()}};
  for (const FixtureBundle& spec : bundles) {
    absl::StatusOr<nlohmann::json> bundle = WriteFixtureBundle(spec, texts, out_dir);
    if (!bundle.ok()) {
      std::fprintf(stderr, "bundle %s: %s\n", spec.name,
                   std::string(bundle.status().message()).c_str());
      return 1;
    }
    cases["bundles"][spec.name] = *std::move(bundle);
  }
  if (absl::Status written = kiln::testing::WriteFile(out_dir + "/cases.json", cases.dump() + "\n");
      !written.ok()) {
    std::fprintf(stderr, "%s\n", std::string(written.message()).c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace kiln::model

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  return kiln::model::Run(argv[1]);
}
