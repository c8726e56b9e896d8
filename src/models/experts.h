// The mixture-of-experts blocks of the 2025-26 families, as transformers v5 and serving
// engines run them: a router picks each token's top-k experts, the experts are one
// module holding all their weights in 3-D parameters, and their products run grouped by
// expert (one product per projection over every routed row, not a loop of small Linear
// layers), each touched expert's weights read once. Beside them a shared expert (always
// on), and Nemotron 3's latent projections. Internal; includes libtorch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "models/decoder.h"

namespace irene::models {

// Each token's experts and their weights: indices [T, k] (int64), weights [T, k].
struct Routing {
  at::Tensor indices, weights;
};

// How a family's router turns the hidden states into a Routing.
struct RouterOptions {
  std::string cls;  // "DeepseekV3TopkRouter", "GptOssTopKRouter", ...
  int64_t experts = 0, top_k = 0, hidden = 0;
  enum class Scoring {
    kSoftmaxThenTopK,  // Qwen: softmax over all experts, the top k (renormalised when asked)
    kTopKThenSoftmax,  // gpt-oss: the top k logits, softmax over those
    kTopKThenSigmoid,  // Llama 4: the top k logits, each through a sigmoid
    kSigmoidGrouped,   // DeepSeek, Nemotron-H: sigmoid scores, bias-corrected group-limited top k
  } scoring = Scoring::kSoftmaxThenTopK;
  bool bias = false;             // gpt-oss: the router's linear has a bias
  bool correction_bias = false;  // DeepSeek: e_score_correction_bias (a buffer) steers the choice only
  bool renormalize = true;       // the k weights divided by their sum
  double scaling = 1.0;          // routed_scaling_factor
  int64_t n_group = 1, topk_group = 1;
  bool float32 = false;          // DeepSeek: the router's product in float32
};

// DeepSeek V3's router as its config describes it (Nemotron-H's MoE layers use the same):
// sigmoid scores steered by a correction bias, the top k within the best groups, in float32.
RouterOptions grouped_sigmoid_router(std::string cls, const ModelConfig& c);

class Router : public HfModule {
 public:
  Router(const RouterOptions& o, const Init& init);
  Routing forward(const at::Tensor& x);  // x [T, hidden]

 private:
  RouterOptions o_;
  at::Tensor weight_, bias_, correction_;
};

// How a family's experts hold and apply their weights.
struct ExpertsOptions {
  std::string cls;  // "DeepseekV3NaiveMoe", "GptOssExperts", ...
  int64_t experts = 0, hidden = 0, width = 0;  // width: each expert's intermediate size
  bool input_major = false;  // gpt-oss, Llama 4: [E, hidden, 2 width] (x @ W) instead of [E, 2 width, hidden]
  bool gated = true;         // gate_up_proj (gate and up) and down_proj; else up_proj and down_proj (Nemotron-H)
  bool interleaved = false;  // gpt-oss: gate and up alternate along the output; else halves
  bool biases = false;       // gpt-oss: gate_up_proj_bias, down_proj_bias
  std::string act = "silu";  // silu, gelu_pytorch_tanh, relu2, or gpt-oss's clamped SwiGLU "swiglu_clamped"
  double limit = 7.0;        // swiglu_clamped: the clamp
  bool weights_on_input = false;  // Llama 4: the routing weight scales the expert's input
  bool act_module = true;    // an act_fn child module (transformers registers ACT2FN's module)
  int64_t top_k = 0;         // experts per token (for the parameters a token does not reach)
};

class FusedExperts : public HfModule {
 public:
  FusedExperts(const ExpertsOptions& o, const Init& init);
  at::Tensor forward(const at::Tensor& x, const Routing& routing);  // x [T, hidden] -> [T, hidden]
  bool holds_experts() const override { return true; }
  int64_t inactive_parameters() const override;

 private:
  // Rows per expert: the router's real choice, or on the meta device (shapes only) the
  // routed rows spread evenly.
  std::vector<int64_t> rows_per_expert(const at::Tensor& sorted_experts, int64_t rows) const;
  // Experts whose weights a step reads: those that got rows, or shapes only the expected
  // number under uniform routing, E (1 - (1 - 1/E)^rows).
  double experts_read(const std::vector<int64_t>& counts, int64_t rows, bool meta) const;
  at::Tensor activate(const at::Tensor& h);

  ExpertsOptions o_;
  at::Tensor gate_up_, gate_up_bias_, down_, down_bias_;
  std::shared_ptr<Activation> act_;
};

// A family's sparse MoE feed-forward block: router, experts, and optionally a shared
// expert (gated by a sigmoid in Qwen's) and Nemotron 3's latent projections.
struct MoeOptions {
  std::string cls;  // "DeepseekV3MoE", ...
  RouterOptions router;
  ExpertsOptions experts;
  std::string router_name = "gate", experts_name = "experts", shared_name = "shared_experts";
  bool router_first = false;       // registration order: router before the experts
  int64_t shared_width = 0;        // 0: no shared expert
  bool shared_gated_mlp = true;    // a gated MLP (gate, up, down); else Nemotron-H's up/down MLP
  std::string shared_cls;          // the shared expert's class
  GatedMLP::Names shared_names;    // its modules' names (Llama 4 calls the activation activation_fn)
  bool shared_expert_gate = false; // Qwen: sigmoid(shared_expert_gate(x)) scales the shared expert
  int64_t latent = 0;              // Nemotron 3: experts work in this width (fc1/fc2_latent_proj)
};

class MoeBlock : public FeedForward {
 public:
  MoeBlock(const ModelConfig& c, const MoeOptions& o, const Init& init);
  at::Tensor forward(const at::Tensor& x) override;

 private:
  MoeOptions o_;
  std::shared_ptr<Router> router_;
  std::shared_ptr<FusedExperts> experts_;
  std::shared_ptr<FeedForward> shared_;
  std::shared_ptr<TorchLinear> shared_gate_, fc1_latent_, fc2_latent_;
};

}  // namespace irene::models
