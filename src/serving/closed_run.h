// A closed benchmark run: R requests sent at once to a server that runs at most B of
// them, as the ML.ENERGY Leaderboard v2 measured vLLM. Its energy and throughput come from
// the steady state (B running), but a figure averaged over every engine iteration of the
// run, as its time per output token is, also counts the drain: once the queue is empty
// the batch falls from B to 0 and those iterations are shorter. This gives the mean
// running batch over all decode iterations of such a run. No libtorch.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace irene::serving {

struct ClosedRun {
  int64_t requests = 0;        // sent at once; must exceed batch_cap for a steady state
  int64_t batch_cap = 0;       // requests running at most
  double mean_output_len = 0;  // generated tokens per request, on average
  int64_t max_output_len = 0;  // the per-request cap on generated tokens
};

// Output lengths are unknown beyond their mean and cap: they are taken as the
// maximum-entropy distribution on [1, cap] with that mean (an exponential, truncated),
// R requests at its quantiles. Each admitted request gets its first token from its
// prefill iteration, the rest one per decode iteration; admitting waits for free slots
// (as vLLM schedules without chunked prefill). Errors name what is out of range.
Result<double> mean_decode_batch(const ClosedRun& run);

}  // namespace irene::serving
