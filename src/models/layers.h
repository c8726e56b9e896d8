// The ML leaves of the tree, with Hugging Face's class and parameter names:
// Linear, Conv1D (transformers' GPT-style linear, weight [in, out]), LayerNorm,
// Embedding, Tanh. Internal; includes libtorch.
#pragma once

#include "models/hf_module.h"

namespace irene::models {

class Linear : public HfModule {
 public:
  Linear(int64_t in_features, int64_t out_features, const Init& init);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
};

class Conv1D : public HfModule {
 public:
  Conv1D(int64_t nf, int64_t nx, const Init& init);  // transformers' argument order
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
};

class LayerNorm : public HfModule {
 public:
  LayerNorm(int64_t dim, double eps, const Init& init);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight, bias;
  double eps;
};

class Embedding : public HfModule {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, const Init& init);
  at::Tensor forward(const at::Tensor& ids);
  at::Tensor weight;
};

class Tanh : public HfModule {
 public:
  Tanh() : HfModule("Tanh", tree::NodeKind::kMl) {}
  at::Tensor forward(const at::Tensor& x);
};

// A registered nn.Dropout, so named_modules() matches Hugging Face's; inference only.
std::shared_ptr<torch::nn::DropoutImpl> make_dropout();

// The activation functions Hugging Face calls as functions (not modules):
// "gelu" (erf), "gelu_new" (tanh approximation, as GPT-2 computes it op by op), "relu".
at::Tensor activation(const std::string& name, const at::Tensor& x);

}  // namespace irene::models
