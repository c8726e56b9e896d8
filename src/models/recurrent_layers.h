// The modules Mamba-2 and gated DeltaNet mixers share: the depthwise causal convolution
// (torch's nn.Conv1d with padding kernel - 1, run over a state of the last kernel - 1
// inputs) and the gated RMSNorm around the recurrence's output. Internal; includes libtorch.
#pragma once

#include <string>

#include "models/decoder.h"

namespace irene::models {

class CausalConv1d : public HfModule {
 public:
  CausalConv1d(int64_t channels, int64_t kernel, bool bias, const Init& init);
  // x [b, channels, t] after `state` [b, channels, kernel - 1] (updated in place).
  at::Tensor forward(const at::Tensor& x, at::Tensor& state);
  at::Tensor weight, bias;
};

// RMSNorm with a SiLU gate: Mamba-2's (Zamba2RMSNormGated) gates first and normalises
// each of `groups` groups of channels; gated DeltaNet's normalises first, then gates.
class GatedRMSNorm : public HfModule {
 public:
  GatedRMSNorm(const std::string& cls, int64_t dim, int64_t groups, bool gate_first, double eps, const Init& init);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& gate);
  at::Tensor weight;

 private:
  int64_t groups_;
  bool gate_first_;
  double eps_;
};

}  // namespace irene::models
