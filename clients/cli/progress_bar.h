// A one-line progress bar on stderr, drawn only when stderr is a terminal
// (logs and CI output stay clean).
#pragma once

#include <string>

namespace kiln::cli {

class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();

  // `fraction` in 0..1 (or < 0 when unknown); `detail` follows the bar.
  void Update(double fraction, const std::string& detail);
  // Clears the line so the next output starts clean.
  void Finish();

 private:
  const std::string label_;
  const bool enabled_;
  bool drawn_ = false;
};

}  // namespace kiln::cli
