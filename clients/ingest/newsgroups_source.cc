#include "clients/ingest/newsgroups_source.h"

#include "absl/strings/str_cat.h"
#include "clients/ingest/newsgroups_archive.h"

namespace kiln::ingest {
namespace {

// FNV-1a then a splitmix64 finaliser: stable across platforms and runs,
// unlike std::hash.
uint64_t StableHash(uint64_t seed, const std::string& text) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  return h ^ (h >> 31);
}

class NewsgroupsSource final : public PostSource {
 public:
  NewsgroupsSource(std::vector<NewsgroupsPost> posts, uint64_t seed)
      : posts_(std::move(posts)), seed_(seed) {}

  absl::StatusOr<bool> Next(RawPost& post) override {
    if (next_ >= posts_.size()) return false;
    NewsgroupsPost& item = posts_[next_++];
    post = RawPost();
    post.body = std::move(item.body);
    post.category = item.category;
    post.year = NewsgroupsYear(seed_, item.split, item.category, item.id);
    post.source = absl::StrCat("20news-bydate-", item.split, "/", item.category, "/", item.id);
    return true;
  }

  double Progress() const override {
    return posts_.empty() ? 1.0 : static_cast<double>(next_) / static_cast<double>(posts_.size());
  }

 private:
  std::vector<NewsgroupsPost> posts_;
  const uint64_t seed_;
  size_t next_ = 0;
};

}  // namespace

int NewsgroupsYear(uint64_t seed, const std::string& split, const std::string& category,
                   const std::string& id) {
  const uint64_t h = StableHash(seed, absl::StrCat(split, "/", category, "/", id));
  return split == "train" ? 1922 + static_cast<int>(h % 32) : 1990 + static_cast<int>(h % 11);
}

absl::StatusOr<std::unique_ptr<PostSource>> OpenNewsgroupsSource(const std::string& path,
                                                                 uint64_t seed) {
  absl::StatusOr<std::vector<NewsgroupsPost>> posts = ReadNewsgroupsArchive(path);
  if (!posts.ok()) return posts.status();
  return std::unique_ptr<PostSource>(new NewsgroupsSource(*std::move(posts), seed));
}

}  // namespace kiln::ingest
