// Lowering a traced step (the Hugging Face tree of one forward pass) to the kernels an
// engine runs for it. Eager: every aten op is a kernel, as transformers runs them.
// Fused (vLLM's V1 engine and its kind):
// - the projections an engine packs into one weight run as one GEMM: q/k/v -> qkv_proj,
//   gate/up -> gate_up_proj, DeepSeek's q_a/kv_a -> fused_qkv_a_proj (vLLM's
//   packed_modules_mapping);
// - each attention, latent attention, indexer, state scan, delta rule and causal
//   convolution is one kernel;
// - the elementwise, normalisation and gather ops between two of those form one kernel
//   (torch.compile fuses them, as residual add + RMSNorm, SiLU-and-mul, rotary + the
//   cache write), moving about what its largest op moves: inputs in, outputs out, the
//   intermediates in registers;
// - a layer's routed experts are one fused MoE: the routing's sort, a grouped GEMM over
//   the gate/up weights, the activation, a grouped GEMM over the down weights and the
//   weighted sum, whatever the experts' number; each expert a step's routed rows touch is
//   read once (distinct_experts);
// - the rotary table is precomputed at load (vLLM's cos/sin cache): the model's rotary
//   embedding module runs no kernel;
// - a GEMM whose weights are stored in FP8 (or NVFP4) runs at that precision, after a
//   kernel quantising its input.
// Each kernel keeps the tree nodes it covers, so costs can be handed back to the Hugging
// Face names. No libtorch.
#pragma once

#include <string>
#include <vector>

#include "engines/engine.h"
#include "predict/roofline.h"
#include "tree/tree.h"

namespace irene::engines {

struct EngineKernel {
  std::string name;   // "qkv_proj", "attention", "fused_moe.w13", "input_layernorm+add", ...
  std::string scope;  // the module it runs in ("model.layers.0.self_attn")
  predict::OpClass op_class = predict::OpClass::kElementwise;
  std::string precision;  // the element type its FLOPs run in: the step's dtype, "fp8" or "fp4"
  double flops = 0;
  double activation_bytes = 0;  // grows with the tokens
  double weight_bytes = 0;      // read once per launch however many tokens (not for fused MoE)
  double count = 1;             // launches per step (a compact trace's identical layers)
  // A GEMM that unpacks packed weights to the step's dtype as it reads them (W4A16:
  // MXFP4 experts where the GPU has no FP4 tensor cores; RooflineParams::dequant_power).
  bool dequantises = false;
  // Fused MoE GEMMs: the routed rows (tokens x top_k), the layer's experts and one
  // expert's stored bytes; the weights read are distinct_experts(rows, experts) of them.
  double routed_rows = 0, num_experts = 0, expert_bytes = 0;
  std::vector<int> nodes;  // indices into the traced tree's nodes
  bool is_moe() const { return num_experts > 0; }
  double bytes() const;  // activation and weight bytes of one launch
};

struct LoweredStep {
  std::vector<EngineKernel> kernels;  // in execution order
  double layers = 0;  // decoder layers' worth of tensor-parallel all-reduces (predict::decoder_layers_in)
  double kernel_count() const;  // launches, the all-reduces not included
};

// The expected number of distinct experts `rows` routed rows touch among `experts`
// under uniform routing: E x (1 - (1 - 1/E)^rows).
double distinct_experts(double rows, double experts);

// With the experts spread over `groups` GPUs (expert parallelism), E / groups each, the
// expected largest number of distinct experts any one GPU's share of them gets from
// `rows` routed rows: the slowest GPU sets the fused MoE's time. Each expert is touched
// with probability 1 - (1 - 1/E)^rows, independently (uniform routing), so a GPU's count
// is Binomial(E / groups, that); the expectation of the largest of `groups` of them.
double busiest_group_experts(double rows, double experts, int groups);

// The kernels of `step` (a trace of one forward pass, compact or whole) as `kernels` runs them.
LoweredStep lower(const tree::Tree& step, Kernels kernels);

// The kernels of one iteration that runs two steps together (a decode batch and prefill
// tokens, in chunked prefill): kernels of the same scope and name are one launch, the
// rest run as they are. Paired once, so that costing many prefill sizes stays cheap.
struct PairedKernel {
  EngineKernel a, b;  // b.count == 0 where only `a` runs it, and the other way round
};
// The launch of a pair with s x b's work beside a's (serving/chunked_iterations.cc):
// FLOPs, activation bytes and routed rows add; weights are read once.
std::vector<PairedKernel> pair_up(const LoweredStep& a, const LoweredStep& b);

}  // namespace irene::engines
