#include "engines/lowering.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace irene::engines {

namespace {

using predict::OpClass;

// The projections engines store as one weight and run as one GEMM (vLLM's
// packed_modules_mapping of its Llama, Qwen, Gemma, DeepSeek models).
std::string packed_name(const std::string& linear) {
  if (linear == "q_proj" || linear == "k_proj" || linear == "v_proj") return "qkv_proj";
  if (linear == "gate_proj" || linear == "up_proj") return "gate_up_proj";
  if (linear == "q_a_proj" || linear == "kv_a_proj_with_mqa") return "fused_qkv_a_proj";
  return linear;
}

std::string last_component(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? path : path.substr(dot + 1);
}

std::string parent_path(const std::string& path) {
  const size_t dot = path.rfind('.');
  return dot == std::string::npos ? "" : path.substr(0, dot);
}

// The routed experts' module a path lies in ("model.layers.0.mlp.experts"), or "".
std::string experts_scope(const std::string& path) {
  const std::string key = ".experts";
  for (size_t at = path.find(key); at != std::string::npos; at = path.find(key, at + 1)) {
    const size_t end = at + key.size();
    if (end == path.size() || path[end] == '.') return path.substr(0, end);
  }
  return "";
}

double element_bytes(const std::string& dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "int64" || dtype == "float64") return 8;
  if (dtype.rfind("fp8", 0) == 0 || dtype == "int8" || dtype == "uint8" || dtype == "bool") return 1;
  return 2;
}

// The element counts of a math node's operands and output, from its shapes
// ("[4,1,2880] x [4096,2880] x [4096] -> [4,1,4096]"); empty when it has none.
struct Operands {
  std::vector<std::vector<double>> inputs;
  std::vector<double> output;
};
Operands operands_of(const std::string& shapes) {
  Operands out;
  const size_t arrow = shapes.find(" -> ");
  auto dims = [](const std::string& s) {
    std::vector<double> d;
    double v = 0;
    bool any = false;
    for (char c : s) {
      if (c >= '0' && c <= '9') {
        v = v * 10 + (c - '0');
        any = true;
      } else if (any) {
        d.push_back(v);
        v = 0;
        any = false;
      }
    }
    if (any) d.push_back(v);
    return d;
  };
  const std::string in = arrow == std::string::npos ? shapes : shapes.substr(0, arrow);
  size_t start = 0;
  while (start <= in.size()) {
    const size_t x = in.find(" x ", start);
    out.inputs.push_back(dims(in.substr(start, x == std::string::npos ? std::string::npos : x - start)));
    if (x == std::string::npos) break;
    start = x + 3;
  }
  if (arrow != std::string::npos) out.output = dims(shapes.substr(arrow + 4));
  return out;
}

double elements(const std::vector<double>& d) {
  double n = 1;
  for (double v : d) n *= v;
  return n;
}

bool attention_like(OpClass c) {
  return c == OpClass::kAttention || c == OpClass::kLatentAttention || c == OpClass::kIndexer ||
         c == OpClass::kStateScan || c == OpClass::kLinearAttention || c == OpClass::kConv;
}

// The precision a GEMM runs in given how its weight is stored: FP8 weights with FP8
// activations (vLLM's W8A8 FP8, the input quantised per token), NVFP4 as FP4; other
// formats (MXFP4 experts on Hopper: W4A16 kernels; int4) dequantise to the step's dtype.
std::string gemm_precision(const std::string& weight_dtype, const std::string& step_dtype) {
  if (weight_dtype.rfind("fp8", 0) == 0) return "fp8";
  if (weight_dtype.rfind("nvfp4", 0) == 0) return "fp4";
  return step_dtype;
}

// Weights stored packed in a format the GEMM does not compute in: it unpacks them to the
// step's dtype (MXFP4 on Hopper; FP8 and NVFP4 run on their tensor cores).
bool dequantises(const std::string& weight_dtype, const std::string& step_dtype) {
  if (weight_dtype.empty() || gemm_precision(weight_dtype, step_dtype) != step_dtype) return false;
  for (const char* plain : {"bfloat16", "float16", "float32"})
    if (weight_dtype.rfind(plain, 0) == 0) return false;
  return true;
}

// One routed-experts module's fused MoE, filled as its nodes are walked.
struct MoeState {
  size_t first = 0;  // index of its first kernel (align) in the step's kernels
  int gemms = 0;     // grouped GEMMs seen (the first is gate/up, the next down)
  int phase = 0;     // where its elementwise ops go: 0 before gate/up, 1 before down, 2 after
  double w13_weight = 0, w2_weight = 0;  // stored bytes of the experts the trace ran
  double experts_in_trace = 0;           // the distinct experts those bytes cover
  double num_experts = 0;
  std::set<std::string> expert_modules;  // eager experts: "experts.3", ...
};

}  // namespace

double EngineKernel::bytes() const {
  return activation_bytes + (is_moe() ? distinct_experts(routed_rows, num_experts) * expert_bytes : weight_bytes);
}

double LoweredStep::kernel_count() const {
  double n = 0;
  for (const auto& k : kernels) n += k.count;
  return n;
}

double distinct_experts(double rows, double experts) {
  if (experts <= 0 || rows <= 0) return 0;
  if (experts == 1) return 1;
  return experts * -std::expm1(rows * std::log1p(-1 / experts));
}

double busiest_group_experts(double rows, double experts, int groups) {
  if (groups <= 1) return distinct_experts(rows, experts);
  const int n = static_cast<int>(std::ceil(experts / groups));
  const double p = experts > 0 && rows > 0 ? -std::expm1(rows * std::log1p(-1 / std::max(experts, 1.0 + 1e-9))) : 0;
  if (p <= 0) return 0;
  if (p >= 1) return n;
  // E[max] = sum over k = 1..n of P(max >= k) = 1 - F(k - 1)^groups, F the Binomial(n, p) cdf.
  double expected = 0, cdf = 0, pmf = std::pow(1 - p, n);  // P(X = 0)
  for (int k = 1; k <= n; ++k) {
    cdf += pmf;  // F(k - 1)
    expected += 1 - std::pow(std::min(1.0, cdf), groups);
    pmf *= static_cast<double>(n - k + 1) / k * p / (1 - p);
  }
  return expected;
}

LoweredStep lower(const tree::Tree& t, Kernels kind) {
  LoweredStep out;
  auto times = [&](size_t i) { return t.multiplicity.empty() ? 1.0 : static_cast<double>(t.multiplicity[i]); };
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].kind != tree::NodeKind::kMath) out.layers += times(i) * predict::decoder_layers_in(t.nodes[i].cls);

  if (kind == Kernels::kEager) {
    for (size_t i = 0; i < t.nodes.size(); ++i) {
      const tree::Node& n = t.nodes[i];
      if (n.kind != tree::NodeKind::kMath) continue;
      const OpClass c = predict::op_class(n.cls, n.flops, n.mem_bytes);
      if (c == OpClass::kView) continue;
      EngineKernel k;
      k.name = n.cls;
      k.scope = parent_path(n.path);
      k.op_class = c;
      k.precision = t.dtype;
      k.flops = static_cast<double>(n.flops);
      k.activation_bytes = static_cast<double>(n.mem_bytes);
      k.count = times(i);
      k.nodes = {static_cast<int>(i)};
      out.kernels.push_back(std::move(k));
    }
    return out;
  }

  // Module paths, for the eager experts' parents and siblings.
  std::map<std::string, int> module_at;
  for (size_t i = 0; i < t.nodes.size(); ++i)
    if (t.nodes[i].kind != tree::NodeKind::kMath) module_at.emplace(t.nodes[i].path, static_cast<int>(i));
  auto in_rotary_table = [&](int i) {
    for (int p = t.nodes[i].parent; p >= 0; p = t.nodes[p].parent) {
      const std::string& cls = t.nodes[p].cls;
      const std::string suffix = "RotaryEmbedding";
      if (cls.size() >= suffix.size() && cls.compare(cls.size() - suffix.size(), suffix.size(), suffix) == 0) return true;
    }
    return false;
  };

  // The MoE blocks whose experts transformers runs one by one (their "experts.N" modules).
  std::set<std::string> moe_blocks;
  for (const tree::Node& n : t.nodes) {
    const std::string scope = experts_scope(n.path);
    if (!scope.empty()) moe_blocks.insert(parent_path(scope));
  }

  std::vector<EngineKernel>& ks = out.kernels;
  long run = -1;  // the open elementwise kernel, -1 when none
  std::map<std::string, size_t> packed;  // scope + "/" + packed name -> kernel
  std::map<std::string, MoeState> moes;
  std::string open_block;  // the MoE block whose experts ran last, while its ops go on
  auto new_kernel = [&](std::string name, std::string scope, OpClass c, size_t i) -> EngineKernel& {
    EngineKernel k;
    k.name = std::move(name);
    k.scope = std::move(scope);
    k.op_class = c;
    k.precision = t.dtype;
    k.count = times(i);
    ks.push_back(std::move(k));
    return ks.back();
  };
  auto add_elementwise = [&](EngineKernel& k, const tree::Node& n, size_t i) {
    k.flops += static_cast<double>(n.flops);
    k.activation_bytes = std::max(k.activation_bytes, static_cast<double>(n.mem_bytes));
    k.nodes.push_back(static_cast<int>(i));
  };
  // A MoE's five kernels, made when its first op is met.
  auto moe_state = [&](const std::string& scope, size_t i) -> MoeState& {
    auto [it, fresh] = moes.try_emplace(scope);
    MoeState& m = it->second;
    if (fresh) {
      m.first = ks.size();
      new_kernel("moe_align", scope, OpClass::kElementwise, i).count = 0;
      new_kernel("fused_moe.w13", scope, OpClass::kGemm, i).count = 0;
      new_kernel("moe_activation", scope, OpClass::kElementwise, i).count = 0;
      new_kernel("fused_moe.w2", scope, OpClass::kGemm, i).count = 0;
      new_kernel("moe_sum", scope, OpClass::kElementwise, i).count = 0;
    }
    return m;
  };
  // transformers' loop over the experts runs a fused MoE kernel's elementwise work once
  // per expert, each on its own rows: the fused kernel's bytes are the widest op of each
  // expert's pass, summed over the experts (so they grow with the routed rows, whatever
  // the number of experts the trace's tokens touched).
  std::map<std::pair<size_t, size_t>, double> widest_of_pass;  // (kernel, expert pass) -> bytes
  auto add_moe_elementwise = [&](size_t slot, size_t pass, const tree::Node& n, size_t i) {
    EngineKernel& k = ks[slot];
    k.flops += static_cast<double>(n.flops);
    double& widest = widest_of_pass[{slot, pass}];
    const double bytes = static_cast<double>(n.mem_bytes);
    if (bytes > widest) {
      k.activation_bytes += bytes - widest;
      widest = bytes;
    }
    k.nodes.push_back(static_cast<int>(i));
  };

  for (size_t i = 0; i < t.nodes.size(); ++i) {
    const tree::Node& n = t.nodes[i];
    if (n.kind != tree::NodeKind::kMath) continue;
    const OpClass c = predict::op_class(n.cls, n.flops, n.mem_bytes);
    if (c == OpClass::kView || in_rotary_table(static_cast<int>(i))) continue;
    const tree::Node& parent = t.nodes[n.parent];
    const std::string moe_scope = experts_scope(n.path);
    // transformers' loop over the experts gathers each expert's rows in the MoE block
    // itself, the first before any expert ran: the fused MoE's alignment does that.
    if (moe_scope.empty() && n.cls == "aten::index" && moe_blocks.count(parent_path(n.path))) {
      open_block = parent_path(n.path);
      run = -1;
      MoeState& m = moe_state(open_block + ".experts", i);
      add_moe_elementwise(m.first, m.expert_modules.size(), n, i);
      continue;
    }
    // The loop scatters each expert's rows in the block too, between the experts' own
    // ops: the fused MoE does that too.
    if (moe_scope.empty() && !open_block.empty() && c != OpClass::kGemm && !attention_like(c) &&
        n.path.rfind(open_block + ".", 0) == 0) {
      MoeState& m = moes[open_block + ".experts"];
      add_moe_elementwise(m.first + 2 * static_cast<size_t>(m.phase), m.expert_modules.size(), n, i);
      continue;
    }
    if (moe_scope.empty()) open_block.clear();
    if (!moe_scope.empty()) {
      open_block = parent_path(moe_scope);
      run = -1;
      MoeState& m = moe_state(moe_scope, i);
      EngineKernel* slot = nullptr;
      if (c == OpClass::kGemm) {
        const Operands ops = operands_of(n.shapes);
        const double e = element_bytes(n.dtype);
        const double in = ops.inputs.empty() ? 0 : elements(ops.inputs[0]) * e;
        const double outb = elements(ops.output) * e;
        const double rows = ops.inputs.empty() || ops.inputs[0].size() < 2
                                ? 0
                                : elements(ops.inputs[0]) / ops.inputs[0].back();
        const double weight = std::max(0.0, static_cast<double>(n.mem_bytes) - in - outb);
        bool down;
        if (n.cls == "aten::_grouped_mm") {
          down = m.gemms++ > 0;
          // The grouped product's weight operand is [experts, in, out]; the trace read the
          // experts its rows were expected to touch.
          if (ops.inputs.size() > 1 && !ops.inputs[1].empty()) {
            m.num_experts = ops.inputs[1][0];
            if (!down) m.experts_in_trace = distinct_experts(rows, m.num_experts);
          }
        } else {
          const std::string linear = last_component(parent.path);
          down = linear == "down_proj" || linear == "w2";
          // The expert module ("...experts.3") holding this projection.
          const std::string expert = parent_path(parent.path);
          if (m.expert_modules.insert(expert).second) m.experts_in_trace += 1;
          if (m.num_experts == 0) {
            // The experts of the MoE block: its parameters less its other children's, over one expert's.
            const auto block = module_at.find(parent_path(moe_scope));
            const auto one = module_at.find(expert);
            if (block != module_at.end() && one != module_at.end() && t.nodes[one->second].num_parameters > 0) {
              double others = 0;
              for (int ch : t.nodes[block->second].children)
                if (t.nodes[ch].kind != tree::NodeKind::kMath && experts_scope(t.nodes[ch].path).empty())
                  others += static_cast<double>(t.nodes[ch].num_parameters);
              m.num_experts = std::round((static_cast<double>(t.nodes[block->second].num_parameters) - others) /
                                         static_cast<double>(t.nodes[one->second].num_parameters));
            }
          }
        }
        slot = &ks[m.first + (down ? 3 : 1)];
        m.phase = down ? 2 : 1;
        (down ? m.w2_weight : m.w13_weight) += weight;
        slot->flops += static_cast<double>(n.flops);
        // An expert's up projection (w3) reads the rows its gate projection (w1) read: the
        // fused GEMM reads them, and counts them, once.
        const std::string linear = last_component(parent.path);
        const bool second_of_pair = linear == "up_proj" || linear == "w3";
        slot->activation_bytes += (second_of_pair ? 0 : in) + outb;
        if (!second_of_pair) slot->routed_rows += rows;
        slot->precision = gemm_precision(parent.weight_dtype, t.dtype);
        slot->dequantises = dequantises(parent.weight_dtype, t.dtype);
      } else {
        slot = &ks[m.first + 2 * static_cast<size_t>(m.phase)];
        add_moe_elementwise(m.first + 2 * static_cast<size_t>(m.phase), m.expert_modules.size(), n, i);
        slot->count = times(i);
        continue;
      }
      slot->nodes.push_back(static_cast<int>(i));
      slot->count = times(i);
      continue;
    }
    if (c == OpClass::kGemm) {
      run = -1;
      const Operands ops = operands_of(n.shapes);
      const double e = element_bytes(n.dtype);
      const double in = ops.inputs.empty() ? 0 : elements(ops.inputs[0]) * e;
      const double outb = elements(ops.output) * e;
      const bool has_weight = n.cls == "aten::linear" || n.cls == "aten::addmm";
      const double weight = has_weight ? std::max(0.0, static_cast<double>(n.mem_bytes) - in - outb) : 0;
      const bool linear_module = parent.kind == tree::NodeKind::kMl && parent.num_parameters > 0;
      const std::string name = linear_module ? packed_name(last_component(parent.path)) : n.cls;
      const std::string scope = linear_module ? parent_path(parent.path) : parent_path(n.path);
      const std::string precision = gemm_precision(parent.weight_dtype, t.dtype);
      const std::string key = scope + "/" + name;
      auto it = packed.find(key);
      if (linear_module && it != packed.end()) {
        // Another projection packed into this GEMM: its input is read once.
        EngineKernel& k = ks[it->second];
        k.flops += static_cast<double>(n.flops);
        k.activation_bytes += outb;
        k.weight_bytes += weight;
        k.nodes.push_back(static_cast<int>(i));
        continue;
      }
      if (precision != t.dtype) {
        // The engine quantises the GEMM's input first (per token), reading it in the
        // step's dtype and writing it at a byte or less per element.
        EngineKernel& q = new_kernel("quant_" + precision, scope, OpClass::kElementwise, i);
        q.activation_bytes = in * 1.5;
      }
      EngineKernel& k = new_kernel(name, scope, OpClass::kGemm, i);
      k.precision = precision;
      k.dequantises = dequantises(parent.weight_dtype, t.dtype);
      k.flops = static_cast<double>(n.flops);
      k.activation_bytes = in + outb;
      k.weight_bytes = weight;
      k.nodes.push_back(static_cast<int>(i));
      if (linear_module) packed[key] = ks.size() - 1;
      continue;
    }
    if (attention_like(c)) {
      run = -1;
      const bool leaf = parent.kind == tree::NodeKind::kMl || parent.kind == tree::NodeKind::kMlNp;
      EngineKernel& k = new_kernel(predict::op_class_name(c), leaf ? parent_path(parent.path) : parent.path, c, i);
      k.flops = static_cast<double>(n.flops);
      k.activation_bytes = static_cast<double>(n.mem_bytes);
      k.nodes.push_back(static_cast<int>(i));
      continue;
    }
    // A cast of a module's weights (DeepSeek's router reads its weight in float32 each
    // step, as transformers writes it): an engine keeps weights in the dtype it computes
    // in, so there is no kernel and the node has no share.
    if (n.cls == "aten::_to_copy" && parent.num_parameters > 0) {
      const Operands ops = operands_of(n.shapes);
      if (!ops.inputs.empty() && elements(ops.inputs[0]) == static_cast<double>(parent.num_parameters)) continue;
    }
    // Elementwise: joins the open fused kernel, or opens one. Fused kernels are named by
    // what they span: the ML leaves (input_layernorm, act_fn) and the ops called directly
    // in a module (add, mul): "add+post_attention_layernorm".
    const bool in_leaf = parent.kind == tree::NodeKind::kMl || parent.kind == tree::NodeKind::kMlNp;
    const std::string part = in_leaf ? last_component(parent.path) : n.cls.substr(n.cls.find("::") == std::string::npos ? 0 : n.cls.find("::") + 2);
    if (run < 0) {
      new_kernel(part, in_leaf ? parent_path(parent.path) : parent.path, OpClass::kElementwise, i);
      run = static_cast<long>(ks.size() - 1);
    } else {
      EngineKernel& k = ks[static_cast<size_t>(run)];
      const bool named = ("+" + k.name + "+").find("+" + part + "+") != std::string::npos;
      if (!named && k.name.size() < 80) k.name += "+" + part;
    }
    add_elementwise(ks[static_cast<size_t>(run)], n, i);
  }
  // One expert's bytes per projection, from what the trace read.
  for (auto& [scope, m] : moes) {
    if (m.num_experts <= 0 || m.experts_in_trace <= 0) continue;
    for (size_t k : {m.first + 1, m.first + 3}) {
      ks[k].num_experts = m.num_experts;
      ks[k].expert_bytes = (k == m.first + 1 ? m.w13_weight : m.w2_weight) / m.experts_in_trace;
    }
  }
  ks.erase(std::remove_if(ks.begin(), ks.end(), [](const EngineKernel& k) { return k.count == 0 || k.nodes.empty(); }),
           ks.end());
  return out;
}

std::vector<PairedKernel> pair_up(const LoweredStep& a, const LoweredStep& b) {
  std::vector<PairedKernel> out;
  std::map<std::string, size_t> at;
  for (const EngineKernel& k : a.kernels) {
    at[k.scope + "/" + k.name] = out.size();
    PairedKernel p{k, k};
    p.b.count = 0;
    p.b.flops = p.b.activation_bytes = p.b.routed_rows = 0;
    p.b.nodes.clear();
    out.push_back(std::move(p));
  }
  for (const EngineKernel& k : b.kernels) {
    auto it = at.find(k.scope + "/" + k.name);
    if (it != at.end() && out[it->second].b.count == 0) {
      out[it->second].b = k;
      continue;
    }
    PairedKernel p{k, k};
    p.a.count = 0;
    p.a.flops = p.a.activation_bytes = p.a.routed_rows = 0;
    p.a.nodes.clear();
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace irene::engines
