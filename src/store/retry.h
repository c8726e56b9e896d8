// Retrying an operation on a store that cannot be reached for a while (a PostgreSQL
// restart, a network cut, an SQLite file locked by many writers), with a wait that
// doubles between tries. Internal to src/store.
#pragma once

#include <functional>
#include <string>

#include "store/store.h"

namespace irene::store {

// What one try gave: its Status, and whether a failure may pass if tried again.
struct Attempt {
  Status status;
  bool transient = false;
};

// Sleeps `seconds`; tests pass one that only records.
using Sleep = std::function<void(double seconds)>;

// Runs `attempt` until it succeeds, fails for good (returned as it is), or `policy` runs
// out of tries: then an IoError naming the store, the tries and the last failure, and
// saying that what was written before is kept.
Status run_with_retry(const RetryPolicy& policy, const std::string& store, const std::function<Attempt()>& attempt,
                      const Sleep& sleep = {});

}  // namespace irene::store
