#include "trace/recorder.h"

#include <gtest/gtest.h>

namespace irene::trace {
namespace {

TensorMeta f32(std::vector<int64_t> shape) { return {std::move(shape), 4, "float32"}; }

TEST(RecorderTest, BuildsNestedNodesAndSumsCostsUpward) {
  Recorder r("toy", 2, 4, /*timed=*/true);
  r.open_module("", "ToyModel", tree::NodeKind::kModel, 100);
  r.open_module("attn", "ToyAttention", tree::NodeKind::kModule, 60);
  r.open_functional("matmul", "MatMul");
  r.add_op("aten::matmul", {f32({2, 4, 8}), f32({8, 4})}, f32({2, 4, 4}), 0.5);
  r.close();
  r.open_functional("matmul", "MatMul");
  r.add_op("aten::matmul", {f32({2, 4, 8}), f32({8, 4})}, f32({2, 4, 4}), 0.25);
  r.close();
  r.add_op("aten::add", {f32({2, 4, 4}), f32({2, 4, 4})}, f32({2, 4, 4}), 0.1);
  r.add_op("aten::add", {f32({2, 4, 4}), f32({2, 4, 4})}, f32({2, 4, 4}), 0.1);
  r.close();
  r.close();
  auto t = r.finish();
  ASSERT_TRUE(t.is_ok()) << t.status().to_string();
  ASSERT_EQ(t->nodes.size(), 8u);

  const int first = t->find("attn.matmul", "MatMul");
  const int second = t->find("attn.matmul_1", "MatMul");
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  EXPECT_EQ(t->nodes[first].kind, tree::NodeKind::kMlNp);
  EXPECT_EQ(t->nodes[t->nodes[first].parent].path, "attn");
  EXPECT_GE(t->find("attn.matmul.matmul", "aten::matmul"), 0);
  EXPECT_GE(t->find("attn.add_1", "aten::add"), 0);

  const int64_t matmul_flops = 2 * 2 * 4 * 8 * 4;
  EXPECT_EQ(t->nodes[first].flops, matmul_flops);
  EXPECT_EQ(t->root().flops, 2 * matmul_flops + 2 * 32);
  EXPECT_EQ(t->root().num_parameters, 100);
  EXPECT_EQ(t->nodes[t->find("attn.matmul.matmul", "aten::matmul")].shapes, "[2,4,8] x [8,4] -> [2,4,4]");
  EXPECT_TRUE(t->root().latency_s.has_value());
  EXPECT_EQ(t->nodes[t->find("attn", "ToyAttention")].depth, 1);
}

TEST(RecorderTest, UntimedRunsLeaveLatencyEmpty) {
  Recorder r("toy", 1, 1, /*timed=*/false);
  r.open_module("", "ToyModel", tree::NodeKind::kModel, 0);
  r.close();
  auto t = r.finish();
  ASSERT_TRUE(t.is_ok());
  EXPECT_FALSE(t->root().latency_s.has_value());
  EXPECT_TRUE(t->shapes_only);
}

TEST(RecorderTest, FinishingWithAnOpenNodeIsAnError) {
  Recorder r("toy", 1, 1, false);
  r.open_module("", "ToyModel", tree::NodeKind::kModel, 0);
  auto t = r.finish();
  EXPECT_EQ(t.status().code(), StatusCode::kInternal);
}

TEST(RecorderTest, ActiveRecorderNestsPerThread) {
  EXPECT_EQ(active_recorder(), nullptr);
  Recorder a("a", 1, 1, false), b("b", 1, 1, false);
  {
    ActiveRecorder outer(&a);
    EXPECT_EQ(active_recorder(), &a);
    {
      ActiveRecorder inner(&b);
      EXPECT_EQ(active_recorder(), &b);
    }
    EXPECT_EQ(active_recorder(), &a);
  }
  EXPECT_EQ(active_recorder(), nullptr);
}

}  // namespace
}  // namespace irene::trace
