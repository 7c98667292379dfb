#include "clients/cli/progress_bar.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

namespace kiln::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(double fraction, const std::string& detail) {
  if (!enabled_) return;
  constexpr int kWidth = 30;
  std::string bar;
  if (fraction >= 0) {
    const int filled = static_cast<int>(std::min(1.0, fraction) * kWidth);
    bar = "[" + std::string(filled, '#') + std::string(kWidth - filled, ' ') + "] " +
          std::to_string(static_cast<int>(std::min(1.0, fraction) * 100)) + "%";
  }
  std::fprintf(stderr, "\r\033[K%s %s %s", label_.c_str(), bar.c_str(), detail.c_str());
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::Finish() {
  if (!drawn_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  drawn_ = false;
}

}  // namespace kiln::cli
