#include "services/registry/bundle_archive.h"

#include <archive.h>
#include <archive_entry.h>

#include "absl/strings/str_cat.h"

namespace kiln::registry {
namespace {

la_ssize_t AppendToString(struct archive*, void* out, const void* data, size_t size) {
  static_cast<std::string*>(out)->append(static_cast<const char*>(data), size);
  return static_cast<la_ssize_t>(size);
}

absl::Status ArchiveError(struct archive* archive, absl::string_view doing) {
  return absl::InternalError(absl::StrCat("tar.gz: ", doing, ": ", archive_error_string(archive)));
}

}  // namespace

absl::StatusOr<std::string> MakeTarGz(const std::vector<ArchiveFile>& files,
                                      int64_t mtime_seconds) {
  std::string out;
  std::unique_ptr<struct archive, decltype(&archive_write_free)> archive(archive_write_new(),
                                                                        archive_write_free);
  struct archive* writer = archive.get();
  // pax only where ustar cannot hold a path; no gzip timestamp: both keep
  // the output a function of the files alone.
  if (archive_write_set_format_pax_restricted(writer) != ARCHIVE_OK ||
      archive_write_add_filter_gzip(writer) != ARCHIVE_OK ||
      archive_write_set_options(writer, "gzip:!timestamp") != ARCHIVE_OK) {
    return ArchiveError(writer, "setting up");
  }
  if (archive_write_open(writer, &out, nullptr, AppendToString, nullptr) != ARCHIVE_OK) {
    return ArchiveError(writer, "opening");
  }
  std::unique_ptr<struct archive_entry, decltype(&archive_entry_free)> entry(archive_entry_new(),
                                                                            archive_entry_free);
  for (const ArchiveFile& file : files) {
    archive_entry_clear(entry.get());
    archive_entry_set_pathname(entry.get(), file.path.c_str());
    archive_entry_set_filetype(entry.get(), AE_IFREG);
    archive_entry_set_perm(entry.get(), 0644);
    archive_entry_set_size(entry.get(), static_cast<la_int64_t>(file.bytes->size()));
    archive_entry_set_mtime(entry.get(), static_cast<time_t>(mtime_seconds), 0);
    archive_entry_set_uid(entry.get(), 0);
    archive_entry_set_gid(entry.get(), 0);
    if (archive_write_header(writer, entry.get()) != ARCHIVE_OK) {
      return ArchiveError(writer, absl::StrCat("writing the header of ", file.path));
    }
    if (!file.bytes->empty() &&
        archive_write_data(writer, file.bytes->data(), file.bytes->size()) !=
            static_cast<la_ssize_t>(file.bytes->size())) {
      return ArchiveError(writer, absl::StrCat("writing ", file.path));
    }
  }
  if (archive_write_close(writer) != ARCHIVE_OK) return ArchiveError(writer, "closing");
  return out;
}

}  // namespace kiln::registry
