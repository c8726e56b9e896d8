// The model tree: model -> modules -> ML ops -> math ops, each node with its features.
// Stored flat in pre-order (a parent always before its children) so that building,
// walking and serialising thousands of nodes stays cheap. No libtorch here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace irene::tree {

enum class NodeKind {
  kModel,   // the root: the Hugging Face base model (BertModel, GPT2Model, ...)
  kModule,  // a model-specific module (BertLayer, BertSelfAttention, Block, ...)
  kMl,      // a parametric ML leaf (Linear, LayerNorm, Embedding, Conv1D, Tanh)
  kMlNp,    // a non-parametric ML leaf (MatMul, Softmax) under the module calling it
  kMath,    // one aten op of the forward pass (aten::addmm, aten::add, ...)
  kGeneration,  // the root of a generation: a prefill, then decode steps over a KV cache
  kPhase,       // "prefill" or "decode": holds the model tree of that phase
};

// "model", "module", "ml", "ml-np", "math", "generation", "phase": the names used in
// CSV, JSON and the API.
const char* kind_name(NodeKind kind);
Result<NodeKind> kind_from_name(std::string_view name);

// Resource features measured for a node (IrEne dataset columns, or irene's profiler).
struct Measurement {
  double times_mean_s = 0;  // latency of one forward pass of the node
  double times_std_s = 0;   // its spread across measurement rounds
  // The fastest round's latency, where a profiler spread its rounds over time: beside the
  // mean, how much of it a shared machine's slow stretches (a VM's neighbours) added.
  std::optional<double> times_min_s;

  // Figures sampled while the node ran. Empty where this machine could not measure them
  // (no GPU, no frequency readout): an absent figure is never written as 0.
  std::optional<double> cpu_pct;          // CPU utilisation, % of all CPUs
  std::optional<double> mem_pct;          // host memory in use, %
  std::optional<double> cpu_mhz;          // mean CPU frequency while the node ran
  std::optional<double> gpu_pct;          // GPU utilisation, %
  std::optional<double> gpu_mem_pct;      // GPU memory in use, %
  std::optional<double> gpu_clk_mhz;      // GPU core clock
  std::optional<double> gpu_mem_clk_mhz;  // GPU memory clock
  std::optional<double> gpu_energy_j;     // GPU driver's energy for one forward pass

  std::optional<double> energy_j;  // measured whole-machine energy of one forward pass
  std::string energy_note;         // why energy_j is empty ("no energy meter found ...")
  // energy_j by meter ("rapl:package-0", "rapl:package-0/dram", "nvml:gpu0"), when profiled.
  std::map<std::string, double> energy_by_meter_j;
};

struct Node {
  std::string path;   // Hugging Face module path; "" for the root
  std::string cls;    // class name ("BertLayer") or aten op ("aten::addmm")
  NodeKind kind = NodeKind::kModule;
  int depth = 0;
  int parent = -1;    // index into Tree::nodes, -1 for the root
  std::vector<int> children;

  // Features. A parent's figures cover its whole subtree.
  int64_t num_parameters = 0;
  int64_t flops = 0;      // floating point operations (a count, not millions)
  int64_t mem_bytes = 0;  // bytes read and written (bytes, not MiB)
  // Work no trace counted (a serving engine's sampler, its own time between iterations):
  // its FLOPs and bytes are unknown, written empty (null), never as 0.
  bool untraced = false;
  std::optional<double> latency_s;  // wall time of this node in the traced run

  // Math nodes only: "[8,32,768] x [768,768] -> [8,32,768]" and the element type.
  std::string shapes;
  std::string dtype;
  // Nodes that hold weights: how the checkpoint stores them ("bfloat16",
  // "fp8_e4m3 (128x128 blocks)", "mxfp4 (groups of 32)"); "" for nodes without weights.
  std::string weight_dtype;

  std::optional<Measurement> measured;       // when this node was measured
  std::optional<double> energy_j;            // predicted energy of one forward pass
  std::optional<double> energy_remainder_j;  // the part of energy_j no child covers
  std::optional<double> predicted_latency_s;  // predicted time of one forward pass (the roofline)
  // The predictor had no regressor for this node's type: energy_j comes from its
  // documented fallback (see predict/predictor.h).
  bool extrapolated = false;
};

// What a generation tree (root kind kGeneration) ran: a prefill over the prompt, then
// one decode step per new token reading the KV cache.
struct Generation {
  int64_t prompt_tokens = 0;   // per sequence
  int64_t new_tokens = 0;      // decode steps
  int64_t kv_cache_bytes = 0;  // the cache after the last step, at its stored size (all sequences)
  // The constant-size state of recurrent layers (Mamba-2, gated DeltaNet: convolution and
  // SSM states), all sequences; it does not grow with the context. Included in kv_cache_bytes.
  int64_t state_bytes = 0;
  // When set, the tree holds this one decode step (context prompt_tokens + step) alone.
  std::optional<int64_t> decode_step;
};

struct Tree {
  std::string model;  // model name, e.g. "bert-base-uncased"
  int64_t batch_size = 0;
  int64_t seq_len = 0;
  bool shapes_only = false;
  std::string dtype;      // element type of weights and activations ("float32", "bfloat16", ...)
  std::string attention;  // decoders: "sdpa" or "eager"; "" for the 2019 families
  std::optional<Generation> generation;  // set for generation trees and single decode steps
  // What the figures assume that a reader must know ("balanced expert routing ...").
  std::vector<std::string> notes;
  std::vector<Node> nodes;  // nodes[0] is the root
  // Decoders: the parameters one token passes through (dense layers, the shared and the
  // top-k routed experts, embeddings and lm_head); 0 where not known.
  int64_t active_parameters = 0;
  // Compact traces only (RunOptions::compact_layers): how many times each node stands in
  // the model, a layer identical to one traced being counted on that layer's nodes
  // instead of copied. Parents' figures then cover the traced copy only: such a tree is
  // for counting kernels (serving), not for display or prediction. Empty otherwise.
  std::vector<int64_t> multiplicity;

  const Node& root() const { return nodes.front(); }
  bool empty() const { return nodes.empty(); }

  // Index of the node with this path and class, or -1.
  int find(std::string_view path, std::string_view cls) const;
  // Counts per kind, for summaries.
  int count(NodeKind kind) const;
  // The phase ("prefill", "decode") each node belongs to, "" outside a phase; indexed
  // like nodes.
  std::vector<std::string> phases() const;
};

// A node's path with its numeric components (layer and expert indices) as "*":
// "model.layers.17.mlp.down_proj" -> "model.layers.*.mlp.down_proj", the node a model
// repeats in each layer.
std::string repeated_path(std::string_view path);

}  // namespace irene::tree
