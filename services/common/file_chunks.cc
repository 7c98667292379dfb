#include "services/common/file_chunks.h"

#include <algorithm>

namespace kiln {

bool SendFileChunks(const std::string& path, absl::string_view bytes,
                    const std::function<bool(const kiln::v1::FileChunk&)>& send) {
  kiln::v1::FileChunk chunk;
  chunk.set_path(path);
  size_t offset = 0;
  do {
    const size_t size = std::min(kMaxFileChunkBytes, bytes.size() - offset);
    chunk.set_offset(static_cast<int64_t>(offset));
    chunk.set_data(bytes.data() + offset, size);
    offset += size;
    chunk.set_last(offset == bytes.size());
    if (!send(chunk)) return false;
  } while (offset < bytes.size());
  return true;
}

}  // namespace kiln
