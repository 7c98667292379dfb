#include "services/model/checkpoint.h"

#include <cstring>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "services/model/parameters.h"

namespace kiln::model {
namespace {

// Version 2 added the tfidf architecture (model kind 2) and the dropout
// rate; version 1 checkpoints (article models, no dropout) still load.
constexpr char kMagic[] = "KILNCKP2";
constexpr char kMagicVersion1[] = "KILNCKP1";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;

// The model kind field: the article's two poolings, or tfidf.
enum ModelKind : int32_t { kAverageKind = 0, kFlattenKind = 1, kTfidfKind = 2 };

int32_t KindOf(const ModelShape& shape) {
  if (shape.tfidf()) return kTfidfKind;
  return shape.pooling == Pooling::kFlatten ? kFlattenKind : kAverageKind;
}

static_assert(sizeof(float) == 4, "checkpoints store IEEE float32");

uint64_t Fnv1a(const char* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Writes and reads in the host byte order, which is little-endian on every
// platform Kiln builds for (x86-64, aarch64).
class Writer {
 public:
  template <typename T>
  void Put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    bytes_.append(reinterpret_cast<const char*>(&value), sizeof(T));
  }
  void Put(const std::vector<float>& values) {
    Put(static_cast<uint64_t>(values.size()));
    bytes_.append(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
  }
  std::string Finish() {
    Put(Fnv1a(bytes_.data(), bytes_.size()));
    return std::move(bytes_);
  }
  std::string& bytes() { return bytes_; }

 private:
  std::string bytes_;
};

class Reader {
 public:
  Reader(const char* data, size_t size) : data_(data), size_(size) {}

  template <typename T>
  bool Get(T& value) {
    if (size_ - offset_ < sizeof(T)) return false;
    std::memcpy(&value, data_ + offset_, sizeof(T));
    offset_ += sizeof(T);
    return true;
  }
  bool Get(std::vector<float>& values) {
    uint64_t count = 0;
    if (!Get(count) || count > (size_ - offset_) / sizeof(float)) return false;
    values.resize(count);
    std::memcpy(values.data(), data_ + offset_, count * sizeof(float));
    offset_ += count * sizeof(float);
    return true;
  }
  bool AtEnd() const { return offset_ == size_; }

 private:
  const char* data_;
  size_t size_;
  size_t offset_ = 0;
};

absl::Status CheckLength(const char* name, const std::vector<float>& values, int64_t expected) {
  if (static_cast<int64_t>(values.size()) == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("checkpoint: ", name, " holds ", values.size(),
                                                 " values, its shape needs ", expected));
}

}  // namespace

std::string EncodeCheckpoint(const TrainingState& state) {
  Writer writer;
  writer.bytes().append(kMagic, kMagicSize);
  const ModelShape& shape = state.shape;
  writer.Put<int32_t>(shape.vocab_size);
  writer.Put<int32_t>(shape.max_length);
  writer.Put<int32_t>(shape.embedding_dim);
  writer.Put<int32_t>(shape.hidden_units);
  writer.Put<int32_t>(shape.num_classes);
  writer.Put<int32_t>(KindOf(shape));
  writer.Put<float>(shape.dropout);
  writer.Put(state.batch_size);
  writer.Put(state.learning_rate);
  writer.Put(state.seed);
  writer.Put(state.examples);
  writer.Put(state.epochs_done);
  writer.Put(state.step);
  for (const std::vector<float>* tensor :
       {&state.embedding, &state.dense, &state.embedding_first_moment,
        &state.embedding_second_moment, &state.dense_first_moment, &state.dense_second_moment}) {
    writer.Put(*tensor);
  }
  return writer.Finish();
}

absl::StatusOr<TrainingState> DecodeCheckpoint(const std::string& bytes) {
  const bool version1 = bytes.size() >= kMagicSize &&
                        std::memcmp(bytes.data(), kMagicVersion1, kMagicSize) == 0;
  if (bytes.size() < kMagicSize + sizeof(uint64_t) ||
      (!version1 && std::memcmp(bytes.data(), kMagic, kMagicSize) != 0)) {
    return absl::DataLossError("checkpoint: not a Kiln training checkpoint (bad magic)");
  }
  const size_t body_size = bytes.size() - sizeof(uint64_t);
  uint64_t stored_hash = 0;
  std::memcpy(&stored_hash, bytes.data() + body_size, sizeof(stored_hash));
  if (stored_hash != Fnv1a(bytes.data(), body_size)) {
    return absl::DataLossError("checkpoint: checksum mismatch (truncated or corrupted)");
  }

  TrainingState state;
  Reader reader(bytes.data() + kMagicSize, body_size - kMagicSize);
  int32_t kind = 0;
  ModelShape& shape = state.shape;
  const bool complete =
      reader.Get(shape.vocab_size) && reader.Get(shape.max_length) &&
      reader.Get(shape.embedding_dim) && reader.Get(shape.hidden_units) &&
      reader.Get(shape.num_classes) && reader.Get(kind) &&
      (version1 || reader.Get(shape.dropout)) && reader.Get(state.batch_size) &&
      reader.Get(state.learning_rate) && reader.Get(state.seed) && reader.Get(state.examples) &&
      reader.Get(state.epochs_done) && reader.Get(state.step) && reader.Get(state.embedding) &&
      reader.Get(state.dense) && reader.Get(state.embedding_first_moment) &&
      reader.Get(state.embedding_second_moment) && reader.Get(state.dense_first_moment) &&
      reader.Get(state.dense_second_moment) && reader.AtEnd();
  if (!complete || kind < kAverageKind || kind > (version1 ? kFlattenKind : kTfidfKind)) {
    return absl::DataLossError("checkpoint: malformed body");
  }
  shape.pooling = kind == kFlattenKind ? Pooling::kFlatten : Pooling::kGlobalAverage;
  shape.architecture = kind == kTfidfKind ? Architecture::kTfidf : Architecture::kArticle;

  if (absl::Status status = ValidateShape(shape); !status.ok()) return status;
  const int64_t table = int64_t{shape.vocab_size} * shape.embedding_dim;
  const int64_t dense = DenseLayout::For(shape).size;
  for (absl::Status status :
       {CheckLength("embedding", state.embedding, table),
        CheckLength("embedding first moment", state.embedding_first_moment, table),
        CheckLength("embedding second moment", state.embedding_second_moment, table),
        CheckLength("dense", state.dense, dense),
        CheckLength("dense first moment", state.dense_first_moment, dense),
        CheckLength("dense second moment", state.dense_second_moment, dense)}) {
    if (!status.ok()) return status;
  }
  return state;
}

}  // namespace kiln::model
