// Plain-text tables for terminal output: columns padded to their widest cell.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace kiln::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// "2026-11-24 15:04:05" in UTC, or "-" for an unset time.
std::string FormatTime(int64_t epoch_seconds);

}  // namespace kiln::cli
