#include "store/retry.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

namespace irene::store {

Status run_with_retry(const RetryPolicy& policy, const std::string& store, const std::function<Attempt()>& attempt,
                      const Sleep& sleep) {
  const int tries = std::max(1, policy.attempts);
  double delay = std::max(0.0, policy.first_delay_s), waited = 0;
  std::string last;
  for (int k = 1; k <= tries; ++k) {
    Attempt a = attempt();
    if (a.status.is_ok() || !a.transient) return a.status;
    last = a.status.message();
    if (k == tries) break;
    spdlog::warn("store {}: {}; trying again in {:.1f} s ({} of {} tries)", store, last, delay, k, tries);
    if (sleep)
      sleep(delay);
    else
      std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    waited += delay;
    delay = std::min(delay * 2, std::max(policy.max_delay_s, policy.first_delay_s));
  }
  char over[32];
  std::snprintf(over, sizeof over, "%.1f", waited);
  return Status::io_error("the store " + store + " could not be reached after " + std::to_string(tries) +
                          " tries over " + over + " s (" + last +
                          "); everything written before is kept: run the same command again once it is back");
}

}  // namespace irene::store
