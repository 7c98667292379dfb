// Writes the generated seeds of bundle_reader_fuzzer and weight_decoder_fuzzer
// from a tiny model, through the real bundle writer and weight encoder:
//   kiln_fuzz_write_seeds tests/fuzz/corpus
// (the fuzz build's tests/fuzz directory holds the binary). The other
// targets' seeds are small handmade files; see README.md.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "services/model/bundle_writer.h"
#include "services/model/keras_topology.h"
#include "services/model/tfjs_weights.h"
#include "services/text/spec.h"
#include "tests/fuzz/bundle_input.h"
#include "tests/fuzz/weight_input.h"

namespace {

using kiln::model::ModelShape;
using kiln::model::ModelWeights;
using kiln::model::WeightEncoding;

// Values on both sides of zero, with exact zeros (the folded padding row).
std::vector<float> Values(size_t count, int salt) {
  std::vector<float> values(count);
  for (size_t i = 0; i < count; ++i) {
    values[i] = i % 3 == 0 ? 0.0f : static_cast<float>(std::sin(1.0 + i + salt) * 0.25);
  }
  return values;
}

ModelWeights TinyWeights(const ModelShape& shape) {
  ModelWeights weights;
  weights.shape = shape;
  weights.embedding = Values(size_t(shape.vocab_size) * shape.embedding_dim, 1);
  weights.hidden_kernel = Values(size_t(shape.pooled_dim()) * shape.hidden_units, 2);
  weights.hidden_bias = Values(shape.hidden_units, 3);
  weights.output_kernel = Values(size_t(shape.hidden_units) * shape.num_classes, 4);
  weights.output_bias = Values(shape.num_classes, 5);
  return weights;
}

void Write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  std::printf("%s (%zu bytes)\n", path.c_str(), bytes.size());
}

bool Fail(const absl::Status& status) {
  std::fprintf(stderr, "kiln_fuzz_write_seeds: %s\n", std::string(status.message()).c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path corpus = argv[1];
  absl::StatusOr<kiln::text::Vocabulary> vocabulary = kiln::text::Vocabulary::FromWords(
      {kiln::text::kPaddingWord, kiln::text::kUnknownWord, "orbit", "puck", "<num>"});
  if (!vocabulary.ok()) return Fail(vocabulary.status());
  // Header bytes chosen so that ShapeOf() gives vocab 5, max_length 3,
  // embedding 2, hidden 3 and 2 classes, the vocabulary's and classes' sizes.
  const uint8_t shape_bytes[5] = {3, 2, 1, 2, 0};
  for (const WeightEncoding encoding :
       {WeightEncoding::kFloat32, WeightEncoding::kFloat16, WeightEncoding::kUint8}) {
    for (const bool flatten : {false, true}) {
      const uint8_t flags = static_cast<uint8_t>(
          (encoding == WeightEncoding::kFloat16 ? 1 : encoding == WeightEncoding::kUint8 ? 2 : 0) |
          (flatten ? kiln::fuzz::kFlattenBit : 0));
      uint8_t header[kiln::fuzz::kWeightHeaderBytes] = {flags};
      std::memcpy(header + 1, shape_bytes, sizeof shape_bytes);
      const ModelShape shape = kiln::fuzz::ShapeOf(header);
      const ModelWeights weights = TinyWeights(shape);
      const std::string name = std::string(kiln::model::WeightEncodingName(encoding)) +
                               (flatten ? "-flatten" : "-average");

      kiln::model::BundleMetadata metadata;
      metadata.weight_encoding = encoding;
      metadata.metrics = {{"recall@1", 0.5}};
      absl::StatusOr<kiln::model::BundleFiles> bundle = kiln::model::WriteBundle(
          weights, {"sci.space", "rec.sport.hockey"}, *vocabulary, metadata);
      if (!bundle.ok()) return Fail(bundle.status());
      Write(corpus / "bundle_reader_fuzzer" / name, kiln::fuzz::JoinBundle(*bundle));

      // Two shards' worth of bytes at most 64 per shard: several shards.
      absl::StatusOr<kiln::model::EncodedWeights> encoded = kiln::model::EncodeWeights(
          weights, kiln::model::StandardTopology(shape).weight_names, encoding, 64);
      if (!encoded.ok()) return Fail(encoded.status());
      std::string decode(reinterpret_cast<const char*>(header), sizeof header);
      decode += encoded->weights_manifest.dump();
      decode += '\0';
      decode += static_cast<char>(encoded->shards.size() - 1);
      for (size_t i = 0; i < encoded->shards.size(); ++i) {
        decode += encoded->shards.at(kiln::fuzz::ShardName(i, encoded->shards.size()));
      }
      Write(corpus / "weight_decoder_fuzzer" / ("decode-" + name), decode);

      std::string round_trip(reinterpret_cast<const char*>(header), sizeof header);
      round_trip[0] = static_cast<char>(flags | kiln::fuzz::kRoundTripBit);
      round_trip += static_cast<char>(63);
      for (const std::vector<float>* tensor :
           {&weights.embedding, &weights.hidden_kernel, &weights.hidden_bias,
            &weights.output_kernel, &weights.output_bias}) {
        round_trip.append(reinterpret_cast<const char*>(tensor->data()), tensor->size() * 4);
      }
      Write(corpus / "weight_decoder_fuzzer" / ("round-trip-" + name), round_trip);
    }
  }
  return 0;
}
