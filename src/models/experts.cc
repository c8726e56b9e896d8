// Routing and grouped experts (see experts.h). The experts' forward follows the grouped
// path of transformers v5 and of serving engines: the token-expert slots sorted by
// expert, the tokens' rows gathered in that order, one grouped product per projection,
// the routing weights applied, the rows added back to their tokens.
#include "models/experts.h"

#include <cmath>

#include "trace/ops.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

namespace {
constexpr double kInitStd = 0.02;
}  // namespace

// ---- router ----

RouterOptions grouped_sigmoid_router(std::string cls, const ModelConfig& c) {
  const DecoderConfig& d = c.decoder;
  return RouterOptions{.cls = std::move(cls),
                       .experts = d.num_experts,
                       .top_k = d.num_experts_per_tok,
                       .hidden = c.hidden_size,
                       .scoring = RouterOptions::Scoring::kSigmoidGrouped,
                       .correction_bias = true,
                       .renormalize = d.norm_topk_prob,
                       .scaling = d.routed_scaling_factor,
                       .n_group = d.n_group,
                       .topk_group = d.topk_group,
                       .float32 = true};
}

Router::Router(const RouterOptions& o, const Init& init) : HfModule(o.cls, tree::NodeKind::kMl), o_(o) {
  weight_ = add_param("weight", {o.experts, o.hidden}, kInitStd, init);
  if (o.bias) bias_ = add_param("bias", {o.experts}, 0, init);
  if (o.correction_bias) {
    // A buffer, kept in float32 (transformers' _keep_in_fp32_modules_strict); random here
    // so that it matters in tests.
    const auto f32 = init.options.dtype(at::kFloat);
    correction_ = init.meta() ? at::empty({o.experts}, f32) : at::normal(0.0, 0.1, {o.experts}, c10::nullopt, f32);
    register_buffer("e_score_correction_bias", correction_);
  }
}

Routing Router::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  Tensor in = o_.float32 ? ops::to_dtype(x, at::kFloat) : x;
  Tensor w = o_.float32 ? ops::to_dtype(weight_, at::kFloat) : weight_;
  Tensor logits = ops::linear_op(in, w, bias_);  // [T, E]
  Routing r;
  switch (o_.scoring) {
    case RouterOptions::Scoring::kSoftmaxThenTopK: {
      Tensor probs = ops::ml_softmax(ops::to_dtype(logits, at::kFloat), 1);
      std::tie(r.weights, r.indices) = ops::topk(probs, o_.top_k);
      if (o_.renormalize) r.weights = ops::div(r.weights, ops::sum(r.weights, -1, /*keepdim=*/true));
      break;
    }
    case RouterOptions::Scoring::kTopKThenSoftmax: {
      Tensor top;
      std::tie(top, r.indices) = ops::topk(logits, o_.top_k);
      r.weights = ops::ml_softmax(top, 1);
      break;
    }
    case RouterOptions::Scoring::kTopKThenSigmoid: {
      Tensor top;
      std::tie(top, r.indices) = ops::topk(logits, o_.top_k);
      r.weights = ops::sigmoid(ops::to_dtype(top, at::kFloat));
      break;
    }
    case RouterOptions::Scoring::kSigmoidGrouped: {
      Tensor scores = ops::sigmoid(ops::to_dtype(logits, at::kFloat));
      r.indices = ops::grouped_topk(scores, correction_, o_.top_k, o_.n_group, o_.topk_group);
      r.weights = ops::gather_last(scores, r.indices);  // the uncorrected scores weigh the experts
      if (o_.renormalize) r.weights = ops::div(r.weights, ops::add(ops::sum(r.weights, -1, true), 1e-20));
      break;
    }
  }
  if (o_.scaling != 1.0) r.weights = ops::mul(r.weights, o_.scaling);
  return r;
}

// ---- experts ----

FusedExperts::FusedExperts(const ExpertsOptions& o, const Init& init) : HfModule(o.cls, tree::NodeKind::kModule), o_(o) {
  const int64_t e = o.experts, h = o.hidden, up = o.gated ? 2 * o.width : o.width;
  const char* first = o.gated ? "gate_up_proj" : "up_proj";
  gate_up_ = add_param(first, o.input_major ? std::vector<int64_t>{e, h, up} : std::vector<int64_t>{e, up, h}, kInitStd, init);
  if (o.biases) gate_up_bias_ = add_param(std::string(first) + "_bias", {e, up}, kInitStd, init);
  down_ = add_param("down_proj", o.input_major ? std::vector<int64_t>{e, o.width, h} : std::vector<int64_t>{e, h, o.width},
                    kInitStd, init);
  if (o.biases) down_bias_ = add_param("down_proj_bias", {e, h}, kInitStd, init);
  if (o.act_module) act_ = register_module("act_fn", std::make_shared<Activation>(o.act, /*v5_names=*/true));
}

int64_t FusedExperts::inactive_parameters() const {
  if (o_.experts == 0) return 0;
  return num_parameters() / o_.experts * (o_.experts - o_.top_k);
}

std::vector<int64_t> FusedExperts::rows_per_expert(const Tensor& sorted_experts, int64_t rows) const {
  std::vector<int64_t> counts(o_.experts, 0);
  if (sorted_experts.is_meta()) {
    for (int64_t e = 0; e < o_.experts; ++e) counts[e] = rows / o_.experts + (e < rows % o_.experts ? 1 : 0);
    return counts;
  }
  Tensor bins = at::bincount(sorted_experts.to(at::kCPU), {}, o_.experts);
  for (int64_t e = 0; e < o_.experts; ++e) counts[e] = bins[e].item<int64_t>();
  return counts;
}

double FusedExperts::experts_read(const std::vector<int64_t>& counts, int64_t rows, bool meta) const {
  if (!meta) {
    double touched = 0;
    for (int64_t c : counts) touched += c > 0 ? 1 : 0;
    return touched;
  }
  const double e = static_cast<double>(o_.experts);
  return e * (1.0 - std::pow(1.0 - 1.0 / e, static_cast<double>(rows)));
}

Tensor FusedExperts::activate(const Tensor& h) {
  const int64_t n = h.size(-1) / 2;
  if (o_.act == "swiglu_clamped") {
    // gpt-oss: gate (even columns) clamped above, up (odd) both ways; gate * sigmoid(1.702
    // gate) times (up + 1).
    Tensor gate = ops::slice_step(h, -1, 0, h.size(-1), 2), up = ops::slice_step(h, -1, 1, h.size(-1), 2);
    gate = ops::clamp(gate, c10::nullopt, o_.limit);
    up = ops::clamp(up, -o_.limit, o_.limit);
    Tensor glu = ops::mul(gate, ops::sigmoid(ops::mul(gate, 1.702)));
    return ops::mul(ops::add(up, 1.0), glu);
  }
  if (!o_.gated) return act_->forward(h);
  Tensor gate = ops::slice(h, -1, 0, n), up = ops::slice(h, -1, n, 2 * n);
  return ops::mul(act_->forward(gate), up);
}

Tensor FusedExperts::forward(const Tensor& x, const Routing& routing) {
  auto node = scope([=, this] { forward(x, routing); });
  const int64_t tokens = x.size(0), k = routing.indices.size(1), slots = tokens * k;
  // The token-expert slots in expert order, and each slot's token.
  auto [sorted_experts, order] = ops::sort(ops::view(routing.indices, {slots}));
  Tensor token_of = ops::floor_divide(order, k);
  Tensor rows = ops::index_rows(x, token_of);  // [slots, hidden]
  Tensor slot_weights = ops::index_rows(ops::view(routing.weights, {slots}), order);
  if (o_.weights_on_input)
    rows = ops::mul(rows, ops::to_dtype(ops::unsqueeze(slot_weights, -1), rows.scalar_type()));
  const std::vector<int64_t> counts = rows_per_expert(sorted_experts, slots);
  const double read = experts_read(counts, slots, x.is_meta());
  auto stored = [&](int64_t out, int64_t in) -> std::optional<double> {
    if (const WeightFormat* f = weight_format()) return f->bytes(out, in);
    return std::nullopt;
  };
  const int64_t up = o_.gated ? 2 * o_.width : o_.width;
  Tensor h = ops::grouped_mm(rows, gate_up_, counts, o_.input_major, read, stored(up, o_.hidden));
  if (o_.biases) h = ops::add(h, ops::index_rows(gate_up_bias_, sorted_experts));
  h = activate(h);
  Tensor y = ops::grouped_mm(h, down_, counts, o_.input_major, read, stored(o_.hidden, o_.width));
  if (o_.biases) y = ops::add(y, ops::index_rows(down_bias_, sorted_experts));
  if (!o_.weights_on_input) y = ops::mul(y, ops::to_dtype(ops::unsqueeze(slot_weights, -1), y.scalar_type()));
  Tensor out = ops::zeros({tokens, o_.hidden}, x.options());
  ops::index_add_(out, token_of, ops::to_dtype(y, x.scalar_type()));
  return out;
}

// ---- the MoE block ----

MoeBlock::MoeBlock(const ModelConfig& c, const MoeOptions& o, const Init& init)
    : FeedForward(o.cls, tree::NodeKind::kModule), o_(o) {
  auto make_router = [&] { router_ = register_module(o.router_name, std::make_shared<Router>(o.router, init)); };
  if (o.router_first) make_router();
  ExpertsOptions eo = o.experts;
  eo.top_k = o.router.top_k;
  experts_ = register_module(o.experts_name, std::make_shared<FusedExperts>(eo, init));
  if (!o.router_first) make_router();
  if (o.shared_width > 0) {
    shared_ = o.shared_gated_mlp
                  ? std::shared_ptr<FeedForward>(std::make_shared<GatedMLP>(o.shared_cls, c, o.shared_width, false, init,
                                                                            o.shared_names, /*v5_names=*/true))
                  : std::make_shared<PlainMLP>(o.shared_cls, c, c.hidden_size, o.shared_width, init);
    register_module(o.shared_name, shared_);
  }
  if (o.shared_expert_gate)
    shared_gate_ = register_module("shared_expert_gate", std::make_shared<TorchLinear>(c.hidden_size, 1, false, init));
  if (o.latent > 0) {
    fc1_latent_ = register_module("fc1_latent_proj", std::make_shared<TorchLinear>(c.hidden_size, o.latent, c.decoder.mlp_bias, init));
    fc2_latent_ = register_module("fc2_latent_proj", std::make_shared<TorchLinear>(o.latent, c.hidden_size, c.decoder.mlp_bias, init));
  }
}

Tensor MoeBlock::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  const int64_t b = x.size(0), s = x.size(1), h = x.size(2);
  Tensor flat = ops::view(x, {b * s, h});
  Routing r = router_->forward(flat);
  Tensor routed = experts_->forward(fc1_latent_ ? fc1_latent_->forward(flat) : flat, r);
  if (fc2_latent_) routed = fc2_latent_->forward(routed);
  if (shared_) {
    Tensor shared = shared_->forward(flat);
    if (shared_gate_) shared = ops::mul(ops::sigmoid(shared_gate_->forward(flat)), shared);
    routed = ops::add(routed, shared);
  }
  return ops::view(routed, {b, s, h});
}

}  // namespace irene::models
