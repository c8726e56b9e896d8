#include "predict/roofline.h"

#include <algorithm>
#include <vector>

namespace irene::predict {

namespace {

bool one_of(std::string_view op, std::initializer_list<std::string_view> names) {
  return std::find(names.begin(), names.end(), op) != names.end();
}

struct Costs {
  double latency_s = 0, energy_j = 0;
};

}  // namespace

OpClass op_class(std::string_view op, int64_t flops, int64_t bytes) {
  if (flops == 0 && bytes == 0) return OpClass::kView;
  if (one_of(op, {"aten::linear", "aten::addmm", "aten::matmul", "aten::bmm"})) return OpClass::kGemm;
  if (op == "aten::scaled_dot_product_attention") return OpClass::kAttention;
  if (one_of(op, {"aten::layer_norm", "aten::mean", "aten::rsqrt", "aten::pow"})) return OpClass::kNormalization;
  if (one_of(op, {"aten::embedding", "aten::index", "aten::index_select", "aten::index_add_"})) return OpClass::kGather;
  return OpClass::kElementwise;
}

const char* op_class_name(OpClass c) {
  switch (c) {
    case OpClass::kGemm: return "gemm";
    case OpClass::kAttention: return "attention";
    case OpClass::kNormalization: return "normalization";
    case OpClass::kGather: return "gather";
    case OpClass::kElementwise: return "elementwise";
    case OpClass::kView: return "view";
  }
  return "?";
}

Result<double> predict_roofline(tree::Tree& t, const machines::MachineSpec& m, const RooflineParams& p,
                                const RooflineOptions& o) {
  if (t.empty()) return Status::invalid_argument("an empty tree has no energy");
  const std::string dtype = t.dtype.empty() ? "float32" : t.dtype;
  const auto peak = m.peak_for(dtype);
  if (!peak || !m.memory_bandwidth_bytes_per_s || !m.tdp_w || !m.idle_power_w)
    return Status::invalid_argument("machine '" + m.id + "' lacks what the roofline needs (peak FLOP/s for " + dtype +
                                    ", memory bandwidth, power limit, idle power); give a machine of the catalogue "
                                    "with all four");
  if (o.num_gpus < 1) return Status::invalid_argument("the number of GPUs must be 1 or more");
  const double g = o.num_gpus, bandwidth = *m.memory_bandwidth_bytes_per_s * p.memory_efficiency;
  const double idle = *m.idle_power_w, dynamic = std::max(0.0, *m.tdp_w - idle);
  if (g > 1 && !m.interconnect_bytes_per_s)
    return Status::invalid_argument("machine '" + m.id + "' has no interconnect bandwidth for tensor parallelism");

  // One kernel's time and the energy of all GPUs running it.
  auto kernel = [&](double flops, double bytes, double efficiency) {
    const double compute_s = flops / g / (*peak * efficiency), memory_s = bytes / g / bandwidth;
    const double time = std::max(compute_s, memory_s) + p.kernel_overhead_s;
    const double u_compute = compute_s / time, u_memory = memory_s / time;  // shares of the peaks reached
    const double power = idle + dynamic * std::min(1.0, p.compute_power * u_compute * efficiency +
                                                            p.memory_power * u_memory * p.memory_efficiency);
    return Costs{time, g * power * time};
  };

  std::vector<Costs> c(t.nodes.size());
  for (size_t i = t.nodes.size(); i-- > 0;) {
    const tree::Node& n = t.nodes[i];
    if (n.kind == tree::NodeKind::kMath) {
      const OpClass k = op_class(n.cls, n.flops, n.mem_bytes);
      if (k == OpClass::kView) continue;
      const double eff = k == OpClass::kGemm        ? p.gemm_efficiency
                         : k == OpClass::kAttention ? p.attention_efficiency
                                                    : p.other_compute_efficiency;
      c[i] = kernel(static_cast<double>(n.flops), static_cast<double>(n.mem_bytes), eff);
    } else if (g > 1 && n.cls.size() > 12 && n.cls.compare(n.cls.size() - 12, 12, "DecoderLayer") == 0) {
      // Tensor parallelism: the attention output and the MLP output are all-reduced
      // (ring: 2 (G - 1) / G of the data through each GPU's link), GPUs otherwise idle.
      const double bytes = 2 * 2 * (g - 1) / g * o.layer_activation_bytes;
      const double time = bytes / *m.interconnect_bytes_per_s + 2 * p.kernel_overhead_s;
      c[i].latency_s += time;
      c[i].energy_j += g * idle * time;
    }
    if (n.parent >= 0) {
      c[n.parent].latency_s += c[i].latency_s;
      c[n.parent].energy_j += c[i].energy_j;
    }
  }
  for (size_t i = 0; i < t.nodes.size(); ++i) {
    tree::Node& n = t.nodes[i];
    if (n.kind == tree::NodeKind::kMath) continue;
    n.energy_j = c[i].energy_j;
    double children = 0;
    for (int ch : n.children)
      if (t.nodes[ch].kind != tree::NodeKind::kMath) children += c[ch].energy_j;
    n.energy_remainder_j = n.children.empty() ? std::optional<double>() : std::optional<double>(c[i].energy_j - children);
  }
  t.notes.push_back(std::string("roofline on ") + m.name + (o.num_gpus > 1 ? " x " + std::to_string(o.num_gpus) : "") +
                    (p.calibrated ? ", calibrated" : ": from the spec sheet alone, with uncalibrated first-guess "
                                                     "efficiencies and power shares"));
  return c[0].latency_s;
}

}  // namespace irene::predict
