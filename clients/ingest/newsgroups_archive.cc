#include "clients/ingest/newsgroups_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace kiln::ingest {
namespace {

// Posts are at most a few hundred KB; anything far bigger is not a post.
constexpr int64_t kMaxPostBytes = 16 << 20;

struct ArchiveCloser {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveCloser>;

struct RawPost {
  std::string path;
  std::string latin1;
};

// A newsgroup name or a message file name: keeps what callers store and
// print free of separators and control characters.
bool IsPlainName(const std::string& name) {
  if (name.empty() || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_' || c == '+';
  });
}

absl::Status ArchiveError(archive* a, const std::string& archive_path) {
  const char* message = archive_error_string(a);
  return absl::DataLossError(absl::StrCat(archive_path, " is not a readable tar.gz: ",
                                          message ? message : "unknown libarchive error"));
}

absl::StatusOr<std::vector<RawPost>> ReadRawPosts(const std::string& archive_path) {
  ArchivePtr a(archive_read_new());
  if (a == nullptr) return absl::ResourceExhaustedError("libarchive: out of memory");
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    if (archive_errno(a.get()) == ENOENT) {
      return absl::NotFoundError(absl::StrCat(
          "20news archive not found at ", archive_path,
          " (set KILN_DATASET, or download "
          "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz)"));
    }
    return ArchiveError(a.get(), archive_path);
  }
  std::vector<RawPost> posts;
  while (true) {
    archive_entry* entry = nullptr;
    const int status = archive_read_next_header(a.get(), &entry);
    if (status == ARCHIVE_EOF) break;
    if (status != ARCHIVE_OK && status != ARCHIVE_WARN) {
      return ArchiveError(a.get(), archive_path);
    }
    if (archive_entry_filetype(entry) != AE_IFREG) continue;
    const char* path = archive_entry_pathname(entry);
    if (path == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat(archive_path, " holds a file whose name cannot be read"));
    }
    const int64_t size = archive_entry_size(entry);
    if (size < 0 || size > kMaxPostBytes) {
      return absl::InvalidArgumentError(absl::StrCat(
          archive_path, ": ", path, " has ", size, " bytes, more than a post can have (",
          kMaxPostBytes, ")"));
    }
    RawPost post{path, std::string(static_cast<size_t>(size), '\0')};
    size_t read = 0;
    while (read < post.latin1.size()) {
      const la_ssize_t n =
          archive_read_data(a.get(), post.latin1.data() + read, post.latin1.size() - read);
      if (n < 0) return ArchiveError(a.get(), archive_path);
      if (n == 0) {
        return absl::DataLossError(
            absl::StrCat(archive_path, ": ", path, " ends before its declared size"));
      }
      read += static_cast<size_t>(n);
    }
    posts.push_back(std::move(post));
  }
  return posts;
}

absl::StatusOr<NewsgroupsPost> ParsePath(const std::string& archive_path,
                                         const std::string& path) {
  const std::vector<std::string> parts = absl::StrSplit(path, '/');
  const auto layout_error = [&] {
    return absl::InvalidArgumentError(absl::StrCat(
        archive_path, " holds ", path,
        ", but a 20news-bydate archive holds only "
        "20news-bydate-{train,test}/<newsgroup>/<id>"));
  };
  if (parts.size() != 3 || !IsPlainName(parts[1]) || !IsPlainName(parts[2])) {
    return layout_error();
  }
  NewsgroupsPost post;
  if (parts[0] == "20news-bydate-train") {
    post.split = "train";
  } else if (parts[0] == "20news-bydate-test") {
    post.split = "test";
  } else {
    return layout_error();
  }
  post.category = parts[1];
  post.id = parts[2];
  return post;
}

// Hands each post over by value, so that ReadNewsgroupsArchive can keep
// them without a copy.
absl::Status VisitPosts(const std::string& archive_path,
                        absl::FunctionRef<absl::Status(NewsgroupsPost)> visit) {
  // A tar.gz cannot be read out of order, so the sorted order needs the
  // whole (35 MB) corpus in memory first.
  absl::StatusOr<std::vector<RawPost>> raw = ReadRawPosts(archive_path);
  if (!raw.ok()) return raw.status();
  if (raw->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(archive_path, " holds no 20news-bydate posts"));
  }
  std::sort(raw->begin(), raw->end(),
            [](const RawPost& a, const RawPost& b) { return a.path < b.path; });
  for (RawPost& entry : *raw) {
    absl::StatusOr<NewsgroupsPost> post = ParsePath(archive_path, entry.path);
    if (!post.ok()) return post.status();
    post->body = Latin1ToUtf8(entry.latin1);
    std::string().swap(entry.latin1);  // keep peak memory near one copy
    if (absl::Status status = visit(*std::move(post)); !status.ok()) return status;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ForEachNewsgroupsPost(
    const std::string& archive_path,
    absl::FunctionRef<absl::Status(const NewsgroupsPost&)> visit) {
  return VisitPosts(archive_path, [&](NewsgroupsPost post) { return visit(post); });
}

absl::StatusOr<std::vector<NewsgroupsPost>> ReadNewsgroupsArchive(
    const std::string& archive_path) {
  std::vector<NewsgroupsPost> posts;
  absl::Status status = VisitPosts(archive_path, [&](NewsgroupsPost post) {
    posts.push_back(std::move(post));
    return absl::OkStatus();
  });
  if (!status.ok()) return status;
  return posts;
}

std::string Latin1ToUtf8(std::string_view latin1) {
  std::string utf8;
  utf8.reserve(latin1.size() + latin1.size() / 8);
  for (const char c : latin1) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80) {
      utf8.push_back(c);
    } else {
      utf8.push_back(static_cast<char>(0xC0 | (byte >> 6)));
      utf8.push_back(static_cast<char>(0x80 | (byte & 0x3F)));
    }
  }
  return utf8;
}

std::string NewsgroupsArchivePath(std::string_view repo_root) {
  if (const char* dataset = std::getenv("KILN_DATASET"); dataset != nullptr && *dataset) {
    return dataset;
  }
  return std::string(repo_root) + "/../shared/datasets/20news-bydate.tar.gz";
}

}  // namespace kiln::ingest
