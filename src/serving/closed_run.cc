#include "serving/closed_run.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

namespace irene::serving {

namespace {

// Mean of the exponential density exp(-rate x) truncated to [0, cap] (rate < 0: rising;
// rate -> 0: uniform, mean cap / 2).
double truncated_mean(double rate, double cap) {
  if (std::fabs(rate * cap) < 1e-9) return cap / 2;
  return 1 / rate - cap / std::expm1(rate * cap);
}

// The rate whose truncated mean is `mean` (the mean falls as the rate grows).
double rate_for_mean(double mean, double cap) {
  double lo = -50 / cap, hi = 50 / cap;
  for (int i = 0; i < 200; ++i) {
    const double mid = (lo + hi) / 2;
    (truncated_mean(mid, cap) > mean ? lo : hi) = mid;
  }
  return (lo + hi) / 2;
}

// Quantile u of that distribution, in tokens (at least 1).
int64_t length_at(double u, double rate, double cap) {
  const double x = std::fabs(rate * cap) < 1e-9 ? u * cap : -std::log1p(-u * -std::expm1(-rate * cap)) / rate;
  return std::clamp<int64_t>(static_cast<int64_t>(std::ceil(x)), 1, static_cast<int64_t>(cap));
}

}  // namespace

Result<double> mean_decode_batch(const ClosedRun& run) {
  if (run.batch_cap < 1) return Status::invalid_argument("a closed run needs a batch cap of at least 1");
  if (run.requests <= run.batch_cap)
    return Status::invalid_argument("a closed run of " + std::to_string(run.requests) +
                                    " requests never reaches a steady state of " + std::to_string(run.batch_cap) +
                                    " running; it needs more requests than the batch cap");
  if (run.requests > 10'000'000) return Status::invalid_argument("a closed run of at most 10,000,000 requests");
  if (run.max_output_len > 1'000'000) return Status::invalid_argument("an output cap of at most 1,000,000 tokens");
  if (run.max_output_len < 2 || !(run.mean_output_len >= 1) || run.mean_output_len >= run.max_output_len)
    return Status::invalid_argument("a closed run's mean output length must be from 1 to under its cap (" +
                                    std::to_string(run.max_output_len) + "), got " +
                                    std::to_string(run.mean_output_len));
  const double cap = static_cast<double>(run.max_output_len);
  const double rate = rate_for_mean(run.mean_output_len, cap);
  // The queue: lengths at the quantiles, shortest and longest taking turns (mixed, as a
  // shuffled dataset would have them, without a random draw).
  const int64_t r = run.requests;
  auto quantile = [&](int64_t i) { return length_at((static_cast<double>(i) + 0.5) / static_cast<double>(r), rate, cap); };
  std::vector<int64_t> queue;
  queue.reserve(static_cast<size_t>(r));
  int64_t tokens = 0;
  for (int64_t lo = 0, hi = r - 1; lo <= hi; ++lo, --hi) {
    queue.push_back(quantile(lo));
    if (lo < hi) queue.push_back(quantile(hi));
  }
  for (int64_t n : queue) tokens += n;
  // ends[t]: requests whose last token comes in decode iteration t. The batch is full
  // while requests wait, so the iterations number at most the tokens over the cap, plus
  // the longest request's for the drain.
  std::vector<int64_t> ends(static_cast<size_t>(tokens / run.batch_cap + run.max_output_len + 2), 0);
  size_t next = 0;
  int64_t running = 0, iteration = 0;
  double batch_sum = 0;
  while (next < queue.size() || running > 0) {
    if (next < queue.size() && running < run.batch_cap) {
      // A prefill iteration: every free slot takes a waiting request.
      for (; next < queue.size() && running < run.batch_cap; ++next) {
        const int64_t decode_tokens = queue[next] - 1;
        if (decode_tokens == 0) continue;  // done with its first token
        ++ends[static_cast<size_t>(iteration + decode_tokens)];
        ++running;
      }
      continue;
    }
    batch_sum += static_cast<double>(running);
    ++iteration;
    running -= ends[static_cast<size_t>(iteration)];
  }
  if (iteration == 0) return Status::invalid_argument("a closed run with no decode iteration");
  return batch_sum / static_cast<double>(iteration);
}

}  // namespace irene::serving
