#include "models/memory.h"

#include <gtest/gtest.h>

#include "models/zoo.h"

namespace irene::models {
namespace {

TEST(MemoryTest, EstimateComesFromTheModelsShapes) {
  const ModelConfig bert = bundled_config("bert-base-uncased").value();
  const MemoryEstimate small = estimate_memory(bert, {1, 128}).value();
  const MemoryEstimate large = estimate_memory(bert, {8, 128}).value();
  EXPECT_DOUBLE_EQ(large.weights_bytes, 4.0 * 109482240);
  // The largest tensor of BERT-base: the feed-forward layer's [b, s, 3072] float32 output.
  EXPECT_DOUBLE_EQ(large.largest_output_bytes, 8.0 * 128 * 3072 * 4);
  // Activations grow with the batch; weights do not.
  EXPECT_NEAR(large.outputs_bytes, 8 * small.outputs_bytes, 0.05 * large.outputs_bytes);
  EXPECT_GT(large.captured_bytes(), large.forward_peak_bytes());
}

TEST(MemoryTest, WhatDoesNotFitSaysWhatAndHowMuch) {
  EXPECT_TRUE(check_fits("run x", 8e9, 10e9, "try less").is_ok());
  const Status s = check_fits("run x", 9.5e9, 10e9, "try less");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "not enough memory to run x: it needs about 9.5 GB, and 10.0 GB are available; try less");
}

// A profile keeps a forward pass's intermediate tensors, a plain run does not: what does
// not fit is refused with the sizes, before anything is allocated.
TEST(MemoryTest, RunsThatDoNotFitAreRefusedWithTheirSizes) {
  const ModelConfig xl = bundled_config("gpt2-xl").value();
  RunOptions profiled{4, 1024};
  profiled.keep_activations = true;
  const Status refused = check_run_memory(xl, profiled, 24e9);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("not enough memory to profile gpt2-xl at batch size 4, sequence length 1024"),
            std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("24.0 GB are available"), std::string::npos) << refused.message();
  RunOptions small{1, 8};
  small.keep_activations = true;
  EXPECT_TRUE(check_run_memory(bundled_config("distilgpt2").value(), small, 24e9).is_ok());
  // Nothing in host memory: always fits.
  RunOptions shapes{4, 1024, /*shapes_only=*/true};
  EXPECT_TRUE(check_run_memory(xl, shapes, 1e9).is_ok());
}

}  // namespace
}  // namespace irene::models
