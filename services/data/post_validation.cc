#include "services/data/post_validation.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "services/common/sha256.h"
#include "services/common/validation.h"

namespace kiln::data {
namespace {

kiln::v1::Rejection Reject(const char* field, std::string reason) {
  kiln::v1::Rejection rejection;
  rejection.set_field(field);
  rejection.set_reason(std::move(reason));
  return rejection;
}

}  // namespace

std::optional<kiln::v1::Rejection> ValidateYear(int64_t year) {
  if (year >= kMinYear && year <= kMaxYear) return std::nullopt;
  return Reject("year", absl::StrCat("year ", year, " is outside ", kMinYear, "..", kMaxYear));
}

std::optional<kiln::v1::Rejection> ValidatePost(const kiln::v1::PostInput& post) {
  if (post.body().empty()) return Reject("body", "body is empty");
  if (post.body().size() > kMaxBodyBytes) {
    return Reject("body", absl::StrCat("body is ", post.body().size(),
                                       " bytes, over the limit of 1 MiB (1048576 bytes)"));
  }
  if (!IsValidUtf8(post.body())) return Reject("body", "body is not valid UTF-8");
  // PostgreSQL text cannot hold U+0000.
  if (post.body().find('\0') != std::string::npos) {
    return Reject("body", "body contains a NUL character (U+0000)");
  }
  if (post.category().empty()) return Reject("category", "category is missing");
  if (!IsValidCategory(post.category())) {
    return Reject("category",
                  absl::StrCat("category \"", absl::CHexEscape(post.category().substr(0, 64)),
                               "\" is malformed: use 1..128 characters of A-Z a-z 0-9 . _ + -"));
  }
  if (std::optional<kiln::v1::Rejection> year = ValidateYear(post.year())) return year;
  if (post.source().size() > kMaxSourceBytes || !IsValidUtf8(post.source()) ||
      post.source().find('\0') != std::string::npos) {
    return Reject("source", "source must be at most 512 bytes of UTF-8 without NUL");
  }
  return std::nullopt;
}

std::string PostContentHash(const kiln::v1::PostInput& post) {
  Sha256 hash;
  // NUL separators keep ("ab", "c") and ("a", "bc") apart.
  hash.Update(post.category());
  hash.Update(absl::string_view("\0", 1));
  hash.Update(absl::StrCat(post.year()));
  hash.Update(absl::string_view("\0", 1));
  hash.Update(post.body());
  return hash.HexDigest();
}

}  // namespace kiln::data
