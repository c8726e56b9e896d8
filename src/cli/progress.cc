#include "cli/progress.h"

#include <unistd.h>

#include <cstdio>

namespace irene::cli {

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), tty_(isatty(STDERR_FILENO) == 1), start_(std::chrono::steady_clock::now()) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fputc('\n', stderr);
}

void ProgressBar::update(int done, int total) {
  if (!tty_ || total <= 0) return;
  constexpr int kWidth = 30;
  const int filled = done * kWidth / total;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double left = done > 0 ? elapsed * (total - done) / done : 0;
  std::fprintf(stderr, "\r%s [%-*s] %d/%d  %.0f s left ", label_.c_str(), kWidth, std::string(filled, '#').c_str(),
               done, total, left);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace irene::cli
