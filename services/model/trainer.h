// Trains the classifier one epoch at a time, on one rank or data-parallel
// over several (see Communicator), with exact checkpoints between epochs.
//
// Data parallelism: rank r of W holds the examples whose index in the whole
// training set is r, r + W, r + 2W, ... (ShardExamples makes that split).
// Every rank draws the same permutation of the whole index range from the
// seed and the epoch, cuts it into global batches of batch_size, and trains
// on the members of each batch it holds; gradients are summed over the ranks
// every step. W ranks therefore take the very steps one rank would take, and
// differ from it only by the order of float additions.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "services/model/adam.h"
#include "services/model/batch_pass.h"
#include "services/model/communicator.h"
#include "services/model/model_weights.h"
#include "services/model/parameters.h"
#include "services/model/sparse_rows.h"

namespace kiln::model {

struct TrainingOptions {
  int epochs = 15;
  // Examples per step over all ranks together.
  int batch_size = 64;
  float learning_rate = 5e-3f;
  uint64_t seed = 0;
  // Intra-op threads of this process (process-wide); 0 keeps the current
  // setting.
  int threads = 0;
};

// Encoded examples: `labels.size()` sequences of max_length ids each.
struct Examples {
  std::vector<int32_t> ids;  // [size, max_length] row-major
  std::vector<int32_t> labels;
  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// The examples rank `rank` of `world_size` trains on (see above).
Examples ShardExamples(const Examples& all, int max_length, int rank, int world_size);

struct EpochMetrics {
  int epoch = 0;                  // 1-based
  int64_t examples = 0;           // over all ranks
  double mean_loss = 0;           // cross-entropy over the epoch's examples
  double accuracy = 0;            // on the training examples, as the steps saw them
  double seconds = 0;             // wall time of the epoch on this rank
  double samples_per_second = 0;  // examples / seconds
};

struct StepProgress {
  int epoch = 0;     // 1-based
  int64_t step = 0;  // 1-based within the epoch
  int64_t steps = 0;
  float loss = 0;  // mean over the step's global batch
};

using ProgressCallback = std::function<void(const StepProgress&)>;
// Polled before every step (a step takes milliseconds); true stops the epoch.
using CancelCheck = std::function<bool()>;

class Trainer {
 public:
  // `shard` is this rank's share of the training set. With a communicator
  // (connected, world size >= 2) every rank must call Create together: it
  // checks that the shards add up. Without one the trainer runs alone.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(const ModelShape& shape,
                                                         const TrainingOptions& options,
                                                         Examples shard,
                                                         Communicator* communicator = nullptr);

  // Trains the next epoch. Errors: Cancelled, Unavailable when a peer is
  // lost, FailedPrecondition when all epochs are done or an earlier epoch
  // failed (RestoreCheckpoint to go on).
  absl::StatusOr<EpochMetrics> RunEpoch(const ProgressCallback& progress = nullptr,
                                        const CancelCheck& cancelled = nullptr);

  int epochs_done() const { return epochs_done_; }
  bool done() const { return epochs_done_ >= options_.epochs; }
  int64_t examples() const { return examples_; }

  // Everything needed to go on exactly where this trainer stands.
  absl::StatusOr<std::string> SaveCheckpoint() const;
  // Continues from a checkpoint of a run with the same shape, batch size,
  // learning rate, seed and training set size (every rank restores the same
  // bytes).
  absl::Status RestoreCheckpoint(const std::string& bytes);

  ModelWeights ExportWeights() const { return params_.ToWeights(); }
  // Starts over from these weights: Adam's state and the epoch count reset.
  // A tfidf model's must carry the idf of this trainer's training set.
  absl::Status ImportWeights(const ModelWeights& weights);

 private:
  Trainer(const ModelShape& shape, const TrainingOptions& options, Examples shard,
          Communicator* communicator, int64_t examples);

  absl::StatusOr<EpochMetrics> TrainEpoch(const ProgressCallback& progress,
                                          const CancelCheck& cancelled);
  // Fills the local batch with this rank's members of global batch `batch`
  // (and their dropout masks).
  void GatherBatch(const std::vector<int64_t>& order, int64_t batch, int epoch);
  void AppendDropoutMask(int epoch, int64_t example);
  // tfidf: the shard's features, computed once from the ids and the idf,
  // replace the ids (which are then released).
  void CacheFeatures();
  // Sums gradients and loss over the ranks into dense_gradient_,
  // merged_rows_ and `sums`.
  absl::Status Exchange(double* loss_sum, int64_t* correct);

  ModelShape shape_;
  TrainingOptions options_;
  Examples shard_;
  Communicator* communicator_;
  int rank_ = 0;
  int world_size_ = 1;
  int64_t examples_ = 0;

  Parameters params_;
  AdamSchedule schedule_;
  DenseAdam dense_adam_;
  RowAdam row_adam_;
  int epochs_done_ = 0;
  int64_t step_ = 0;
  // Set when an epoch stopped half-way: the state is no epoch's.
  absl::Status interrupted_;

  // Buffers reused by every step.
  std::vector<int32_t> batch_ids_;
  FeatureRows shard_features_;  // tfidf only
  FeatureRows batch_features_;
  std::vector<int32_t> batch_labels_;
  std::vector<float> dropout_scale_;  // [local rows, hidden_units]
  int64_t global_batch_size_ = 0;
  BatchPass pass_;
  std::vector<float> logits_gradient_;
  std::vector<float> dense_gradient_;
  SparseRows local_rows_;
  SparseRows merged_rows_;
  std::vector<float> reduce_buffer_;
  std::vector<float> gather_send_;
  std::vector<float> gather_receive_;
};

}  // namespace kiln::model
