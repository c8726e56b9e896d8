// The sparse mixture-of-experts block of Mixtral and Qwen3-MoE: a router (`gate`) picks
// top_k experts per token, each expert runs on the tokens routed to it, and their outputs
// are summed back weighted by the router's probabilities. Internal; includes libtorch.
#pragma once

#include <functional>

#include "models/decoder.h"

namespace irene::models {

class SparseMoeBlock : public FeedForward {
 public:
  using ExpertFactory = std::function<std::shared_ptr<FeedForward>(const Init&)>;
  SparseMoeBlock(const std::string& cls, const ModelConfig& c, const ExpertFactory& make_expert, const Init& init);
  at::Tensor forward(const at::Tensor& x) override;
  int64_t inactive_parameters() const override;

 private:
  // Tokens routed to each expert: the router's real choice, or on the meta device
  // (shapes only) balanced routing, tokens x top_k spread evenly over the experts.
  std::vector<int64_t> tokens_per_expert(const at::Tensor& selected, int64_t tokens) const;

  std::shared_ptr<TorchLinear> gate_;
  torch::nn::ModuleList experts_;
  int64_t num_experts_, top_k_;
  bool norm_topk_prob_;
};

}  // namespace irene::models
