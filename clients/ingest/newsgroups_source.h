// The 20news-bydate tarball as a PostSource, with the article's years:
// train posts get a year in 1922-1953 and test posts one in 1990-2000,
// drawn deterministically from the seed and the post's path.
#pragma once

#include "clients/ingest/post_source.h"

namespace kiln::ingest {

// The year a post gets: the same for the same seed, split, category and id.
int NewsgroupsYear(uint64_t seed, const std::string& split, const std::string& category,
                   const std::string& id);

absl::StatusOr<std::unique_ptr<PostSource>> OpenNewsgroupsSource(const std::string& path,
                                                                 uint64_t seed);

}  // namespace kiln::ingest
