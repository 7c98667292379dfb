#include "services/model/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <exception>
#include <utility>

#include "absl/strings/str_cat.h"
#include "services/model/checkpoint.h"
#include "services/model/loss.h"
#include "services/model/parallel.h"
#include "services/model/random.h"
#include "services/text/tfidf.h"

namespace kiln::model {
namespace {

// DeriveSeed streams of the training loop (initialisation uses its own):
// the shuffle of epoch e is stream kShuffleStream + e, the dropout masks of
// epoch e derive from stream kDropoutStream + e and the example's index in
// the whole training set, so that every world size draws the same masks.
constexpr uint64_t kShuffleStream = 1000;
constexpr uint64_t kDropoutStream = uint64_t{1} << 32;

absl::Status ValidateOptions(const TrainingOptions& options) {
  if (options.epochs < 1 || options.epochs > 100000) {
    return absl::InvalidArgumentError(
        absl::StrCat("training: epochs is ", options.epochs, ", allowed 1..100000"));
  }
  if (options.batch_size < 1 || options.batch_size > 65536) {
    return absl::InvalidArgumentError(
        absl::StrCat("training: batch_size is ", options.batch_size, ", allowed 1..65536"));
  }
  if (!std::isfinite(options.learning_rate) || options.learning_rate <= 0 ||
      options.learning_rate > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("training: learning_rate is ", options.learning_rate, ", allowed (0, 1]"));
  }
  if (options.threads < 0 || options.threads > 1024) {
    return absl::InvalidArgumentError(
        absl::StrCat("training: threads is ", options.threads, ", allowed 0..1024"));
  }
  return absl::OkStatus();
}

absl::Status ValidateExamples(const ModelShape& shape, const Examples& examples) {
  if (examples.ids.size() != examples.labels.size() * static_cast<size_t>(shape.max_length)) {
    return absl::InvalidArgumentError(
        absl::StrCat("training data: ", examples.ids.size(), " ids for ", examples.labels.size(),
                     " labels, expected max_length (", shape.max_length, ") ids per label"));
  }
  for (size_t i = 0; i < examples.labels.size(); ++i) {
    if (examples.labels[i] < 0 || examples.labels[i] >= shape.num_classes) {
      return absl::InvalidArgumentError(absl::StrCat("training data: label ", examples.labels[i],
                                                     " of example ", i, " is outside 0..",
                                                     shape.num_classes - 1));
    }
  }
  for (size_t i = 0; i < examples.ids.size(); ++i) {
    if (examples.ids[i] < 0 || examples.ids[i] >= shape.vocab_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("training data: id ", examples.ids[i], " in example ", i / shape.max_length,
                       " is outside the vocabulary 0..", shape.vocab_size - 1));
    }
  }
  return absl::OkStatus();
}

int64_t ShardSize(int64_t examples, int rank, int world_size) {
  return examples > rank ? (examples - rank + world_size - 1) / world_size : 0;
}

// Row ids travel in float slots of the all-gather buffer bit for bit; the
// collective copies them and never does arithmetic on them.
float IdBits(int32_t id) {
  float bits;
  std::memcpy(&bits, &id, sizeof(bits));
  return bits;
}
int32_t IdFromBits(float bits) {
  int32_t id;
  std::memcpy(&id, &bits, sizeof(id));
  return id;
}

// A tfidf model's inverse document frequencies over the whole training set:
// every rank counts its shard and the counts are summed over the ranks.
absl::StatusOr<std::vector<float>> TrainingSetIdf(const ModelShape& shape, const Examples& shard,
                                                  int64_t examples, Communicator* communicator) {
  std::vector<int64_t> counts(static_cast<size_t>(shape.vocab_size), 0);
  for (int64_t i = 0; i < shard.size(); ++i) {
    text::CountDocumentFrequencies(
        absl::MakeConstSpan(shard.ids.data() + i * shape.max_length, shape.max_length),
        absl::MakeSpan(counts));
  }
  if (communicator != nullptr) {
    // Counts below 2^24 are exact in float32; the set is far smaller.
    std::vector<float> sums(counts.begin(), counts.end());
    if (absl::Status status = communicator->AllReduceSum(absl::MakeSpan(sums)); !status.ok())
      return status;
    for (size_t j = 0; j < sums.size(); ++j) counts[j] = static_cast<int64_t>(sums[j]);
  }
  return text::InverseDocumentFrequencies(counts, examples);
}

}  // namespace

Examples ShardExamples(const Examples& all, int max_length, int rank, int world_size) {
  Examples shard;
  for (int64_t i = rank; i < all.size(); i += world_size) {
    shard.labels.push_back(all.labels[i]);
    shard.ids.insert(shard.ids.end(), all.ids.begin() + i * max_length,
                     all.ids.begin() + (i + 1) * max_length);
  }
  return shard;
}

Trainer::Trainer(const ModelShape& shape, const TrainingOptions& options, Examples shard,
                 Communicator* communicator, int64_t examples)
    : shape_(shape),
      options_(options),
      shard_(std::move(shard)),
      communicator_(communicator),
      rank_(communicator ? communicator->rank() : 0),
      world_size_(communicator ? communicator->world_size() : 1),
      examples_(examples),
      params_(Parameters::Initial(shape, options.seed)),
      schedule_(AdamOptions{options.learning_rate}),
      dense_adam_(params_.layout.size),
      row_adam_(shape.vocab_size, shape.embedding_dim),
      dense_gradient_(static_cast<size_t>(params_.layout.size)) {}

absl::StatusOr<std::unique_ptr<Trainer>> Trainer::Create(const ModelShape& shape,
                                                         const TrainingOptions& options,
                                                         Examples shard,
                                                         Communicator* communicator) {
  if (absl::Status status = ValidateShape(shape); !status.ok()) return status;
  if (absl::Status status = ValidateOptions(options); !status.ok()) return status;
  if (absl::Status status = ValidateExamples(shape, shard); !status.ok()) return status;
  if (options.threads > 0) SetIntraOpThreads(options.threads);

  int64_t examples = shard.size();
  if (communicator != nullptr) {
    // The shard sizes tell the whole set's size, and whether the shards fit
    // together at all.
    float count = static_cast<float>(shard.size());
    if (absl::Status status = communicator->AllReduceSum(absl::MakeSpan(&count, 1)); !status.ok())
      return status;
    examples = static_cast<int64_t>(count);
    const int64_t expected = ShardSize(examples, communicator->rank(), communicator->world_size());
    if (shard.size() != expected) {
      return absl::InvalidArgumentError(absl::StrCat(
          "training data: rank ", communicator->rank(), " holds ", shard.size(),
          " examples, but its shard of ", examples, " over ", communicator->world_size(),
          " ranks has ", expected, " (see ShardExamples)"));
    }
  }
  if (examples == 0) return absl::InvalidArgumentError("training data: no examples");
  if (examples >= (int64_t{1} << 24)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "training data: ", examples, " examples; at most 2^24 - 1 are supported"));
  }
  std::vector<float> idf;
  if (shape.tfidf()) {
    absl::StatusOr<std::vector<float>> computed =
        TrainingSetIdf(shape, shard, examples, communicator);
    if (!computed.ok()) return computed.status();
    idf = std::move(*computed);
  }
  try {
    std::unique_ptr<Trainer> trainer(
        new Trainer(shape, options, std::move(shard), communicator, examples));
    trainer->params_.idf = std::move(idf);
    if (shape.tfidf()) trainer->CacheFeatures();
    return trainer;
  } catch (const std::exception& error) {
    return absl::ResourceExhaustedError(
        absl::StrCat("training: cannot allocate the model: ", error.what()));
  }
}

absl::StatusOr<EpochMetrics> Trainer::RunEpoch(const ProgressCallback& progress,
                                               const CancelCheck& cancelled) {
  if (!interrupted_.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("training: an earlier epoch stopped half-way (", interrupted_.message(),
                     "); restore a checkpoint first"));
  }
  if (done()) {
    return absl::FailedPreconditionError(
        absl::StrCat("training: all ", options_.epochs, " epochs are done"));
  }
  absl::StatusOr<EpochMetrics> metrics;
  try {
    metrics = TrainEpoch(progress, cancelled);
  } catch (const std::exception& error) {
    metrics = absl::InternalError(absl::StrCat("training: ", error.what()));
  }
  if (!metrics.ok()) interrupted_ = metrics.status();
  return metrics;
}

absl::StatusOr<EpochMetrics> Trainer::TrainEpoch(const ProgressCallback& progress,
                                                 const CancelCheck& cancelled) {
  const auto start = std::chrono::steady_clock::now();
  const int epoch = epochs_done_ + 1;
  const std::vector<int64_t> order =
      Permutation(examples_, DeriveSeed(options_.seed, kShuffleStream + epoch));
  const int64_t steps = (examples_ + options_.batch_size - 1) / options_.batch_size;
  const int classes = shape_.num_classes;
  double epoch_loss = 0;
  int64_t epoch_correct = 0;

  for (int64_t batch = 0; batch < steps; ++batch) {
    if (cancelled && cancelled()) {
      return absl::CancelledError(absl::StrCat("training: cancelled in epoch ", epoch,
                                               " before step ", batch + 1, " of ", steps));
    }
    GatherBatch(order, batch, epoch);
    const int64_t rows = static_cast<int64_t>(batch_labels_.size());
    const WeightsView weights = params_.view();
    pass_.Forward(weights, batch_ids_.data(), rows,
                  shape_.dropout > 0 ? dropout_scale_.data() : nullptr,
                  shape_.tfidf() ? &batch_features_ : nullptr);
    logits_gradient_.resize(static_cast<size_t>(rows * classes));
    // Gradients of the global batch's mean loss: summed over ranks they are
    // exactly the single-rank gradients.
    const LossSums sums =
        SoftmaxCrossEntropy(pass_.logits(), batch_labels_.data(), rows, classes,
                            1.0f / static_cast<float>(global_batch_size_), logits_gradient_.data());
    pass_.Backward(weights, batch_ids_.data(), logits_gradient_.data(), dense_gradient_.data(),
                   &local_rows_);

    double loss_sum = sums.loss;
    int64_t correct = sums.correct;
    const SparseRows* embedding_gradient = &local_rows_;
    if (communicator_ != nullptr) {
      if (absl::Status status = Exchange(&loss_sum, &correct); !status.ok()) return status;
      embedding_gradient = &merged_rows_;
    }

    ++step_;
    schedule_.Extend(step_);
    dense_adam_.Step(schedule_, step_, dense_gradient_.data(), params_.dense.data());
    row_adam_.Step(schedule_, step_, *embedding_gradient, params_.embedding.data());

    epoch_loss += loss_sum;
    epoch_correct += correct;
    if (progress) {
      progress({epoch, batch + 1, steps, static_cast<float>(loss_sum / global_batch_size_)});
    }
  }
  // Rows the last steps skipped catch up, so the state is dense Adam's and
  // can be checkpointed or exported as is.
  row_adam_.CatchUpAll(schedule_, step_, params_.embedding.data());
  ++epochs_done_;

  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  EpochMetrics metrics;
  metrics.epoch = epoch;
  metrics.examples = examples_;
  metrics.mean_loss = epoch_loss / static_cast<double>(examples_);
  metrics.accuracy = static_cast<double>(epoch_correct) / static_cast<double>(examples_);
  metrics.seconds = elapsed.count();
  metrics.samples_per_second = static_cast<double>(examples_) / elapsed.count();
  return metrics;
}

void Trainer::GatherBatch(const std::vector<int64_t>& order, int64_t batch, int epoch) {
  const int64_t begin = batch * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, examples_);
  global_batch_size_ = end - begin;
  const int length = shape_.max_length;
  batch_ids_.clear();
  batch_features_.Clear();
  batch_labels_.clear();
  dropout_scale_.clear();
  for (int64_t i = begin; i < end; ++i) {
    const int64_t example = order[i];
    if (example % world_size_ != rank_) continue;
    const int64_t local = example / world_size_;
    batch_labels_.push_back(shard_.labels[local]);
    if (shape_.tfidf()) {
      batch_features_.AppendRow(shard_features_, local);
    } else {
      batch_ids_.insert(batch_ids_.end(), shard_.ids.begin() + local * length,
                        shard_.ids.begin() + (local + 1) * length);
    }
    if (shape_.dropout > 0) AppendDropoutMask(epoch, example);
  }
}

void Trainer::CacheFeatures() {
  shard_features_ = ComputeFeatures(params_.view(), shard_.ids.data(), shard_.size());
  shard_.ids = {};
}

void Trainer::AppendDropoutMask(int epoch, int64_t example) {
  // Inverted dropout, as TF.js trains it: kept units are scaled by
  // 1 / (1 - rate) so that inference needs no correction.
  Random random(DeriveSeed(DeriveSeed(options_.seed, kDropoutStream + epoch), example));
  const float keep = 1.0f / (1.0f - shape_.dropout);
  for (int h = 0; h < shape_.hidden_units; ++h) {
    dropout_scale_.push_back(random.Uniform01() < shape_.dropout ? 0.0f : keep);
  }
}

absl::Status Trainer::Exchange(double* loss_sum, int64_t* correct) {
  // One all-reduce carries the dense gradients, the loss and hit counts, and
  // how many embedding rows each rank touched.
  const size_t dense_size = dense_gradient_.size();
  reduce_buffer_.assign(dense_size + 2 + world_size_, 0.0f);
  std::copy(dense_gradient_.begin(), dense_gradient_.end(), reduce_buffer_.begin());
  reduce_buffer_[dense_size] = static_cast<float>(*loss_sum);
  reduce_buffer_[dense_size + 1] = static_cast<float>(*correct);
  reduce_buffer_[dense_size + 2 + rank_] = static_cast<float>(local_rows_.ids().size());
  if (absl::Status status = communicator_->AllReduceSum(absl::MakeSpan(reduce_buffer_));
      !status.ok())
    return status;
  std::copy_n(reduce_buffer_.begin(), dense_size, dense_gradient_.begin());
  *loss_sum = reduce_buffer_[dense_size];
  *correct = static_cast<int64_t>(reduce_buffer_[dense_size + 1]);
  std::vector<int64_t> row_counts(world_size_);
  for (int rank = 0; rank < world_size_; ++rank) {
    row_counts[rank] = static_cast<int64_t>(reduce_buffer_[dense_size + 2 + rank]);
  }

  // The touched rows, as (id, values) records padded to the largest count:
  // a few thousand rows instead of the whole table.
  const int dim = shape_.embedding_dim;
  const int64_t record = dim + 1;
  const int64_t max_rows = *std::max_element(row_counts.begin(), row_counts.end());
  gather_send_.assign(static_cast<size_t>(max_rows * record), 0.0f);
  const std::vector<int32_t>& ids = local_rows_.ids();
  for (size_t i = 0; i < ids.size(); ++i) {
    float* out = gather_send_.data() + i * record;
    out[0] = IdBits(ids[i]);
    std::copy_n(local_rows_.values() + i * dim, dim, out + 1);
  }
  gather_receive_.resize(gather_send_.size() * world_size_);
  if (absl::Status status = communicator_->AllGather(gather_send_, absl::MakeSpan(gather_receive_));
      !status.ok())
    return status;

  // Summed in rank order, so every rank gets the same bits.
  merged_rows_.Reset(shape_.vocab_size, dim);
  for (int rank = 0; rank < world_size_; ++rank) {
    const float* records = gather_receive_.data() + rank * max_rows * record;
    for (int64_t i = 0; i < row_counts[rank]; ++i) {
      const float* in = records + i * record;
      const int32_t id = IdFromBits(in[0]);
      if (id < 0 || id >= shape_.vocab_size) {
        return absl::DataLossError(
            absl::StrCat("distributed: rank ", rank, " sent embedding row ", id));
      }
      float* row = merged_rows_.Row(id);
      for (int d = 0; d < dim; ++d) row[d] += in[1 + d];
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> Trainer::SaveCheckpoint() const {
  if (!interrupted_.ok()) {
    return absl::FailedPreconditionError(
        "training: no checkpoint of an epoch that stopped half-way");
  }
  TrainingState state;
  state.shape = shape_;
  state.batch_size = options_.batch_size;
  state.learning_rate = options_.learning_rate;
  state.seed = options_.seed;
  state.examples = examples_;
  state.epochs_done = epochs_done_;
  state.step = step_;
  state.embedding = params_.embedding;
  state.dense = params_.dense;
  state.embedding_first_moment = row_adam_.first_moment();
  state.embedding_second_moment = row_adam_.second_moment();
  state.dense_first_moment = dense_adam_.first_moment();
  state.dense_second_moment = dense_adam_.second_moment();
  return EncodeCheckpoint(state);
}

absl::Status Trainer::RestoreCheckpoint(const std::string& bytes) {
  absl::StatusOr<TrainingState> state = DecodeCheckpoint(bytes);
  if (!state.ok()) return state.status();
  if (!SameShape(state->shape, shape_)) {
    return absl::FailedPreconditionError("checkpoint: it is of a model of another shape");
  }
  if (state->batch_size != options_.batch_size || state->learning_rate != options_.learning_rate ||
      state->seed != options_.seed || state->examples != examples_) {
    return absl::FailedPreconditionError(
        absl::StrCat("checkpoint: it was trained with batch_size ", state->batch_size,
                     ", learning_rate ", state->learning_rate, ", seed ", state->seed, " on ",
                     state->examples, " examples; this run has ", options_.batch_size, ", ",
                     options_.learning_rate, ", ", options_.seed, ", ", examples_));
  }
  epochs_done_ = state->epochs_done;
  step_ = state->step;
  params_.embedding = std::move(state->embedding);
  params_.dense = std::move(state->dense);
  dense_adam_.first_moment() = std::move(state->dense_first_moment);
  dense_adam_.second_moment() = std::move(state->dense_second_moment);
  row_adam_.Restore(std::move(state->embedding_first_moment),
                    std::move(state->embedding_second_moment), step_);
  interrupted_ = absl::OkStatus();
  return absl::OkStatus();
}

absl::Status Trainer::ImportWeights(const ModelWeights& weights) {
  if (absl::Status status = weights.Validate(); !status.ok()) return status;
  if (!SameShape(weights.shape, shape_)) {
    return absl::InvalidArgumentError("training: the weights are of a model of another shape");
  }
  if (weights.idf != params_.idf) {
    // The cached features were weighted with this training set's idf.
    return absl::InvalidArgumentError(
        "training: the weights' idf is not the one of this trainer's training set");
  }
  params_ = Parameters::FromWeights(weights);
  dense_adam_ = DenseAdam(params_.layout.size);
  row_adam_ = RowAdam(shape_.vocab_size, shape_.embedding_dim);
  epochs_done_ = 0;
  step_ = 0;
  interrupted_ = absl::OkStatus();
  return absl::OkStatus();
}

}  // namespace kiln::model
