// Intra-op parallelism on ATen's thread pool, behind a header free of
// libtorch so that the training loop compiles without torch headers.
#pragma once

#include <cstdint>
#include <functional>

namespace kiln::model {

// Calls `body(chunk_begin, chunk_end)` on disjoint chunks covering
// [begin, end), in parallel when the range holds more than `grain` items.
// Bodies must not depend on how the range is chunked.
void ParallelFor(int64_t begin, int64_t end, int64_t grain,
                 const std::function<void(int64_t, int64_t)>& body);

// Sets the process-wide intra-op thread count (ATen and its BLAS).
void SetIntraOpThreads(int threads);

}  // namespace kiln::model
