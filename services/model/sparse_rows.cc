#include "services/model/sparse_rows.h"

#include <cstddef>

namespace kiln::model {

void SparseRows::Reset(int64_t table_rows, int width) {
  if (static_cast<int64_t>(slot_of_.size()) != table_rows) {
    slot_of_.assign(static_cast<size_t>(table_rows), -1);
  } else {
    for (int32_t id : ids_) slot_of_[id] = -1;
  }
  width_ = width;
  ids_.clear();
  values_.clear();
}

float* SparseRows::Row(int32_t id) {
  int32_t& slot = slot_of_[id];
  if (slot < 0) {
    slot = static_cast<int32_t>(ids_.size());
    ids_.push_back(id);
    values_.resize(values_.size() + static_cast<size_t>(width_), 0.0f);
  }
  return values_.data() + static_cast<size_t>(slot) * width_;
}

}  // namespace kiln::model
