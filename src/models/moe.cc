// Routing as transformers v4.5x's MixtralSparseMoeBlock computes it: softmax over the
// router's logits in float32, top-k, optionally renormalised, then a loop over the
// experts that received tokens, gathering their rows and adding the results back.
#include "models/moe.h"

namespace irene::models {

namespace ops = trace::ops;
using at::Tensor;

SparseMoeBlock::SparseMoeBlock(const std::string& cls, const ModelConfig& c, const ExpertFactory& make_expert,
                               const Init& init)
    : FeedForward(cls, tree::NodeKind::kModule),
      num_experts_(c.decoder.num_experts),
      top_k_(c.decoder.num_experts_per_tok),
      norm_topk_prob_(c.decoder.norm_topk_prob) {
  gate_ = register_module("gate", std::make_shared<TorchLinear>(c.hidden_size, num_experts_, false, init));
  for (int64_t e = 0; e < num_experts_; ++e) experts_->push_back(make_expert(init));
  register_module("experts", experts_);
}

int64_t SparseMoeBlock::inactive_parameters() const {
  if (num_experts_ == 0) return 0;
  const int64_t one = experts_->ptr(0)->as<FeedForward>()->num_parameters();
  return one * (num_experts_ - top_k_);
}

std::vector<int64_t> SparseMoeBlock::tokens_per_expert(const Tensor& selected, int64_t tokens) const {
  std::vector<int64_t> counts(num_experts_, 0);
  if (selected.is_meta()) {
    const int64_t routed = tokens * top_k_;
    for (int64_t e = 0; e < num_experts_; ++e) counts[e] = routed / num_experts_ + (e < routed % num_experts_ ? 1 : 0);
    return counts;
  }
  // Which experts got tokens decides which run, as transformers' expert_hit does.
  Tensor bins = at::bincount(selected.flatten().to(at::kCPU), {}, num_experts_);
  for (int64_t e = 0; e < num_experts_; ++e) counts[e] = bins[e].item<int64_t>();
  return counts;
}

Tensor SparseMoeBlock::forward(const Tensor& x) {
  auto node = scope([=, this] { forward(x); });
  const int64_t b = x.size(0), s = x.size(1), h = x.size(2);
  Tensor flat = ops::view(x, {-1, h});
  Tensor router_logits = gate_->forward(flat);
  Tensor probs = ops::ml_softmax(ops::to_dtype(router_logits, at::kFloat), 1);
  auto [weights, selected] = ops::topk(probs, top_k_);
  if (norm_topk_prob_) weights = ops::div(weights, ops::sum(weights, -1, /*keepdim=*/true));
  weights = ops::to_dtype(weights, x.scalar_type());
  Tensor out = ops::zeros({b * s, h}, x.options());
  Tensor expert_mask = ops::permute(ops::one_hot(selected, num_experts_), {2, 1, 0});  // [experts, top_k, tokens]
  const std::vector<int64_t> counts = tokens_per_expert(selected, b * s);
  for (int64_t e = 0; e < num_experts_; ++e) {
    if (counts[e] == 0) continue;
    std::vector<Tensor> where = ops::where_true(ops::select(expert_mask, 0, e), counts[e]);  // {slot, token}
    Tensor current = ops::index_rows(flat, where[1]);
    Tensor y = experts_[e]->as<FeedForward>()->forward(current);
    y = ops::mul(y, ops::index_pairs(weights, where[1], where[0]));
    ops::index_add_(out, where[1], ops::to_dtype(y, x.scalar_type()));
  }
  return ops::view(out, {b, s, h});
}

}  // namespace irene::models
