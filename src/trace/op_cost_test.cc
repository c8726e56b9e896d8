#include "trace/op_cost.h"

#include <gtest/gtest.h>

namespace irene::trace {
namespace {

TensorMeta f32(std::vector<int64_t> shape) { return {std::move(shape), 4, "float32"}; }
TensorMeta i64(std::vector<int64_t> shape) { return {std::move(shape), 8, "int64"}; }

TEST(OpCostTest, AddmmCountsTwoFlopsPerMultiplyAddAndIgnoresTheBias) {
  // Conv1D of GPT-2's c_attn at batch 8 x 32 tokens: [256,768] x [768,2304].
  OpCost c = irene_op_cost("aten::addmm", {f32({2304}), f32({256, 768}), f32({768, 2304})}, f32({256, 2304}));
  EXPECT_EQ(c.flops, 2LL * 256 * 768 * 2304);
  EXPECT_EQ(c.mem_bytes, (256LL * 768 + 768LL * 2304 + 256LL * 2304) * 4);
}

TEST(OpCostTest, MatmulBatchesOverLeadingDimensions) {
  OpCost three = irene_op_cost("aten::matmul", {f32({8, 32, 768}), f32({768, 3072})}, f32({8, 32, 3072}));
  EXPECT_EQ(three.flops, 2LL * 8 * 32 * 768 * 3072);
  EXPECT_EQ(three.mem_bytes, 8LL * (32 * 768 + 768 * 3072 + 32 * 3072) * 4);
  OpCost four = irene_op_cost("aten::matmul", {f32({8, 12, 32, 64}), f32({8, 12, 64, 32})}, f32({8, 12, 32, 32}));
  EXPECT_EQ(four.flops, 2LL * 96 * 32 * 64 * 32);
  EXPECT_EQ(four.mem_bytes, 96LL * (32 * 64 + 64 * 32 + 32 * 32) * 4);
}

TEST(OpCostTest, BinaryOpsCountTheBroadcastOutput) {
  OpCost add = irene_op_cost("aten::add", {f32({8, 12, 32, 32}), f32({8, 1, 1, 32})}, f32({8, 12, 32, 32}));
  EXPECT_EQ(add.flops, 8 * 12 * 32 * 32);
  EXPECT_EQ(add.mem_bytes, 8 * 12 * 32 * 32 * 2 * 4);
  OpCost mul = irene_op_cost("aten::mul", {i64({8, 32})}, i64({8, 32}));
  EXPECT_EQ(mul.mem_bytes, 8 * 32 * 3 * 8);  // mul moves three elements, of the output's type
}

TEST(OpCostTest, UnaryOpsCountTheirInput) {
  EXPECT_EQ(irene_op_cost("aten::layer_norm", {f32({4, 10}), f32({10}), f32({10})}, f32({4, 10})).flops, 40 * 8);
  EXPECT_EQ(irene_op_cost("aten::softmax", {f32({4, 10})}, f32({4, 10})).mem_bytes, 40 * 3 * 4);
  EXPECT_EQ(irene_op_cost("aten::gelu", {f32({4, 10})}, f32({4, 10})).flops, 40 * 6);
  EXPECT_EQ(irene_op_cost("aten::tanh", {f32({4, 10})}, f32({4, 10})).flops, 40 * 4);
}

TEST(OpCostTest, EmbeddingMovesIndicesAndRowsWithoutFlops) {
  OpCost c = irene_op_cost("aten::embedding", {f32({30522, 768}), i64({8, 32})}, f32({8, 32, 768}));
  EXPECT_EQ(c.flops, 0);
  EXPECT_EQ(c.mem_bytes, 8 * 32 * 8 + 8 * 32 * 768 * 4);
}

TEST(OpCostTest, OpsOutsideTheTableCostNothing) {
  for (const char* op : {"aten::view", "aten::where", "aten::dropout", "aten::cumsum", "aten::stack"}) {
    OpCost c = irene_op_cost(op, {f32({8, 32})}, f32({8, 32}));
    EXPECT_EQ(c.flops, 0) << op;
    EXPECT_EQ(c.mem_bytes, 0) << op;
  }
}

TEST(OpCostTest, FormatShapes) {
  EXPECT_EQ(format_shapes({f32({2, 3}), f32({3})}, f32({2, 3})), "[2,3] x [3] -> [2,3]");
  EXPECT_EQ(format_shapes({}, i64({5})), " -> [5]");
}

}  // namespace
}  // namespace irene::trace
