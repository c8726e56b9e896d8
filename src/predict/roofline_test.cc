#include "predict/roofline.h"

#include <gtest/gtest.h>

#include "models/zoo.h"

namespace irene::predict {
namespace {

machines::MachineSpec h100() { return machines::find_machine("h100-sxm5-80gb").value(); }

// One module holding one math node: the roofline of a single kernel by hand.
tree::Tree one_op(const char* op, int64_t flops, int64_t bytes, const char* dtype = "bfloat16") {
  tree::Tree t;
  t.dtype = dtype;
  t.nodes.push_back(tree::Node{.path = "", .cls = "M", .kind = tree::NodeKind::kModel, .children = {1}});
  t.nodes.push_back(tree::Node{.path = "x", .cls = op, .kind = tree::NodeKind::kMath, .depth = 1, .parent = 0,
                               .flops = flops, .mem_bytes = bytes});
  return t;
}

TEST(RooflineTest, OpsFallIntoClasses) {
  EXPECT_EQ(op_class("aten::linear", 10, 10), OpClass::kGemm);
  EXPECT_EQ(op_class("aten::scaled_dot_product_attention", 10, 10), OpClass::kAttention);
  EXPECT_EQ(op_class("aten::rsqrt", 10, 10), OpClass::kNormalization);
  EXPECT_EQ(op_class("aten::embedding", 0, 10), OpClass::kGather);
  EXPECT_EQ(op_class("aten::silu", 10, 10), OpClass::kTranscendental);
  EXPECT_EQ(op_class("aten::softmax", 10, 10), OpClass::kTranscendental);
  EXPECT_EQ(op_class("aten::mul", 10, 10), OpClass::kElementwise);
  EXPECT_EQ(op_class("aten::view", 0, 0), OpClass::kView);
}

TEST(RooflineTest, ASingleKernelIsComputeOrMemoryBound) {
  const auto m = h100();
  const RooflineParams p;
  const double peak = m.peak_flops.at("bfloat16"), bw = *m.memory_bandwidth_bytes_per_s;
  // A large GEMM: compute-bound at 70 % of the bf16 peak.
  tree::Tree gemm = one_op("aten::linear", int64_t{2} * 8192 * 8192 * 8192, int64_t{3} * 8192 * 8192 * 2);
  const double t_gemm = predict_roofline(gemm, m, p, {}).value();
  const double expected = 2.0 * 8192 * 8192 * 8192 / (peak * 0.7) + p.kernel_overhead_s;
  EXPECT_NEAR(t_gemm, expected, 1e-9);
  // Its power: idle + (limit - idle) x (compute share reached x 0.7), capped at the limit.
  const double compute_share = (expected - p.kernel_overhead_s) / expected;
  const double power = *m.idle_power_w + (*m.tdp_w - *m.idle_power_w) * std::min(1.0, compute_share * 0.7 +
                       0.6 * (3.0 * 8192 * 8192 * 2 / bw / expected));  // achieved bandwidth / peak
  EXPECT_NEAR(*gemm.root().energy_j, power * expected, 1e-9 * power);
  // An elementwise op over 1 GB: memory-bound at 80 % of the bandwidth.
  tree::Tree add = one_op("aten::add", 500'000'000, 1'000'000'000);
  EXPECT_NEAR(predict_roofline(add, m, p, {}).value(), 1e9 / (bw * 0.8) + p.kernel_overhead_s, 1e-9);
  // Views cost nothing, not even a kernel launch.
  tree::Tree view = one_op("aten::view", 0, 0);
  EXPECT_EQ(predict_roofline(view, m, p, {}).value(), 0.0);
}

// A GEMM unpacking packed weights draws at least dequant_power of the way to the limit;
// one whose own power is above that floor, or without the flag, is unchanged.
TEST(RooflineTest, UnpackingWeightsSetsAFloorUnderAGemmsPower) {
  const auto m = h100();
  RooflineParams p;
  p.dequant_power = 0.9;
  const double peak = m.peak_flops.at("bfloat16"), idle = *m.idle_power_w, dynamic = *m.tdp_w - idle;
  // A small decode GEMM: 1 GB of weights for a few rows, memory-bound.
  const KernelCost plain = kernel_cost(OpClass::kGemm, 2e9, 1e9, peak, m, p, 1);
  const KernelCost unpacked = kernel_cost(OpClass::kGemm, 2e9, 1e9, peak, m, p, 1, true);
  EXPECT_DOUBLE_EQ(unpacked.latency_s, plain.latency_s);
  EXPECT_LT(plain.energy_j / plain.latency_s, idle + 0.9 * dynamic);
  EXPECT_NEAR(unpacked.energy_j / unpacked.latency_s, idle + 0.9 * dynamic, 1e-9);
  p.dequant_power = 0;
  EXPECT_DOUBLE_EQ(kernel_cost(OpClass::kGemm, 2e9, 1e9, peak, m, p, 1, true).energy_j, plain.energy_j);
  // A compute-bound GEMM already at the limit stays there.
  p.dequant_power = 0.5;
  const KernelCost big = kernel_cost(OpClass::kGemm, 2e15, 1e9, peak, m, p, 1);
  EXPECT_DOUBLE_EQ(kernel_cost(OpClass::kGemm, 2e15, 1e9, peak, m, p, 1, true).energy_j, big.energy_j);
}

TEST(RooflineTest, DecodingIsBoundByStreamingTheWeights) {
  auto c = models::bundled_config("meta-llama/Llama-3.1-8B").value();
  models::RunOptions o{1, 512, true};
  o.new_tokens = 64;
  o.decode_step = 0;
  tree::Tree step = models::trace_model(c, o).value();
  const auto m = h100();
  const RooflineParams p;
  const double latency = predict_roofline(step, m, p, {}).value();
  // ~16 GB of bf16 weights at 80 % of 3.35 TB/s is ~6 ms, plus 5 us for each of the
  // step's ~1,000 kernels (transformers' eager ops; a serving engine fuses them).
  const double streaming = static_cast<double>(step.root().mem_bytes) / (*m.memory_bandwidth_bytes_per_s * 0.8);
  int kernels = 0;
  for (const auto& n : step.nodes)
    kernels += n.kind == tree::NodeKind::kMath && op_class(n.cls, n.flops, n.mem_bytes) != OpClass::kView;
  const double launches = kernels * p.kernel_overhead_s;
  EXPECT_GT(streaming, 5e-3);
  EXPECT_GE(latency, streaming + launches - 1e-12);
  EXPECT_LT(latency, streaming * 1.05 + launches);
  // Every energy node got an energy; parents cover their children.
  for (const auto& n : step.nodes) {
    if (n.kind != tree::NodeKind::kMath) {
      ASSERT_TRUE(n.energy_j.has_value()) << n.path;
    }
  }
  EXPECT_NEAR(*step.root().energy_j, *step.nodes[step.root().children.back()].energy_j +
                                         *step.nodes[step.root().children.front()].energy_j +
                                         *step.root().energy_remainder_j, 1e-9);
  EXPECT_NE(step.notes.back().find("from the spec sheet alone"), std::string::npos);

  // Two GPUs: each streams half the weights, and two all-reduces a layer are added.
  tree::Tree tp = models::trace_model(c, o).value();
  const double latency2 = predict_roofline(tp, m, p, {2, 1.0 * 4096 * 2}).value();
  // Each of the 32 layers adds two all-reduces (their launches and 2 x 2 x 1/2 x 8 KB over NVLink).
  const double all_reduces = 32 * (2 * p.kernel_overhead_s + 2.0 * 2 * 0.5 * 4096 * 2 / *m.interconnect_bytes_per_s);
  EXPECT_NEAR(latency2, streaming / 2 + launches + all_reduces, 1e-3 * latency2);
  EXPECT_GT(*tp.root().energy_j, 0.0);
}

// A layer's two ring all-reduces over G GPUs each move 2 (G - 1) / G of the bytes
// through every link and pay a kernel's overhead and the fixed latency; all G GPUs wait
// through them at the engine-wait power, not idle.
TEST(RooflineTest, AllReduceCostGrowsWithTheRingAndBurnsWaitPower) {
  const auto m = h100();
  RooflineParams p;
  p.kernel_overhead_s = 5e-6;
  p.all_reduce_latency_s = 20e-6;
  p.host_wait_power = 0.25;
  const double bytes = 64 << 20;
  EXPECT_EQ(all_reduce_cost(bytes, m, p, 1).latency_s, 0.0);
  double previous = 0;
  for (int g : {2, 4, 8}) {
    const KernelCost k = all_reduce_cost(bytes, m, p, g);
    const double expected =
        2 * (2.0 * (g - 1) / g * bytes / *m.interconnect_bytes_per_s + p.kernel_overhead_s + p.all_reduce_latency_s);
    EXPECT_NEAR(k.latency_s, expected, 1e-12) << g;
    EXPECT_GT(k.latency_s, previous) << g;  // more of the data crosses each link
    previous = k.latency_s;
    const double wait_power = *m.idle_power_w + 0.25 * (*m.tdp_w - *m.idle_power_w);
    EXPECT_NEAR(k.energy_j, g * wait_power * expected, 1e-9) << g;
  }
  p.all_reduce_latency_s = 0;
  EXPECT_NEAR(all_reduce_cost(bytes, m, p, 2).latency_s, all_reduce_cost(bytes, m, RooflineParams{}, 2).latency_s, 1e-12);
}

// Node latencies (the CPU calibration's model): transcendental ops at their own
// efficiency where one is set (else as the other ops), and each module call's host cost
// added to it and to every node above it.
TEST(RooflineTest, TranscendentalOpsAndModuleCallsInNodeLatencies) {
  const auto m = h100();
  const double peak = m.peak_flops.at("float32");
  const MemoryLevels memory{*m.memory_bandwidth_bytes_per_s, {}};
  tree::Tree t = one_op("aten::tanh", 1'000'000'000, 8, "float32");
  RooflineParams p;
  const double as_others = node_latencies(t, m, p, memory).value()[1];
  EXPECT_NEAR(as_others, 1e9 / (peak * p.other_compute_efficiency) + p.kernel_overhead_s, 1e-12);
  p.transcendental_efficiency = 0.01;
  p.module_overhead_s = 3e-6;
  const std::vector<double> latency = node_latencies(t, m, p, memory).value();
  EXPECT_NEAR(latency[1], 1e9 / (peak * 0.01) + p.kernel_overhead_s, 1e-12);
  EXPECT_NEAR(latency[0], latency[1] + 3e-6, 1e-12);  // the model node: one module call
}

// Overlap 1 is the plain roofline (the longer of compute and memory time); 0 adds them.
TEST(RooflineTest, OverlapSetsHowMuchMemoryTimeHidesUnderCompute) {
  const auto m = h100();
  const double peak = m.peak_flops.at("bfloat16"), bw = *m.memory_bandwidth_bytes_per_s;
  RooflineParams p;
  const double flops = 1e12, bytes = 1e9;
  const double compute = flops / (peak * p.gemm_efficiency), memory = bytes / (bw * p.memory_efficiency);
  EXPECT_NEAR(kernel_latency(OpClass::kGemm, flops, bytes, peak, bw, p), std::max(compute, memory) + p.kernel_overhead_s,
              1e-12);
  p.compute_memory_overlap = 0;
  EXPECT_NEAR(kernel_latency(OpClass::kGemm, flops, bytes, peak, bw, p), compute + memory + p.kernel_overhead_s, 1e-12);
  p.compute_memory_overlap = 0.25;
  EXPECT_NEAR(kernel_latency(OpClass::kGemm, flops, bytes, peak, bw, p),
              std::max(compute, memory) + 0.75 * std::min(compute, memory) + p.kernel_overhead_s, 1e-12);
}

// A Conv1D's product (weight [in, out]) runs at the measured share of a Linear's speed,
// by its bytes: the nearest measured ratio outside the measured sizes, log-linear between.
TEST(RooflineTest, AConv1DProductRunsAtItsLayoutsMeasuredSpeed) {
  const WeightLayoutRatios r{{{1e6, 1.0}, {4e6, 0.6}}};
  EXPECT_DOUBLE_EQ(r.at(5e5), 1.0);
  EXPECT_DOUBLE_EQ(r.at(8e6), 0.6);
  EXPECT_NEAR(r.at(2e6), 0.8, 1e-12);  // halfway in log bytes
  EXPECT_DOUBLE_EQ(WeightLayoutRatios{}.at(2e6), 1.0);

  const auto m = h100();
  const double peak = m.peak_flops.at("float32");
  const MemoryLevels memory{*m.memory_bandwidth_bytes_per_s, {}};
  RooflineParams p;
  tree::Tree conv = one_op("aten::addmm", 1'000'000'000, 8'000'000, "float32");  // compute-bound, past 4e6
  conv.nodes[0].kind = tree::NodeKind::kMl;
  conv.nodes[0].cls = "Conv1D";
  ASSERT_TRUE(is_untransposed_weight_gemm(conv, 1));
  const double compute = 1e9 / (peak * p.gemm_efficiency);
  EXPECT_NEAR(node_latencies(conv, m, p, memory).value()[1], compute + p.kernel_overhead_s, 1e-12);
  EXPECT_NEAR(node_latencies(conv, m, p, memory, r).value()[1], compute / 0.6 + p.kernel_overhead_s, 1e-12);
  // A Linear's addmm (its weight transposed) keeps the GEMM's speed.
  tree::Tree linear = conv;
  linear.nodes[0].cls = "Linear";
  EXPECT_FALSE(is_untransposed_weight_gemm(linear, 1));
  EXPECT_NEAR(node_latencies(linear, m, p, memory, r).value()[1], compute + p.kernel_overhead_s, 1e-12);
}

TEST(RooflineTest, AMachineWithoutTheFiguresIsRefused) {
  machines::MachineSpec cpu = machines::host_cpu();
  tree::Tree t = one_op("aten::add", 10, 10, "float32");
  auto r = predict_roofline(t, cpu, RooflineParams{}, {});
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("memory bandwidth"), std::string::npos);
}

}  // namespace
}  // namespace irene::predict
