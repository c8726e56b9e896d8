// The decoder layers DeepSeek-V3, DeepSeek-V3.2 and GLM-5 share (one spec each, named
// after the family's prefix): multi-head latent attention, the first
// first_k_dense_replace layers a dense MLP, the others DeepSeekMoE (sigmoid scores
// picked in groups with a correction bias, routed_scaling_factor, fused experts and
// shared experts). Internal; includes libtorch.
#pragma once

#include <string>

#include "models/decoder.h"

namespace irene::models {

DecoderSpec deepseek_spec(const std::string& prefix);

}  // namespace irene::models
