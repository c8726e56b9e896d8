// Live profiling on this machine: run a model's forward pass for real, several
// rounds, and record every node's latency (mean and spread) as measured features.
// This is the profiler's first stage: whole traced passes; running each node in
// isolation and reading energy meters come next (see the profiler issue).
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "common/status.h"
#include "models/config.h"
#include "tree/tree.h"

namespace irene::profile {

struct ProfileOptions {
  int64_t batch_size = 1;
  int64_t seq_len = 32;
  int rounds = 3;                             // traced passes averaged, after one warm-up
  const std::atomic<bool>* cancel = nullptr;  // set to stop between rounds
  std::function<void(double)> progress;       // fraction done, 0..1
};

// The tree of one real run with latency_s the mean over rounds and, on every node,
// a Measurement with times_mean_s (energy stays empty: no meter is read yet).
// A cancelled run answers StatusCode::kCancelled.
Result<tree::Tree> profile_model(const models::ModelConfig& config, const ProfileOptions& options);

// "AMD EPYC, 2 cores" from /proc/cpuinfo and the core count.
std::string describe_machine();

}  // namespace irene::profile
