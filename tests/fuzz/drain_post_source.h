// What `kiln ingest` does with a source before anything is sent: reads every
// post, then applies the data service's own rules to those without a
// problem. Checks the PostSource contract on the way.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "clients/ingest/post_source.h"
#include "services/data/post_validation.h"
#include "tests/fuzz/fuzz_check.h"

namespace kiln::fuzz {

inline void CheckProgress(const ingest::PostSource& source) {
  const double progress = source.Progress();
  FUZZ_CHECK(progress == -1 || (progress >= 0 && progress <= 1));
}

inline void DrainPostSource(absl::StatusOr<std::unique_ptr<ingest::PostSource>> source) {
  if (!source.ok()) {
    FUZZ_CHECK(!source.status().message().empty());
    return;
  }
  FUZZ_CHECK(*source != nullptr);
  ingest::RawPost post;
  for (;;) {
    absl::StatusOr<bool> more = (*source)->Next(post);
    CheckProgress(**source);
    if (!more.ok()) {
      FUZZ_CHECK(!more.status().message().empty());
      return;
    }
    if (!*more) return;
    FUZZ_CHECK(!post.source.empty());
    if (!post.problem.empty() || data::ValidateYear(post.year)) continue;
    kiln::v1::PostInput input;
    input.set_body(post.body);
    input.set_category(post.category);
    input.set_year(static_cast<int32_t>(post.year));
    input.set_source(post.source);
    if (std::optional<kiln::v1::Rejection> rejection = data::ValidatePost(input)) {
      FUZZ_CHECK(!rejection->reason().empty());
    }
  }
}

}  // namespace kiln::fuzz
