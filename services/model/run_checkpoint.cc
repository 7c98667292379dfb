#include "services/model/run_checkpoint.h"

#include <cstdint>
#include <cstring>
#include <type_traits>

namespace kiln::model {
namespace {

constexpr char kMagic[] = "KILNRUN1";
constexpr size_t kMagicSize = sizeof(kMagic) - 1;
// Epoch and examples, four training figures, the best and validation
// flags, the validation examples and three figures.
constexpr size_t kReportSize = 4 + 8 + 4 * 8 + 1 + 1 + 8 + 3 * 8;
// Magic, last and best epoch, best loss, two reports, two lengths.
constexpr size_t kFieldsSize = kMagicSize + 4 + 4 + 8 + 2 * kReportSize + 8 + 8;
constexpr size_t kHeaderSize = kFieldsSize + 8;  // and the checksum

uint64_t Fnv1a(const char* data, size_t size) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < size; ++i) {
    hash ^= static_cast<unsigned char>(data[i]);
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

// Host byte order, little-endian on every platform Kiln builds for.
template <typename T>
void Put(std::string& bytes, T value) {
  static_assert(std::is_trivially_copyable_v<T>);
  bytes.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T Get(const std::string& bytes, size_t& offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  offset += sizeof(T);
  return value;
}

void PutReport(std::string& bytes, const RunEpochReport& report) {
  const EpochMetrics& training = report.training;
  Put<int32_t>(bytes, training.epoch);
  Put<int64_t>(bytes, training.examples);
  for (double value : {training.mean_loss, training.accuracy, training.seconds,
                       training.samples_per_second}) {
    Put<double>(bytes, value);
  }
  Put<uint8_t>(bytes, report.best);
  Put<uint8_t>(bytes, report.validation.has_value());
  const ValidationFigures validation = report.validation.value_or(ValidationFigures{});
  Put<int64_t>(bytes, validation.examples);
  for (double value : {validation.loss, validation.recall_at_1, validation.recall_at_3}) {
    Put<double>(bytes, value);
  }
}

RunEpochReport GetReport(const std::string& bytes, size_t& offset) {
  RunEpochReport report;
  EpochMetrics& training = report.training;
  training.epoch = Get<int32_t>(bytes, offset);
  training.examples = Get<int64_t>(bytes, offset);
  for (double* value : {&training.mean_loss, &training.accuracy, &training.seconds,
                        &training.samples_per_second}) {
    *value = Get<double>(bytes, offset);
  }
  report.best = Get<uint8_t>(bytes, offset) != 0;
  const bool validated = Get<uint8_t>(bytes, offset) != 0;
  ValidationFigures validation;
  validation.examples = Get<int64_t>(bytes, offset);
  for (double* value : {&validation.loss, &validation.recall_at_1, &validation.recall_at_3}) {
    *value = Get<double>(bytes, offset);
  }
  if (validated) report.validation = validation;
  return report;
}

}  // namespace

std::string EncodeRunCheckpoint(const RunCheckpoint& checkpoint) {
  std::string bytes(kMagic, kMagicSize);
  bytes.reserve(kHeaderSize + checkpoint.trainer.size() + checkpoint.best_trainer.size());
  Put<int32_t>(bytes, checkpoint.stopping.last_epoch);
  Put<int32_t>(bytes, checkpoint.stopping.best_epoch);
  Put<double>(bytes, checkpoint.stopping.best_loss);
  PutReport(bytes, checkpoint.last_report);
  PutReport(bytes, checkpoint.best_report);
  Put<uint64_t>(bytes, checkpoint.trainer.size());
  Put<uint64_t>(bytes, checkpoint.best_trainer.size());
  Put<uint64_t>(bytes, Fnv1a(bytes.data(), bytes.size()));
  bytes += checkpoint.trainer;
  bytes += checkpoint.best_trainer;
  return bytes;
}

absl::StatusOr<RunCheckpoint> DecodeRunCheckpoint(const std::string& bytes) {
  if (bytes.size() < kHeaderSize || std::memcmp(bytes.data(), kMagic, kMagicSize) != 0) {
    return absl::DataLossError("run checkpoint: not a Kiln run checkpoint (bad magic)");
  }
  size_t offset = kMagicSize;
  RunCheckpoint checkpoint;
  checkpoint.stopping.last_epoch = Get<int32_t>(bytes, offset);
  checkpoint.stopping.best_epoch = Get<int32_t>(bytes, offset);
  checkpoint.stopping.best_loss = Get<double>(bytes, offset);
  checkpoint.last_report = GetReport(bytes, offset);
  checkpoint.best_report = GetReport(bytes, offset);
  const auto trainer_size = Get<uint64_t>(bytes, offset);
  const auto best_size = Get<uint64_t>(bytes, offset);
  if (Get<uint64_t>(bytes, offset) != Fnv1a(bytes.data(), kFieldsSize)) {
    return absl::DataLossError("run checkpoint: checksum mismatch (corrupted)");
  }
  const size_t rest = bytes.size() - kHeaderSize;
  if (trainer_size > rest || best_size != rest - trainer_size) {
    return absl::DataLossError("run checkpoint: truncated or padded");
  }
  checkpoint.trainer = bytes.substr(kHeaderSize, trainer_size);
  checkpoint.best_trainer = bytes.substr(kHeaderSize + trainer_size);
  return checkpoint;
}

}  // namespace kiln::model
