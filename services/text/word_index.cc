#include "services/text/word_index.h"

namespace kiln::text {

WordIndex::WordIndex(const std::vector<std::string>& words, int32_t first_id) {
  offsets_.reserve(words.size() + 1);
  for (const std::string& word : words) {
    offsets_.push_back(static_cast<uint32_t>(arena_.size()));
    arena_ += word;
  }
  offsets_.push_back(static_cast<uint32_t>(arena_.size()));

  // At most half full, so that misses (unknown words) stop after a probe or two.
  size_t capacity = 16;
  while (capacity < 2 * words.size()) capacity *= 2;
  slots_.assign(capacity, 0);
  mask_ = capacity - 1;
  // In id order, i.e. most frequent first: those get the slots nearest
  // their hash.
  for (size_t id = static_cast<size_t>(first_id); id < words.size(); ++id) {
    const uint64_t hash = WordHash{}(words[id]);
    // id >= 1 keeps a slot non-zero even when the tag is 0.
    const uint64_t slot = (hash >> 32 << 32) | static_cast<uint32_t>(id);
    uint64_t i = hash & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = slot;
  }
}

}  // namespace kiln::text
