#include "trace/op_cost.h"

#include <algorithm>
#include <functional>
#include <numeric>
#include <unordered_map>

namespace irene::trace {

int64_t TensorMeta::numel() const {
  return std::accumulate(shape.begin(), shape.end(), int64_t{1}, std::multiplies<>());
}

namespace {

struct PerElement {
  bool of_output;  // binary ops count the (broadcast) output, unary ops the first input
  int flops;
  int elements_moved;
};

const std::unordered_map<std::string_view, PerElement>& elementwise_table() {
  static const std::unordered_map<std::string_view, PerElement> table = {
      {"aten::abs", {false, 1, 1}},        {"aten::relu", {false, 1, 2}},
      {"aten::gelu", {false, 6, 2}},       {"aten::layer_norm", {false, 8, 4}},
      {"aten::rsqrt", {false, 2, 1}},      {"aten::softmax", {false, 5, 3}},
      {"aten::tanh", {false, 4, 1}},       {"aten::max", {false, 1, 1}},
      {"aten::mean", {false, 1, 1}},       {"aten::min", {false, 1, 1}},
      {"aten::sum", {false, 1, 1}},        {"aten::add", {true, 1, 2}},
      {"aten::add_", {true, 1, 2}},        {"aten::div", {true, 1, 2}},
      {"aten::pow", {true, 1, 2}},         {"aten::sub", {true, 1, 2}},
      {"aten::mul", {true, 1, 3}},         {"aten::mul_", {true, 1, 3}},
      {"aten::rsub", {true, 1, 3}},
      // irene's rules for the decoder LLMs' ops (see op_cost.h)
      {"aten::neg", {false, 1, 2}},        {"aten::silu", {false, 4, 2}},
      {"aten::sigmoid", {false, 4, 2}},    {"aten::exp", {false, 1, 2}},
      {"aten::cos", {false, 4, 2}},        {"aten::sin", {false, 4, 2}},
      {"aten::clamp", {false, 2, 2}},      {"aten::isinf", {false, 1, 2}},
      {"aten::log", {false, 4, 2}},        {"aten::floor", {false, 1, 2}},
      {"aten::square", {false, 1, 2}},     {"aten::softplus", {false, 4, 2}},
      {"aten::floor_divide", {false, 1, 2}},
  };
  return table;
}

// A batched [m,n] x [n,p] product: 2mnp flops, reads both operands, writes the result.
OpCost batched_gemm(int64_t batch, int64_t m, int64_t n, int64_t p, int element_bytes) {
  return {2 * batch * m * n * p, batch * (m * n + n * p + m * p) * element_bytes};
}

OpCost matmul_cost(const std::vector<TensorMeta>& in) {
  if (in.size() < 2) return {};
  const auto& a = in[0].shape;
  const auto& b = in[1].shape;
  const int eb = in[1].element_bytes;
  if (a.size() == 2 && b.size() == 2) return batched_gemm(1, a[0], a[1], b[1], eb);
  if (a.size() == 3 && b.size() == 2) return batched_gemm(a[0], a[1], a[2], b[1], eb);
  if (a.size() == 4 && b.size() == 4) return batched_gemm(a[0] * a[1], a[2], a[3], b[3], eb);
  if (a.size() == 3 && b.size() == 3) return batched_gemm(a[0], a[1], a[2], b[2], eb);
  return {};
}

}  // namespace

OpCost irene_op_cost(std::string_view op, const std::vector<TensorMeta>& in, const TensorMeta& out) {
  const auto& table = elementwise_table();
  if (auto it = table.find(op); it != table.end()) {
    const PerElement& pe = it->second;
    const TensorMeta& counted = (pe.of_output || in.empty()) ? out : in[0];
    const int64_t n = counted.numel();
    return {n * pe.flops, n * pe.elements_moved * counted.element_bytes};
  }
  if (op == "aten::addmm" && in.size() >= 3) {
    // addmm(bias, x[n,m], w[m,p]): the bias is not counted.
    const auto& x = in[1].shape;
    return batched_gemm(1, x[0], x[1], out.shape.back(), in[1].element_bytes);
  }
  if (op == "aten::bmm" && in.size() >= 2)
    return batched_gemm(in[0].shape[0], in[0].shape[1], in[0].shape[2], in[1].shape[2], in[1].element_bytes);
  if (op == "aten::matmul") return matmul_cost(in);
  if (op == "aten::embedding" && in.size() >= 2)  // embedding(weight, indices)
    return {0, in[1].numel() * in[1].element_bytes + out.numel() * out.element_bytes};
  if (op == "aten::clone" && !in.empty()) return {0, 2 * in[0].numel() * in[0].element_bytes};
  if (op == "aten::linear" && in.size() >= 2) {  // linear(x, weight[n, k], bias?)
    const int64_t k = in[1].shape.back(), n = in[1].shape.front();
    const int64_t rows = in[0].numel() / std::max<int64_t>(k, 1);
    OpCost c = batched_gemm(1, rows, k, n, in[1].element_bytes);
    if (in.size() >= 3) {
      c.flops += rows * n;
      c.mem_bytes += n * in[2].element_bytes;
    }
    return c;
  }
  if (op == "aten::cat") return {0, 2 * out.numel() * out.element_bytes};
  if (op == "aten::_to_copy" && !in.empty())
    return {0, in[0].numel() * in[0].element_bytes + out.numel() * out.element_bytes};
  if ((op == "aten::index" || op == "aten::index_select") && in.size() >= 2)
    return {0, in[1].numel() * in[1].element_bytes + 2 * out.numel() * out.element_bytes};
  if (op == "aten::index_add_" && in.size() >= 3)
    return {in[2].numel(), 3 * in[2].numel() * in[2].element_bytes};
  if (op == "aten::topk" && !in.empty())
    return {in[0].numel(), in[0].numel() * in[0].element_bytes + out.numel() * (out.element_bytes + 8)};
  if (op == "aten::sort" && !in.empty()) {  // a comparison sort along the last dim: n log2(n) per row
    const int64_t n = in[0].shape.empty() ? 1 : in[0].shape.back();
    int64_t depth = 1;
    while ((int64_t{1} << depth) < n) ++depth;
    return {in[0].numel() * depth, in[0].numel() * in[0].element_bytes + out.numel() * (out.element_bytes + 8)};
  }
  if (op == "aten::gather" && in.size() >= 2)
    return {0, in[1].numel() * in[1].element_bytes + 2 * out.numel() * out.element_bytes};
  if (op == "aten::copy_" && !in.empty())
    return {0, (in[0].numel() + out.numel()) * in[0].element_bytes};
  return {};
}

OpCost attention_cost(const TensorMeta& q, const TensorMeta& k, const TensorMeta& v, const TensorMeta& out,
                      bool softcap) {
  if (q.shape.size() != 4 || k.shape.size() != 4 || v.shape.size() != 4) return {};
  const int64_t b = q.shape[0], h = q.shape[1], s = q.shape[2], d = q.shape[3];
  const int64_t keys = k.shape[2], dv = v.shape[3];
  const int64_t scores = b * h * s * keys;
  const int64_t elementwise = (1 + 1 + 5 + (softcap ? 6 : 0)) * scores;
  return {2 * scores * d + elementwise + 2 * scores * dv,
          q.numel() * q.element_bytes + k.numel() * k.element_bytes + v.numel() * v.element_bytes +
              out.numel() * out.element_bytes};
}

std::string format_shapes(const std::vector<TensorMeta>& inputs, const TensorMeta& output) {
  auto one = [](const TensorMeta& t) {
    std::string s = "[";
    for (size_t i = 0; i < t.shape.size(); ++i) s += (i ? "," : "") + std::to_string(t.shape[i]);
    return s + "]";
  };
  std::string s;
  for (size_t i = 0; i < inputs.size(); ++i) s += (i ? " x " : "") + one(inputs[i]);
  return s + " -> " + one(output);
}

}  // namespace irene::trace
