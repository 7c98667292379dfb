#include "services/training/job_spec.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "services/common/names.h"
#include "services/common/status.h"
#include "services/common/validation.h"

namespace kiln::training {
namespace {

constexpr const char* kDefaultTopics[] = {
    "comp.graphics",    "comp.sys.mac.hardware", "rec.autos",          "rec.sport.hockey",
    "sci.med",          "sci.space",             "talk.politics.guns", "soc.religion.christian"};

void SetRange(google::protobuf::RepeatedPtrField<kiln::v1::YearRange>* ranges, int first,
              int last) {
  auto* range = ranges->Add();
  range->set_first(first);
  range->set_last(last);
}

constexpr int kTfidfHiddenUnits = 48;

absl::Status CheckRange(const char* field, int64_t value, int64_t low, int64_t high) {
  if (value < low || value > high) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.", field, " is ", value, "; allowed: ", low, "..", high));
  }
  return absl::OkStatus();
}

// The article's model with the hyperparameters of
// shared/bench/torch_baseline.py.
void ApplyArticleDefaults(kiln::v1::JobSpec& spec) {
  if (spec.embedding_dim() == 0) spec.set_embedding_dim(64);
  if (spec.hidden_units() == 0) spec.set_hidden_units(2 * spec.embedding_dim());
  if (spec.pooling() == kiln::v1::POOLING_UNSPECIFIED) {
    spec.set_pooling(kiln::v1::POOLING_GLOBAL_AVERAGE);
  }
  if (spec.epochs() == 0) spec.set_epochs(15);
  if (spec.batch_size() == 0) spec.set_batch_size(64);
  if (spec.learning_rate() == 0) spec.set_learning_rate(5e-3);
  if (!spec.has_dropout()) spec.set_dropout(0);
}

// The bag of words: its first kernel is the table, so embedding_dim is
// hidden_units; validation decides when to stop (docs/models.md has the
// measurements behind these values).
void ApplyTfidfDefaults(kiln::v1::JobSpec& spec) {
  if (spec.hidden_units() == 0) spec.set_hidden_units(kTfidfHiddenUnits);
  if (spec.embedding_dim() == 0) spec.set_embedding_dim(spec.hidden_units());
  if (spec.epochs() == 0) spec.set_epochs(30);
  if (spec.batch_size() == 0) spec.set_batch_size(64);
  if (spec.learning_rate() == 0) spec.set_learning_rate(5e-3);
  if (!spec.has_dropout()) spec.set_dropout(0.5);
}

absl::Status ValidateArchitecture(const kiln::v1::JobSpec& spec) {
  if (!(spec.dropout() >= 0 && spec.dropout() <= 0.9)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.dropout is ", spec.dropout(), "; allowed: 0..0.9"));
  }
  if (spec.architecture() == kiln::v1::ARCHITECTURE_ARTICLE) {
    if (!kiln::v1::Pooling_IsValid(spec.pooling()) ||
        spec.pooling() == kiln::v1::POOLING_UNSPECIFIED) {
      return absl::InvalidArgumentError("spec.pooling must be GLOBAL_AVERAGE or FLATTEN");
    }
    return absl::OkStatus();
  }
  if (spec.architecture() != kiln::v1::ARCHITECTURE_TFIDF) {
    return absl::InvalidArgumentError("spec.architecture must be ARTICLE or TFIDF");
  }
  if (spec.pooling() != kiln::v1::POOLING_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        "spec.pooling belongs to the ARTICLE architecture; leave it unset with TFIDF");
  }
  if (spec.embedding_dim() != spec.hidden_units()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.embedding_dim (", spec.embedding_dim(), ") must equal spec.hidden_units (",
        spec.hidden_units(), ") with architecture TFIDF: its first kernel is [vocabulary, "
        "hidden_units]; set hidden_units only"));
  }
  return absl::OkStatus();
}

}  // namespace

void ApplyDefaults(kiln::v1::JobSpec& spec, int default_max_attempts) {
  if (spec.model().empty()) spec.set_model("news");
  if (spec.topics().empty()) {
    for (const char* topic : kDefaultTopics) spec.add_topics(topic);
  }
  if (spec.train_years().empty()) SetRange(spec.mutable_train_years(), 1922, 1953);
  if (spec.test_years().empty()) SetRange(spec.mutable_test_years(), 1990, 2000);
  if (spec.vocabulary().min_count() == 0) spec.mutable_vocabulary()->set_min_count(2);
  if (spec.max_length() == 0) spec.set_max_length(256);
  if (spec.architecture() == kiln::v1::ARCHITECTURE_UNSPECIFIED) {
    spec.set_architecture(kiln::v1::ARCHITECTURE_TFIDF);
  }
  if (spec.architecture() == kiln::v1::ARCHITECTURE_TFIDF) {
    ApplyTfidfDefaults(spec);
  } else {
    ApplyArticleDefaults(spec);
  }
  if (spec.world_size() == 0) spec.set_world_size(1);
  if (spec.weight_encoding() == kiln::v1::WEIGHT_ENCODING_UNSPECIFIED) {
    spec.set_weight_encoding(kiln::v1::WEIGHT_ENCODING_FLOAT32);
  }
  if (spec.max_attempts() == 0) spec.set_max_attempts(default_max_attempts);
  // Presence, not zero, marks these unset: 0 turns validation or early
  // stopping off.
  if (!spec.has_validation_fraction()) spec.set_validation_fraction(0.1);
  if (!spec.has_early_stopping_patience()) spec.set_early_stopping_patience(3);
}

absl::Status ValidateJobSpec(const kiln::v1::JobSpec& spec) {
  if (absl::Status valid = ValidateModelName(spec.model(), "spec.model"); !valid.ok()) return valid;
  if (spec.topics_size() < 2 || spec.topics_size() > 100) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.topics has ", spec.topics_size(), " entries; allowed: 2..100"));
  }
  kiln::v1::DatasetSpec train;
  *train.mutable_categories() = spec.topics();
  *train.mutable_years() = spec.train_years();
  *train.mutable_sources() = spec.sources();
  if (absl::Status s = ValidateDatasetSpec(train, "spec"); !s.ok()) {
    // Name the job spec's own fields rather than the derived dataset's.
    std::string message(s.message());
    for (auto [from, to] : {std::pair<const char*, const char*>{"spec.categories", "spec.topics"},
                            {"spec.years", "spec.train_years"}}) {
      if (message.rfind(from, 0) == 0) message = to + message.substr(std::string(from).size());
    }
    return absl::InvalidArgumentError(message);
  }
  if (absl::Status s = ValidateYearRanges(spec.test_years(), "spec.test_years"); !s.ok()) return s;
  for (const auto& train_range : spec.train_years()) {
    for (const auto& test_range : spec.test_years()) {
      if (train_range.first() <= test_range.last() && test_range.first() <= train_range.last()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "spec.test_years ", test_range.first(), "-", test_range.last(),
            " overlaps spec.train_years ", train_range.first(), "-", train_range.last(),
            ": the test split must be disjoint from the training split"));
      }
    }
  }
  if (spec.vocabulary().min_count() < 1) {
    return CheckRange("vocabulary.min_count", spec.vocabulary().min_count(), 1, 1000000000);
  }
  if (spec.vocabulary().max_size() != 0) {
    KILN_RETURN_IF_ERROR(CheckRange("vocabulary.max_size", spec.vocabulary().max_size(), 3,
                                    10000000));
  }
  KILN_RETURN_IF_ERROR(CheckRange("max_length", spec.max_length(), 1, 4096));
  KILN_RETURN_IF_ERROR(CheckRange("embedding_dim", spec.embedding_dim(), 1, 1024));
  KILN_RETURN_IF_ERROR(CheckRange("hidden_units", spec.hidden_units(), 1, 4096));
  if (spec.pooling() == kiln::v1::POOLING_FLATTEN &&
      int64_t{spec.max_length()} * spec.embedding_dim() > (1 << 20)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.max_length × spec.embedding_dim is ", int64_t{spec.max_length()} * spec.embedding_dim(),
        " with pooling FLATTEN; allowed: up to 1048576"));
  }
  KILN_RETURN_IF_ERROR(CheckRange("epochs", spec.epochs(), 1, 1000));
  KILN_RETURN_IF_ERROR(CheckRange("batch_size", spec.batch_size(), 1, 65536));
  if (!(spec.learning_rate() > 0 && spec.learning_rate() <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.learning_rate is ", spec.learning_rate(), "; allowed: (0, 1]"));
  }
  KILN_RETURN_IF_ERROR(CheckRange("world_size", spec.world_size(), 1, 64));
  if (spec.batch_size() < spec.world_size()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spec.batch_size ", spec.batch_size(), " is smaller than spec.world_size ",
        spec.world_size(), ": every rank needs at least one sample per step"));
  }
  if (!kiln::v1::WeightEncoding_IsValid(spec.weight_encoding()) ||
      spec.weight_encoding() == kiln::v1::WEIGHT_ENCODING_UNSPECIFIED) {
    return absl::InvalidArgumentError("spec.weight_encoding must be FLOAT32, FLOAT16 or UINT8");
  }
  KILN_RETURN_IF_ERROR(ValidateArchitecture(spec));
  KILN_RETURN_IF_ERROR(CheckRange("max_attempts", spec.max_attempts(), 1, 100));
  if (!(spec.validation_fraction() >= 0 && spec.validation_fraction() <= 0.5)) {
    return absl::InvalidArgumentError(absl::StrCat("spec.validation_fraction is ",
                                                   spec.validation_fraction(),
                                                   "; allowed: 0..0.5 (0 = no validation)"));
  }
  KILN_RETURN_IF_ERROR(
      CheckRange("early_stopping_patience", spec.early_stopping_patience(), 0, 1000));
  if (spec.description().size() > 1024) {
    return absl::InvalidArgumentError("spec.description is over 1024 bytes");
  }
  return absl::OkStatus();
}

}  // namespace kiln::training
