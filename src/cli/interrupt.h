// Ctrl-C (SIGINT) and SIGTERM (scancel, a Slurm time limit) ask a long command to stop
// after the node in progress, keeping what it finished. RAII: the previous handlers
// come back when the guard goes.
#pragma once

#include <atomic>

namespace irene::cli {

class InterruptGuard {
 public:
  InterruptGuard();
  ~InterruptGuard();
  const std::atomic<bool>* flag() const;

 private:
  void (*previous_int_)(int);
  void (*previous_term_)(int);
};

}  // namespace irene::cli
