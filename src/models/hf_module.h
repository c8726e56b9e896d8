// HfModule: a torch::nn::Module that knows its Hugging Face class name, its path in
// the model (as named_modules() prints it) and its tree kind, so its forward can open
// a tree node with one line: `auto node = scope();`. Internal; includes libtorch.
#pragma once

#include <torch/torch.h>

#include <string>

#include "models/config.h"
#include "trace/ops.h"
#include "tree/tree.h"

namespace irene::models {

// How parameters are filled: random as Hugging Face initialises them, or shapes only.
struct Init {
  at::TensorOptions options;  // device kMeta for shapes-only models
  bool meta() const { return options.device().is_meta(); }
};

class HfModule : public torch::nn::Module {
 public:
  HfModule(const std::string& hf_class, tree::NodeKind kind) : torch::nn::Module(hf_class), kind_(kind) {}

  const std::string& path() const { return path_; }
  int64_t num_parameters() const { return num_parameters_; }
  // Opens this module's tree node. `replay` re-runs the forward pass with the same
  // inputs; it is kept only when the recorder captures (for profiling nodes alone).
  template <typename F>
  trace::ModuleScope scope(F&& replay) const {
    return trace::ModuleScope(path_, name(), kind_, num_parameters_,
                              trace::capturing() ? std::function<void()>(std::forward<F>(replay)) : nullptr,
                              weight_dtype_);
  }

  // Called once the whole model is built (see assign_paths). `weight_dtype`: the element
  // type of the module's own weights ("" for a module without any).
  void set_identity(std::string path, int64_t num_parameters, std::string weight_dtype) {
    path_ = std::move(path);
    num_parameters_ = num_parameters;
    weight_dtype_ = std::move(weight_dtype);
  }

  // How the checkpoint stores this module's weights, where quantised (see
  // apply_quantization); nullptr: at the run's dtype.
  const WeightFormat* weight_format() const { return format_.quantized() ? &format_ : nullptr; }
  void set_weight_format(WeightFormat f) {
    format_ = std::move(f);
    if (format_.quantized()) weight_dtype_ = format_.describe();
  }
  // A module holding routed experts (whose weights some formats alone quantise).
  virtual bool holds_experts() const { return false; }
  // Of its parameters, those a token does not pass through (the experts the router does
  // not pick: num_experts - top_k of them); for active-parameter counts.
  virtual int64_t inactive_parameters() const { return 0; }

 protected:
  // Registers a parameter under its Hugging Face name. std: normal(0, std) as
  // Hugging Face's _init_weights; std 0 means zeros, std < 0 means ones.
  at::Tensor add_param(const std::string& name, at::IntArrayRef shape, double std, const Init& init);

 private:
  tree::NodeKind kind_;
  std::string path_;
  int64_t num_parameters_ = 0;
  std::string weight_dtype_;
  WeightFormat format_;
};

// Gives every HfModule below `root` (and root itself) its path and parameter count.
void assign_paths(torch::nn::Module& root);
// Gives every module with weights below `root` the format `q` stores them in (after
// assign_paths: the formats follow the paths).
void apply_quantization(torch::nn::Module& root, const Quantization& q);

}  // namespace irene::models
