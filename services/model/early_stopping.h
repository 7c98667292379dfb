// Which epoch a job ships and when its training stops: the best epoch is the
// one with the lowest validation loss (the first of equal ones; without
// validation, simply the last), and training stops once `patience` epochs in
// a row have not beaten it.
#pragma once

#include <limits>
#include <optional>

#include "absl/status/status.h"

namespace kiln::model {

struct EarlyStoppingState {
  int last_epoch = 0;  // 0 before the first
  int best_epoch = 0;  // 0 before the first
  // The best epoch's validation loss; +inf without validation.
  double best_loss = std::numeric_limits<double>::infinity();
};

class EarlyStopping {
 public:
  // patience 0 never stops early (the best epoch is still tracked).
  explicit EarlyStopping(int patience);

  // Records the next epoch, last_epoch + 1, with its validation loss
  // (nullopt without validation). Returns whether it is now the best. A NaN
  // loss counts as +inf: never better than a number.
  bool Record(std::optional<double> validation_loss);

  bool ShouldStop() const {
    return patience_ > 0 && state_.best_epoch > 0 &&
           state_.last_epoch - state_.best_epoch >= patience_;
  }
  const EarlyStoppingState& state() const { return state_; }

  // Continues from a saved state; InvalidArgument when it is not one that
  // Record can produce.
  absl::Status Restore(const EarlyStoppingState& state);

 private:
  int patience_;
  EarlyStoppingState state_;
};

}  // namespace kiln::model
