// SHA-256 as lower-case hex, the digest format of every Kiln content hash.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace kiln {

std::string Sha256Hex(absl::string_view data);

// Incremental form for data that arrives in pieces (streams, files).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(absl::string_view data);
  // Returns the digest; the object must not be updated afterwards.
  std::string HexDigest();

 private:
  struct State;
  State* state_;
};

bool IsSha256Hex(absl::string_view text);

}  // namespace kiln
