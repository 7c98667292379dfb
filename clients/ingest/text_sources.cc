#include "clients/ingest/text_sources.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace kiln::ingest {
namespace {

// Column and member names, lower-cased, that mean each field.
bool IsBodyName(const std::string& name) { return name == "body" || name == "text" || name == "data"; }

// Reads a file while tracking how much of it was consumed.
class TrackedFile {
 public:
  static absl::StatusOr<TrackedFile> Open(const std::string& path) {
    TrackedFile file;
    file.in_.open(path, std::ios::binary);
    if (!file.in_) return absl::NotFoundError(absl::StrCat("cannot open ", path));
    file.in_.seekg(0, std::ios::end);
    file.size_ = static_cast<double>(file.in_.tellg());
    file.in_.seekg(0);
    return file;
  }
  bool GetLine(std::string& line) {
    if (!std::getline(in_, line)) return false;
    consumed_ += static_cast<double>(line.size() + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  double Progress() const { return size_ > 0 ? std::min(1.0, consumed_ / size_) : -1; }

 private:
  std::ifstream in_;
  double size_ = 0;
  double consumed_ = 0;
};

class JsonlSource final : public PostSource {
 public:
  JsonlSource(std::string path, TrackedFile file) : path_(std::move(path)), file_(std::move(file)) {}

  absl::StatusOr<bool> Next(RawPost& post) override {
    std::string line;
    do {
      if (!file_.GetLine(line)) return false;
      ++line_number_;
    } while (absl::StripAsciiWhitespace(line).empty());
    post = RawPost();
    post.source = absl::StrCat(path_, ":", line_number_);
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!record.is_object()) {
      post.problem = "line is not a JSON object";
      return true;
    }
    for (const auto& [key, value] : record.items()) {
      const std::string name = absl::AsciiStrToLower(key);
      if (IsBodyName(name) && value.is_string()) {
        post.body = value.get<std::string>();
      } else if (name == "category" && value.is_string()) {
        post.category = value.get<std::string>();
      } else if (name == "year") {
        if (value.is_number_unsigned()) {
          // Saturated: anything past int64 is as far outside 1..9999.
          const uint64_t year = value.get<uint64_t>();
          post.year = year > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(year);
        } else if (value.is_number_integer()) {
          post.year = value.get<int64_t>();
        } else {
          post.problem = "\"year\" is not an integer";
        }
      } else if (name == "source" && value.is_string()) {
        post.source = value.get<std::string>();
      }
    }
    return true;
  }

  double Progress() const override { return file_.Progress(); }

 private:
  const std::string path_;
  TrackedFile file_;
  int64_t line_number_ = 0;
};

class CsvSource final : public PostSource {
 public:
  CsvSource(std::string path, TrackedFile file) : path_(std::move(path)), file_(std::move(file)) {}

  absl::Status ReadHeader() {
    std::vector<std::string> header;
    if (!ReadRecord(header)) return absl::InvalidArgumentError(absl::StrCat(path_, " is empty"));
    for (size_t i = 0; i < header.size(); ++i) {
      const std::string name = absl::AsciiStrToLower(absl::StripAsciiWhitespace(header[i]));
      if (IsBodyName(name)) body_ = static_cast<int>(i);
      if (name == "category") category_ = static_cast<int>(i);
      if (name == "year") year_ = static_cast<int>(i);
      if (name == "source") source_ = static_cast<int>(i);
    }
    if (body_ < 0 || category_ < 0 || year_ < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          path_, ": the header row must name the columns body (or text), category and year"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> Next(RawPost& post) override {
    std::vector<std::string> fields;
    int64_t first_line;
    do {  // blank lines separate nothing in CSV: skipped, as in JSONL
      first_line = line_number_ + 1;
      if (!ReadRecord(fields)) return false;
    } while (blank_record_);
    post = RawPost();
    post.source = absl::StrCat(path_, ":", first_line);
    const int needed = std::max({body_, category_, year_, source_}) + 1;
    if (static_cast<int>(fields.size()) < needed) {
      post.problem = absl::StrCat("record has ", fields.size(), " fields, the header ", needed);
      return true;
    }
    if (!unterminated_quote_.empty()) post.problem = unterminated_quote_;
    post.body = fields[body_];
    post.category = fields[category_];
    if (source_ >= 0 && !fields[source_].empty()) post.source = fields[source_];
    const std::string year = std::string(absl::StripAsciiWhitespace(fields[year_]));
    char* end = nullptr;
    // strtoll saturates on overflow, which stays outside 1..9999.
    const long long value = std::strtoll(year.c_str(), &end, 10);
    if (year.empty() || *end != '\0') {
      if (post.problem.empty()) {
        post.problem = absl::StrCat("year \"", year.substr(0, 32), "\" is not an integer");
      }
    } else {
      post.year = value;
    }
    return true;
  }

  double Progress() const override { return file_.Progress(); }

 private:
  // One RFC 4180 record, which may span lines inside quotes.
  bool ReadRecord(std::vector<std::string>& fields) {
    fields.clear();
    unterminated_quote_.clear();
    std::string line;
    if (!file_.GetLine(line)) return false;
    ++line_number_;
    blank_record_ = absl::StripAsciiWhitespace(line).empty();
    if (blank_record_) return true;
    std::string field;
    bool quoted = false;
    for (;;) {
      for (size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted) {
          if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            field += '"';
            ++i;
          } else if (c == '"') {
            quoted = false;
          } else {
            field += c;
          }
        } else if (c == '"') {
          quoted = true;
        } else if (c == ',') {
          fields.push_back(std::move(field));
          field.clear();
        } else {
          field += c;
        }
      }
      if (!quoted) break;
      if (!file_.GetLine(line)) {
        unterminated_quote_ = "a quoted field is not closed before the end of the file";
        break;
      }
      ++line_number_;
      field += '\n';
    }
    fields.push_back(std::move(field));
    return true;
  }

  const std::string path_;
  TrackedFile file_;
  int64_t line_number_ = 0;
  int body_ = -1, category_ = -1, year_ = -1, source_ = -1;
  std::string unterminated_quote_;
  bool blank_record_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<PostSource>> OpenJsonlSource(const std::string& path) {
  absl::StatusOr<TrackedFile> file = TrackedFile::Open(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<PostSource>(new JsonlSource(path, *std::move(file)));
}

absl::StatusOr<std::unique_ptr<PostSource>> OpenCsvSource(const std::string& path) {
  absl::StatusOr<TrackedFile> file = TrackedFile::Open(path);
  if (!file.ok()) return file.status();
  auto source = std::make_unique<CsvSource>(path, *std::move(file));
  if (absl::Status header = source->ReadHeader(); !header.ok()) return header;
  return std::unique_ptr<PostSource>(std::move(source));
}

}  // namespace kiln::ingest
