// The embedding gradient of one step: only the rows the batch touched.
#pragma once

#include <cstdint>
#include <vector>

namespace kiln::model {

class SparseRows {
 public:
  // Empties the set for rows of `width` floats out of a table of
  // `table_rows`; costs only the rows held before.
  void Reset(int64_t table_rows, int width);

  // The accumulator of row `id`, zeroed the first time it is asked for.
  // Valid until the next call to Row or Reset.
  float* Row(int32_t id);

  // Row ids in the order they were first touched, and their values
  // ([ids().size(), width] row-major).
  const std::vector<int32_t>& ids() const { return ids_; }
  const float* values() const { return values_.data(); }
  float* mutable_values() { return values_.data(); }
  int width() const { return width_; }

 private:
  int width_ = 0;
  // Position of a row in ids_, -1 when absent: a table-sized index is faster
  // than hashing at ~16K lookups per step.
  std::vector<int32_t> slot_of_;
  std::vector<int32_t> ids_;
  std::vector<float> values_;
};

}  // namespace kiln::model
