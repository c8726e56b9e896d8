// What one launch of a fused MoE GEMM costs on a tensor-parallel group: the experts its
// routed rows touch, read once each, and under expert parallelism the wait for the GPU
// whose share of the experts they load most. The serving iterations and the step tree
// price it alike, so that the tree's nodes add up to the iteration.
#pragma once

#include "machines/catalogue.h"
#include "predict/roofline.h"

namespace irene::serving {

struct FusedMoeLaunch {
  predict::OpClass op_class = predict::OpClass::kGemm;
  double flops = 0;
  double activation_bytes = 0;
  double routed_rows = 0;   // tokens x top_k
  double experts = 0;       // the layer's routed experts
  double expert_bytes = 0;  // one expert's stored bytes for this GEMM
  bool dequantises = false;  // unpacks packed weights as it reads them
};

// `params` as the engine's queued kernels run (predict::queued_kernels); `num_gpus` the
// group; `expert_parallel`: each GPU holds E / num_gpus whole experts, else every GPU a
// slice of each.
predict::KernelCost fused_moe_cost(const FusedMoeLaunch& k, double peak, const machines::MachineSpec& m,
                                   const predict::RooflineParams& params, int num_gpus, bool expert_parallel);

}  // namespace irene::serving
