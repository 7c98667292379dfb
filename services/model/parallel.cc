#include "services/model/parallel.h"

#include <ATen/Parallel.h>

namespace kiln::model {

void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t)>& body) {
  at::parallel_for(begin, end, grain, body);
}

void SetIntraOpThreads(int threads) { at::set_num_threads(threads); }

}  // namespace kiln::model
