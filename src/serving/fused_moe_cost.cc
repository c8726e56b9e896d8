#include "serving/fused_moe_cost.h"

#include "engines/lowering.h"

namespace irene::serving {

predict::KernelCost fused_moe_cost(const FusedMoeLaunch& k, double peak, const machines::MachineSpec& m,
                                   const predict::RooflineParams& params, int num_gpus, bool expert_parallel) {
  const double g = num_gpus;
  const double touched = engines::distinct_experts(k.routed_rows, k.experts) * k.expert_bytes;
  predict::KernelCost c =
      predict::kernel_cost(k.op_class, k.flops, k.activation_bytes + touched, peak, m, params, num_gpus, k.dequantises);
  if (!expert_parallel || num_gpus <= 1) return c;
  // Every GPU waits for the busiest one, reading its touched experts whole; the others
  // wait out the difference, and all of them the expert-parallel launch's fixed cost.
  const double busiest_read = g * engines::busiest_group_experts(k.routed_rows, k.experts, num_gpus) * k.expert_bytes;
  const predict::KernelCost busiest = predict::kernel_cost(k.op_class, k.flops, k.activation_bytes + busiest_read, peak,
                                                           m, params, num_gpus, k.dequantises);
  const double waiting_w = predict::collective_wait_power_w(m, params);
  if (busiest.latency_s > c.latency_s) {
    c.energy_j += g * waiting_w * (busiest.latency_s - c.latency_s);
    c.latency_s = busiest.latency_s;
  }
  c.latency_s += params.expert_parallel_latency_s;
  c.energy_j += g * waiting_w * params.expert_parallel_latency_s;
  return c;
}

}  // namespace irene::serving
