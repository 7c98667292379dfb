// The input layout of bundle_reader_fuzzer, shared with the seed writer: a
// bundle's files one after another, each as a line "--file NAME" and then its
// bytes up to the next "\n--file " or the end.
#pragma once

#include <string>
#include <string_view>

#include "services/model/bundle_files.h"

namespace kiln::fuzz {

inline constexpr std::string_view kFileMarker = "--file ";

inline std::string JoinBundle(const model::BundleFiles& files) {
  std::string joined;
  for (const auto& [name, contents] : files) {
    if (!joined.empty()) joined += '\n';
    joined.append(kFileMarker).append(name).append("\n").append(contents);
  }
  return joined;
}

// Bytes before the first marker are ignored; a later file of the same name
// replaces an earlier one.
inline model::BundleFiles SplitBundle(std::string_view input) {
  // A newline in front makes the first marker look like every other one.
  const std::string text = "\n" + std::string(input);
  const std::string marker = "\n" + std::string(kFileMarker);
  model::BundleFiles files;
  for (size_t at = text.find(marker); at != std::string::npos;) {
    const size_t name_begin = at + marker.size();
    const size_t name_end = text.find('\n', name_begin);
    if (name_end == std::string::npos) break;
    const size_t contents = name_end + 1;
    at = text.find(marker, contents);
    const size_t end = at == std::string::npos ? text.size() : at;
    files[text.substr(name_begin, name_end - name_begin)] = text.substr(contents, end - contents);
  }
  return files;
}

}  // namespace kiln::fuzz
