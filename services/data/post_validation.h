// The rules a post must meet to be stored.
#pragma once

#include <cstdint>
#include <optional>

#include "kiln/v1/data.pb.h"

namespace kiln::data {

constexpr size_t kMaxBodyBytes = 1 << 20;
constexpr size_t kMaxSourceBytes = 512;
constexpr int64_t kMinYear = 1;
constexpr int64_t kMaxYear = 9999;

// Why a post's year cannot be stored, or nothing. Takes any integer a source
// may hold, so that a year is judged before it is narrowed to the API's int32.
std::optional<kiln::v1::Rejection> ValidateYear(int64_t year);

// Why `post` cannot be stored, or nothing when it can. The rejection's
// index and source are left for the caller to fill in.
std::optional<kiln::v1::Rejection> ValidatePost(const kiln::v1::PostInput& post);

// The identity of a post: sha256 over category, year and body.
std::string PostContentHash(const kiln::v1::PostInput& post);

}  // namespace kiln::data
