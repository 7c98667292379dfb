// A sweep's plan turned into job specs: each grid axis resolved to a JobSpec
// field through protobuf reflection (so a new scalar field can be swept
// without code here), its values parsed by the field's type, and the
// combinations chosen (all of them, or some drawn at random). No gRPC, no
// database.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kiln/v1/sweep.pb.h"

namespace kiln::training {

// Jobs one sweep may queue.
inline constexpr int kMaxSweepJobs = 256;
inline constexpr int kMaxGridAxes = 16;
inline constexpr int kMaxAxisValues = 256;

// One combination of the grid: the base spec with its values set (defaults
// not applied yet) and those values as written, in grid order.
struct SweepCombination {
  kiln::v1::JobSpec spec;
  std::vector<std::string> values;
};

// Every combination the plan asks for, in grid order: the whole Cartesian
// product (the first axis varying slowest), or random_count distinct ones
// drawn with random_seed (the same plan always draws the same ones).
// InvalidArgument naming what is wrong: the name or description, an
// unknown, repeated or non-scalar field, a value the field's type does not
// take or one given twice, an empty grid or axis, too many combinations.
absl::StatusOr<std::vector<SweepCombination>> ExpandSweep(const kiln::v1::SweepPlan& plan);

// "learning_rate=0.001, hidden_units=64", for messages about a combination.
std::string DescribeCombination(const kiln::v1::SweepPlan& plan,
                                const std::vector<std::string>& values);

}  // namespace kiln::training
