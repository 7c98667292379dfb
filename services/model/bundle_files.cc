#include "services/model/bundle_files.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "services/model/bundle_manifest.h"

namespace kiln::model {
namespace {

namespace fs = std::filesystem;

// No file of a real bundle comes near this; it stops a stray huge file from
// being read into memory whole.
constexpr std::uintmax_t kMaxFileBytes = 256u << 20;

absl::Status WriteFile(const fs::path& path, const std::string& contents) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("could not write ", path.string()));
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const fs::path& path) {
  std::error_code error;
  const std::uintmax_t size = fs::file_size(path, error);
  if (error) {
    return absl::NotFoundError(absl::StrCat("bundle file ", path.string(), ": ", error.message()));
  }
  if (size > kMaxFileBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("bundle file ", path.string(), " is ", size, " bytes, over the limit of ",
                     kMaxFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  std::string contents((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return absl::InternalError(absl::StrCat("could not read ", path.string()));
  return contents;
}

}  // namespace

bool IsBundleFileName(absl::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.') return false;
  for (char c : name) {
    const bool allowed = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

absl::Status WriteBundleDirectory(const BundleFiles& files, const std::string& directory) {
  if (files.count(kManifestFile) == 0) {
    return absl::InvalidArgumentError("a bundle without manifest.json cannot be written");
  }
  for (const auto& [name, contents] : files) {
    if (!IsBundleFileName(name)) {
      return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a bundle file name"));
    }
  }
  std::error_code error;
  fs::create_directories(directory, error);
  if (error) {
    return absl::InternalError(absl::StrCat("could not create ", directory, ": ", error.message()));
  }
  for (const auto& [name, contents] : files) {
    if (name == kManifestFile) continue;
    if (absl::Status s = WriteFile(fs::path(directory) / name, contents); !s.ok()) return s;
  }
  return WriteFile(fs::path(directory) / kManifestFile, files.at(kManifestFile));
}

absl::StatusOr<BundleFiles> ReadBundleDirectory(const std::string& directory) {
  BundleFiles files;
  absl::StatusOr<std::string> manifest_json = ReadFile(fs::path(directory) / kManifestFile);
  if (!manifest_json.ok()) return manifest_json.status();
  absl::StatusOr<BundleManifest> manifest = ParseManifest(*manifest_json);
  if (!manifest.ok()) return manifest.status();
  files[kManifestFile] = *std::move(manifest_json);
  for (const BundleFileEntry& entry : manifest->files) {
    absl::StatusOr<std::string> contents = ReadFile(fs::path(directory) / entry.path);
    if (!contents.ok()) return contents.status();
    files[entry.path] = *std::move(contents);
  }
  return files;
}

}  // namespace kiln::model
