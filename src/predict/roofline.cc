#include "predict/roofline.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace irene::predict {

namespace {

bool one_of(std::string_view op, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), op) != names.end();
}

}  // namespace

bool is_decoder_layer(std::string_view cls) {
  return cls.size() > 12 && cls.compare(cls.size() - 12, 12, "DecoderLayer") == 0;
}

double decoder_layers_in(std::string_view cls) {
  if (is_decoder_layer(cls)) return 1;
  return cls == "NemotronHBlock" ? 0.5 : 0;
}

OpClass op_class(std::string_view op, int64_t flops, int64_t bytes) {
  if (flops == 0 && bytes == 0) return OpClass::kView;
  if (one_of(op, {"aten::linear", "aten::addmm", "aten::matmul", "aten::bmm", "aten::_grouped_mm"})) return OpClass::kGemm;
  if (one_of(op, {"aten::scaled_dot_product_attention", "irene::sparse_attention"})) return OpClass::kAttention;
  if (op == "irene::mla_attention") return OpClass::kLatentAttention;
  if (op == "irene::indexer_scores") return OpClass::kIndexer;
  if (one_of(op, {"irene::ssd_chunk_scan", "irene::selective_state_update"})) return OpClass::kStateScan;
  if (one_of(op, {"irene::chunk_gated_delta_rule", "irene::recurrent_gated_delta_rule"})) return OpClass::kLinearAttention;
  if (op == "aten::conv1d") return OpClass::kConv;
  if (one_of(op, {"aten::layer_norm", "aten::mean", "aten::rsqrt", "aten::pow"})) return OpClass::kNormalization;
  if (one_of(op, {"aten::embedding", "aten::index", "aten::index_select", "aten::index_add_"})) return OpClass::kGather;
  if (one_of(op, {"aten::softmax", "aten::_softmax", "aten::log_softmax", "aten::gelu", "aten::silu", "aten::sigmoid",
                  "aten::tanh", "aten::exp", "aten::erf", "aten::sin", "aten::cos", "aten::log", "aten::softplus"}))
    return OpClass::kTranscendental;
  return OpClass::kElementwise;
}

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::kGemm: return "gemm";
    case OpClass::kAttention: return "attention";
    case OpClass::kLatentAttention: return "latent_attention";
    case OpClass::kIndexer: return "indexer";
    case OpClass::kStateScan: return "state_scan";
    case OpClass::kLinearAttention: return "linear_attention";
    case OpClass::kConv: return "conv";
    case OpClass::kNormalization: return "normalization";
    case OpClass::kGather: return "gather";
    case OpClass::kTranscendental: return "transcendental";
    case OpClass::kElementwise: return "elementwise";
    case OpClass::kView: return "view";
  }
  return "?";
}

Result<double> roofline_peak(const machines::MachineSpec& m, const std::string& dtype, int num_gpus) {
  const auto peak = m.peak_for(dtype);
  if (!peak || !m.memory_bandwidth_bytes_per_s || !m.tdp_w || !m.idle_power_w)
    return Status::invalid_argument("machine '" + m.id + "' lacks what the roofline needs (peak FLOP/s for " + dtype +
                                    ", memory bandwidth, power limit, idle power); give a machine of the catalogue "
                                    "with all four");
  if (num_gpus < 1) return Status::invalid_argument("the number of GPUs must be 1 or more");
  if (num_gpus > 1 && !m.interconnect_bytes_per_s)
    return Status::invalid_argument("machine '" + m.id + "' has no interconnect bandwidth for tensor parallelism");
  return *peak;
}

double kernel_latency(OpClass k, double flops, double bytes, double peak, double bandwidth, const RooflineParams& p,
                      int num_gpus) {
  if (k == OpClass::kView) return 0;
  const double g = num_gpus;
  const bool attention = k == OpClass::kAttention || k == OpClass::kLatentAttention || k == OpClass::kIndexer;
  const double efficiency = k == OpClass::kGemm ? p.gemm_efficiency
                            : attention         ? p.attention_efficiency
                            : k == OpClass::kTranscendental && p.transcendental_efficiency > 0
                                ? p.transcendental_efficiency
                                : p.other_compute_efficiency;
  const double compute_s = flops / g / (peak * efficiency);
  const double memory_s = bytes / g / (bandwidth * p.memory_efficiency);
  return std::max(compute_s, memory_s) + (1 - p.compute_memory_overlap) * std::min(compute_s, memory_s) +
         p.kernel_overhead_s;
}

KernelCost kernel_cost(OpClass k, double flops, double bytes, double peak, const machines::MachineSpec& m,
                       const RooflineParams& p, int num_gpus, bool packed_weights) {
  if (k == OpClass::kView) return {};
  const double g = num_gpus;
  const double bandwidth = *m.memory_bandwidth_bytes_per_s;
  const double time = kernel_latency(k, flops, bytes, peak, bandwidth, p, num_gpus);
  // Achieved compute and bandwidth as shares of the machine's peaks.
  const double u_compute = flops / g / peak / time, u_memory = bytes / g / bandwidth / time;
  const double idle = *m.idle_power_w, dynamic = std::max(0.0, *m.tdp_w - idle);
  double share = std::min(1.0, p.compute_power * u_compute + p.memory_power * u_memory);
  if (packed_weights && !m.peak_flops.count("fp4")) share = std::max(share, p.dequant_power);
  const double power = idle + dynamic * share;
  return {time, g * power * time};
}

double WeightLayoutRatios::at(double op_bytes) const {
  if (by_op_bytes.empty()) return 1;
  if (op_bytes <= by_op_bytes.front().first) return by_op_bytes.front().second;
  for (size_t k = 1; k < by_op_bytes.size(); ++k) {
    const auto& [b0, r0] = by_op_bytes[k - 1];
    const auto& [b1, r1] = by_op_bytes[k];
    if (op_bytes <= b1) return r0 + (r1 - r0) * std::log(op_bytes / b0) / std::log(b1 / b0);
  }
  return by_op_bytes.back().second;
}

bool is_untransposed_weight_gemm(const tree::Tree& t, size_t i) {
  const tree::Node& n = t.nodes[i];
  return n.kind == tree::NodeKind::kMath && n.cls == "aten::addmm" && n.parent >= 0 &&
         t.nodes[static_cast<size_t>(n.parent)].cls == "Conv1D";
}

Result<std::vector<double>> node_latencies(const tree::Tree& t, const machines::MachineSpec& m, const RooflineParams& p,
                                           const MemoryLevels& mem, const WeightLayoutRatios& untransposed) {
  const std::string dtype = t.dtype.empty() ? "float32" : t.dtype;
  auto peak = m.peak_flops.find(dtype);
  if (peak == m.peak_flops.end()) peak = m.peak_flops.find("float32");
  if (peak == m.peak_flops.end() || peak->second <= 0)
    return Status::unsupported(m.id + " has no peak FLOP/s for " + dtype);
  if (!(mem.bandwidth_bytes_per_s > 0)) return Status::invalid_argument("a memory bandwidth is needed for " + m.id);
  // Each subtree's latency once per level (all its bytes from there); a node takes the
  // level its own bytes call for.
  const size_t levels = mem.caches.size() + 1;  // caches, then memory
  std::vector<std::vector<double>> at(levels, std::vector<double>(t.nodes.size(), 0.0));
  for (size_t i = t.nodes.size(); i-- > 0;) {
    const tree::Node& n = t.nodes[i];
    if (n.kind == tree::NodeKind::kMath) {
      const OpClass c = op_class(n.cls, n.flops, n.mem_bytes);
      const double flops = static_cast<double>(n.flops), bytes = static_cast<double>(n.mem_bytes);
      // A Conv1D's product runs at the measured share of a Linear's speed.
      const double speed = is_untransposed_weight_gemm(t, i) ? peak->second * untransposed.at(bytes) : peak->second;
      for (size_t l = 0; l < levels; ++l) {
        const double bandwidth = l < mem.caches.size() ? mem.caches[l].bandwidth_bytes_per_s : mem.bandwidth_bytes_per_s;
        at[l][i] = kernel_latency(c, flops, bytes, speed, bandwidth, p);
      }
    } else {
      for (size_t l = 0; l < levels; ++l) at[l][i] += p.module_overhead_s;
    }
    if (n.parent >= 0)
      for (size_t l = 0; l < levels; ++l) at[l][n.parent] += at[l][i];
  }
  std::vector<double> latency(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    size_t l = 0;
    while (l < mem.caches.size() && static_cast<double>(t.nodes[i].mem_bytes) > mem.caches[l].bytes) ++l;
    latency[i] = at[l][i];
  }
  return latency;
}

RooflineParams queued_kernels(const RooflineParams& p) {
  RooflineParams q = p;
  if (p.kernel_gap_s >= 0) q.kernel_overhead_s = p.kernel_gap_s;
  return q;
}

RooflineParams launched_kernels(const RooflineParams& p) {
  RooflineParams q = p;
  q.kernel_overhead_s = std::max(p.kernel_overhead_s, p.kernel_gap_s);
  return q;
}

double wait_power_w(const machines::MachineSpec& m, const RooflineParams& p) {
  const double idle = *m.idle_power_w;
  return idle + p.host_wait_power * std::max(0.0, *m.tdp_w - idle);
}

double collective_wait_power_w(const machines::MachineSpec& m, const RooflineParams& p) {
  if (p.collective_wait_power < 0) return wait_power_w(m, p);
  const double idle = *m.idle_power_w;
  return idle + p.collective_wait_power * std::max(0.0, *m.tdp_w - idle);
}

KernelCost all_reduce_cost(double bytes, const machines::MachineSpec& m, const RooflineParams& p, int num_gpus) {
  if (num_gpus <= 1) return {};
  // A layer's two ring all-reduces: each moves 2 (G - 1) / G of the data through every
  // GPU's link and pays a kernel's overhead and a fixed latency. (A latency per ring step,
  // 2 (G - 1) of them, fitted no better and made the fit unstable: it extrapolates to 8
  // GPUs from few rows.)
  const double g = num_gpus;
  const double time =
      2 * (2 * (g - 1) / g * bytes / *m.interconnect_bytes_per_s + p.kernel_overhead_s + p.all_reduce_latency_s);
  return {time, g * collective_wait_power_w(m, p) * time};
}

Result<double> predict_roofline(tree::Tree& t, const machines::MachineSpec& m, const RooflineParams& p,
                                const RooflineOptions& o) {
  if (t.empty()) return Status::invalid_argument("an empty tree has no energy");
  const std::string dtype = t.dtype.empty() ? "float32" : t.dtype;
  IRENE_ASSIGN_OR_RETURN(double peak, roofline_peak(m, dtype, o.num_gpus));

  std::vector<KernelCost> c(t.nodes.size());
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const tree::Node& n = t.nodes[i];
    if (n.kind == tree::NodeKind::kMath) {
      c[i] = kernel_cost(op_class(n.cls, n.flops, n.mem_bytes), static_cast<double>(n.flops),
                         static_cast<double>(n.mem_bytes), peak, m, p, o.num_gpus);
    } else if (const double layers = decoder_layers_in(n.cls); o.num_gpus > 1 && layers > 0) {
      // Tensor parallelism: the attention output and the MLP output are all-reduced.
      const KernelCost k = all_reduce_cost(o.layer_activation_bytes, m, p, o.num_gpus);
      c[i].latency_s += layers * k.latency_s;
      c[i].energy_j += layers * k.energy_j;
    }
  }
  assign_costs(t, std::move(c));
  t.notes.push_back(std::string("roofline on ") + m.name + (o.num_gpus > 1 ? " x " + std::to_string(o.num_gpus) : "") +
                    (p.calibrated ? " with fitted parameters"
                                  : ": from the spec sheet alone, with uncalibrated first-guess efficiencies and power "
                                    "shares"));
  return *t.nodes[0].predicted_latency_s;
}

void assign_costs(tree::Tree& t, std::vector<KernelCost> c) {
  c.resize(t.nodes.size());
  for (size_t i = t.nodes.size(); i-- > 0;)
    if (t.nodes[i].parent >= 0) {
      c[static_cast<size_t>(t.nodes[i].parent)].latency_s += c[i].latency_s;
      c[static_cast<size_t>(t.nodes[i].parent)].energy_j += c[i].energy_j;
    }
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    tree::Node& n = t.nodes[i];
    n.predicted_latency_s = c[i].latency_s;
    if (n.kind == tree::NodeKind::kMath) continue;
    n.energy_j = c[i].energy_j;
    double children = 0;
    for (int ch : n.children)
      if (t.nodes[ch].kind != tree::NodeKind::kMath) children += c[ch].energy_j;
    n.energy_remainder_j = n.children.empty() ? std::optional<double>() : std::optional<double>(c[i].energy_j - children);
  }
}

}  // namespace irene::predict
