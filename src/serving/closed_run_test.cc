#include "serving/closed_run.h"

#include <gtest/gtest.h>

namespace irene::serving {
namespace {

double batch(int64_t requests, int64_t cap, double mean, int64_t max_len) {
  return mean_decode_batch({requests, cap, mean, max_len}).value();
}

// A run much larger than its batch is nearly all steady state: its mean batch is close
// to the cap. The drain weighs more as the run shrinks toward the batch, so the mean
// falls.
TEST(ClosedRunTest, TheDrainWeighsMoreAsTheRunShrinksTowardTheBatch) {
  const double huge = batch(200'000, 64, 450, 1024);
  EXPECT_GT(huge, 0.97 * 64);
  EXPECT_LE(huge, 64);
  const double b256 = batch(2000, 256, 450, 1024), b1024 = batch(2000, 1024, 450, 1024);
  EXPECT_LT(b256, 256);
  EXPECT_LT(b1024 / 1024, b256 / 256);
  EXPECT_GT(b1024, 100);
}

// All requests as long as the mean (a cap just above it leaves no room to spread) run
// in lockstep waves of the cap: every decode iteration is full until the last partial wave.
TEST(ClosedRunTest, EqualLengthsRunInFullWaves) {
  // Mean 1.5 of cap 2: lengths 1 and 2 only; those of length 1 finish on their prefill.
  const double b = batch(1000, 10, 1.5, 2);
  EXPECT_GT(b, 9);
  EXPECT_LE(b, 10);
}

TEST(ClosedRunTest, BadRunsAreRefusedWithWhatIsAllowed) {
  auto small = mean_decode_batch({64, 64, 100, 512});
  ASSERT_FALSE(small.is_ok());
  EXPECT_NE(small.status().message().find("more requests than the batch cap"), std::string::npos);
  auto mean = mean_decode_batch({1000, 64, 600, 512});
  ASSERT_FALSE(mean.is_ok());
  EXPECT_NE(mean.status().message().find("under its cap (512)"), std::string::npos);
  EXPECT_FALSE(mean_decode_batch({1000, 0, 100, 512}).is_ok());
}

}  // namespace
}  // namespace irene::serving
