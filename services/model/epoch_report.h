// What one epoch of a TrainingRun produced: the trainer's figures, the
// validation figures, and whether it is the best epoch so far.
#pragma once

#include <optional>

#include "services/model/trainer.h"
#include "services/model/validation.h"

namespace kiln::model {

struct RunEpochReport {
  EpochMetrics training;
  std::optional<ValidationFigures> validation;  // unset without validation
  // The best epoch so far: its weights ship unless a later epoch beats it.
  bool best = false;
};

}  // namespace kiln::model
