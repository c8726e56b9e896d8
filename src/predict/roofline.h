// The roofline predictor: every math node gets a latency from its FLOPs and bytes
// against a machine's spec (compute- or memory-bound, an efficiency by op class, a
// per-kernel overhead) and an energy from a power model (idle power over the time, plus
// dynamic power rising with the achieved compute and memory utilisation, capped at the
// power limit); ML, module, model, phase and generation nodes sum their children. With
// tensor parallelism over G GPUs each GPU runs 1/G of every op and each decoder layer
// adds two all-reduces over the interconnect; energies are all G GPUs' together.
//
// The default parameters are first guesses, not fitted to any data: a prediction with
// them is from the spec sheet alone (the answer says so). Calibration on measured data
// is the job of `irene train --method roofline` (the roadmap's next step).
#pragma once

#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "machines/catalogue.h"
#include "tree/tree.h"

namespace irene::predict {

// What kind of work an aten op is, for its efficiency.
enum class OpClass {
  kGemm,           // linear, addmm, matmul, bmm, the experts' grouped products
  kAttention,      // scaled_dot_product_attention, the sparse attention of DeepSeek-V3.2 / GLM-5
  kLatentAttention,  // MLA's absorbed attention over the compressed cache (at the attention efficiency)
  kIndexer,        // the sparse-attention indexer's scores over the whole context (at the attention efficiency)
  kStateScan,      // Mamba-2's selective state-space scan (other compute's efficiency)
  kLinearAttention,  // gated DeltaNet's delta rule (other compute's efficiency)
  kConv,           // the depthwise causal convolutions of Mamba-2 and DeltaNet (other compute's efficiency)
  kNormalization,  // layer_norm, and the ops of RMSNorm (mean, rsqrt, pow)
  kGather,         // embedding, index, index_select, index_add_
  kTranscendental, // elementwise through exp, tanh, erf, sin, cos (softmax, GELU, SiLU): a CPU spends
                   // many instructions per counted FLOP on them
  kElementwise,    // everything else that moves bytes
  kView,           // moves nothing (views, reshapes, dropout at inference): no kernel
};
OpClass op_class(std::string_view aten_op, int64_t flops, int64_t bytes);
const char* op_class_name(OpClass c);
// A decoder layer's node (LlamaDecoderLayer, ...): where tensor parallelism all-reduces.
bool is_decoder_layer(std::string_view cls);
// Decoder layers' worth of tensor-parallel all-reduces a node of class `cls` adds: 1 for a
// decoder layer (its attention's and its MLP's outputs), 0.5 for Nemotron-H's blocks,
// each one mixer with one all-reduce, 0 for others.
double decoder_layers_in(std::string_view cls);

struct RooflineParams {
  // Fractions of the dense peak FLOP/s that each class reaches when compute-bound.
  double gemm_efficiency = 0.7;
  double attention_efficiency = 0.5;
  double other_compute_efficiency = 0.3;
  // Transcendental ops' fraction of the peak; 0: as other_compute_efficiency (the serving
  // fit does not separate them: on a GPU their cost hides under the memory traffic).
  double transcendental_efficiency = 0;
  // Fraction of the peak memory bandwidth reached when memory-bound.
  double memory_efficiency = 0.8;
  // How much of the shorter of a kernel's compute and memory time hides under the longer:
  // 1, the plain roofline's max(compute, memory); 0, their sum. A GPU's many warps hide
  // their loads (1); one CPU thread of a BLAS packs its operands before it computes, and
  // the latency calibration fits it on profiles.
  double compute_memory_overlap = 1;
  double kernel_overhead_s = 5e-6;  // launch and tail of one kernel
  // The GPU's own time between two kernels that the host queued ahead of it (their tail
  // and the next one's start): the whole per-kernel cost where the host launches nothing
  // (a serving engine's decode iteration replayed as a CUDA graph), and where it launches
  // each kernel eagerly, an iteration takes the longer of the GPU's time so and the
  // host's launches, kernel_overhead_s each. Negative: not fitted, every kernel costs
  // kernel_overhead_s on the GPU (the model before this parameter; older files).
  double kernel_gap_s = -1;
  // The host's cost of calling one module (the framework's forward dispatch around its
  // kernels), in node_latencies; 0 where kernels run asynchronously behind the host.
  double module_overhead_s = 0;
  // Dynamic power = (power limit - idle) x min(1, compute_power x u_compute + memory_power x u_memory).
  double compute_power = 1.0;
  double memory_power = 0.6;
  // A GEMM that unpacks packed weights to the step's dtype as it reads them (MXFP4 experts
  // on GPUs without FP4 tensor cores: W4A16) keeps its ALUs busy on every weight whatever
  // the batch: its dynamic power is at least this share of the way to the limit. 0 where
  // not fitted (no floor).
  double dequant_power = 0;
  // A serving engine's work outside the model in each iteration (scheduling, sampling,
  // the host's share), during which the GPUs idle: a fixed part per GPU worker (of every
  // pipeline stage) and a part per running request. 0 for a bare forward pass;
  // calibration fits them on serving data.
  double step_overhead_s = 0;
  double per_sequence_overhead_s = 0;
  // The sampler's GPU time per logit (one vocabulary entry of one running request) each
  // iteration: turning the logits into tokens (float32 logits, temperature, top-k / top-p
  // over each row, the draw) passes over B x vocabulary values, on the GPUs while the
  // host waits. 0 where calibration does not fit it (vLLM 0.5.4's files: there the
  // engine's time per request holds it).
  double per_logit_s = 0;
  // The GPUs' power while they wait on the engine, as a share of the way from idle to
  // the power limit: a GPU kept busy between short gaps stays at its active clocks.
  double host_wait_power = 0;
  // The GPUs' power while they wait on each other (in an all-reduce, or for the busiest
  // GPU of an expert-parallel MoE), the same kind of share; negative: as host_wait_power
  // (not fitted apart: vLLM 0.5.4's calibrations and older files).
  double collective_wait_power = -1;
  // A tensor-parallel all-reduce's fixed cost beyond its bytes and its launch: the
  // handshakes between the GPUs and the wait for the slowest one. The GPUs spin through
  // all of an all-reduce at collective_wait_power_w, not idle.
  double all_reduce_latency_s = 0;
  // The engine's stall for each prompt it admits, per running request and per decoder
  // layer, the GPUs waiting through it. The ML.ENERGY data show it: past the prefill's
  // own kernels, the time between decode iterations grows as (prompts admitted) x
  // (running batch), more for deeper models; what inside vLLM spends it is not known
  // here, so its size is fitted, not derived.
  double admission_overhead_s = 0;
  // Under expert parallelism (each GPU holding whole experts), each fused MoE GEMM's fixed
  // cost beyond its bytes and the wait for the busiest GPU, the GPUs at
  // collective_wait_power_w through it. vLLM's Triton MoE runs slower expert-parallel than
  // tensor-parallel (vllm-project/vllm#28887: 3.4 against 3.1 ms a layer for DeepSeek-R1's
  // prefill on 8 H200s, the difference in the MoE GEMMs); the ML.ENERGY v3 rows that run
  // expert-parallel (Llama 4 Scout and Maverick) show it per MoE layer, whatever the GPUs
  // and the batch. What inside the engine spends it is not known here: fitted, not derived.
  double expert_parallel_latency_s = 0;
  bool calibrated = false;  // false: the defaults above, from no data
};

struct RooflineOptions {
  int num_gpus = 1;                   // tensor parallel degree
  double layer_activation_bytes = 0;  // one layer's hidden states (batch x tokens x hidden x element size), all-reduced twice
};

// The latency of one kernel alone (seconds): the larger of its compute time (against
// `peak` FLOP/s at its class's efficiency) and its memory time (against `bandwidth`
// bytes/s at memory_efficiency), plus what of the smaller does not overlap, plus the
// per-kernel overhead; 0 for views.
double kernel_latency(OpClass c, double flops, double bytes, double peak, double bandwidth, const RooflineParams& params,
                      int num_gpus = 1);
// Where a node's bytes come from when it runs alone, over and over (as a profile runs
// each node): from the smallest cache level they all fit in, else from memory.
struct CacheLevel {
  double bytes = 0;
  double bandwidth_bytes_per_s = 0;
};
struct MemoryLevels {
  double bandwidth_bytes_per_s = 0;  // main memory
  std::vector<CacheLevel> caches;    // smallest first; empty: memory only
};
// A CPU BLAS's speed on a product whose weight is stored [in, out] (transformers' Conv1D)
// over its speed on the same product with the weight [out, in] (nn.Linear), measured by
// `irene profile` at a few sizes (models::measure_weight_layouts): at the op's bytes,
// log-linear between the measured sizes and flat beyond them; 1 where nothing was measured.
struct WeightLayoutRatios {
  std::vector<std::pair<double, double>> by_op_bytes;  // (op bytes, speed ratio), smallest first
  double at(double op_bytes) const;
};
// Whether node `i` of `t` is the product of a Conv1D, whose weight is [in, out].
bool is_untransposed_weight_gemm(const tree::Tree& t, size_t i);

// Every node's predicted latency, its math nodes summed (indexed like t.nodes), each
// node's kernels at the bandwidth of the level its bytes fit in, a Conv1D's product at
// `untransposed` of the GEMM speed. Needs only the machine's peak for the tree's dtype and
// the memory levels (the machine's, or fitted where its spec has none, as for a CPU): no
// power figures.
Result<std::vector<double>> node_latencies(const tree::Tree& t, const machines::MachineSpec& machine,
                                           const RooflineParams& params, const MemoryLevels& memory,
                                           const WeightLayoutRatios& untransposed = {});

// `p` for kernels the host queued ahead of the GPU: each costs the GPU's gap between
// kernels (kernel_gap_s, where fitted) instead of its launch.
RooflineParams queued_kernels(const RooflineParams& p);
// `p` for kernels launched one by one, each summed with its own cost (a tree of a plain
// forward pass): each waits for the later of its launch and the GPU's gap.
RooflineParams launched_kernels(const RooflineParams& p);

// One GPU's power while it waits on the engine: host_wait_power of the way from idle to
// the power limit; collective_wait_power_w, while it waits on the other GPUs. The
// machine has both figures (predict_roofline refuses one without them).
double wait_power_w(const machines::MachineSpec& machine, const RooflineParams& params);
double collective_wait_power_w(const machines::MachineSpec& machine, const RooflineParams& params);

// One kernel (or a group of identical ones) on the machine.
struct KernelCost {
  double latency_s = 0;
  double energy_j = 0;  // all GPUs together
};
// The roofline of one op of `flops` and `bytes` (whole-model figures; each of the
// `num_gpus` GPUs runs 1/num_gpus of it). `peak` is the machine's dense peak for the dtype.
// `packed_weights`: a GEMM on packed weights (MXFP4) the step's dtype does not compute in.
// On a machine without FP4 tensor cores (Hopper; Blackwell has them) it unpacks them on its
// ALUs, its power at least dequant_power.
KernelCost kernel_cost(OpClass c, double flops, double bytes, double peak, const machines::MachineSpec& machine,
                       const RooflineParams& params, int num_gpus, bool packed_weights = false);
// Two ring all-reduces of `bytes` each over the interconnect (one decoder layer under
// tensor parallelism), each with a kernel's overhead and the fixed all-reduce latency,
// the GPUs waiting through them at wait_power_w.
KernelCost all_reduce_cost(double bytes, const machines::MachineSpec& machine, const RooflineParams& params,
                           int num_gpus);
// Checks the machine has what the roofline needs; returns its peak for `dtype`.
Result<double> roofline_peak(const machines::MachineSpec& machine, const std::string& dtype, int num_gpus);

// From each node's own cost (indexed like t.nodes: a math node's kernel, or what a
// parent adds beyond its children, as a layer's all-reduces), sets predicted_latency_s
// on every node and energy_j and energy_remainder_j on every node but the math ones,
// children summed into their parents.
void assign_costs(tree::Tree& t, std::vector<KernelCost> own);

// Sets energy_j (and energy_remainder_j on parents) on every node of `t`, and returns
// the predicted latency of the whole tree (seconds). The machine needs peak FLOP/s for
// the tree's dtype (or float32), memory bandwidth, a power limit and an idle power.
Result<double> predict_roofline(tree::Tree& t, const machines::MachineSpec& machine, const RooflineParams& params,
                                const RooflineOptions& options);

}  // namespace irene::predict
