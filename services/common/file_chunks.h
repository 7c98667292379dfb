// Files carried by gRPC streams as kiln.v1.FileChunk messages: at most
// 1 MiB each, increasing offsets, `last` on the final one.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/strings/string_view.h"
#include "kiln/v1/common.pb.h"

namespace kiln {

inline constexpr size_t kMaxFileChunkBytes = size_t{1} << 20;

// Calls `send` with each chunk of `bytes` in order (an empty file is one
// empty last chunk). Stops when `send` returns false, and returns false then.
bool SendFileChunks(const std::string& path, absl::string_view bytes,
                    const std::function<bool(const kiln::v1::FileChunk&)>& send);

}  // namespace kiln
