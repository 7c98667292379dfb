#include "services/model/early_stopping.h"

#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"

namespace kiln::model {

EarlyStopping::EarlyStopping(int patience) : patience_(patience) {}

bool EarlyStopping::Record(std::optional<double> validation_loss) {
  ++state_.last_epoch;
  const double loss = validation_loss && !std::isnan(*validation_loss)
                          ? *validation_loss
                          : std::numeric_limits<double>::infinity();
  // Without validation every epoch is the best: the last one ships.
  const bool best = !validation_loss || state_.best_epoch == 0 || loss < state_.best_loss;
  if (best) {
    state_.best_epoch = state_.last_epoch;
    state_.best_loss = loss;
  }
  return best;
}

absl::Status EarlyStopping::Restore(const EarlyStoppingState& state) {
  if (state.last_epoch < 0 || state.best_epoch < 0 || state.best_epoch > state.last_epoch ||
      (state.best_epoch == 0) != (state.last_epoch == 0) || std::isnan(state.best_loss)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "early stopping: best epoch ", state.best_epoch, " of ", state.last_epoch,
        " with loss ", state.best_loss, " is not a state training can reach"));
  }
  state_ = state;
  return absl::OkStatus();
}

}  // namespace kiln::model
