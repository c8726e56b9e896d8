// Loading real weights from a Hugging Face model.safetensors file. Internal; libtorch.
#pragma once

#include <torch/torch.h>

#include <string>

#include "common/status.h"

namespace irene::models {

struct LoadReport {
  int loaded = 0;   // parameters and buffers filled from the file
  int ignored = 0;  // tensors in the file the base model has no place for (heads, ...)
};

// Fills `model`'s parameters (and matching buffers) from the file. Keys may carry the
// task model's prefix ("bert.", "transformer.", ...). Every parameter of the model must
// be present with its exact shape; F32, F16 and BF16 are read. A path ending in
// ".index.json" is a sharded checkpoint's model.safetensors.index.json: every shard its
// weight_map names (files beside it) is read.
Result<LoadReport> load_safetensors(torch::nn::Module& model, const std::string& path);

}  // namespace irene::models
