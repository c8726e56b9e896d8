// Whether a batch fits: an engine gives the weights, the activations of its largest
// iteration and the KV cache a share of each GPU's memory (gpu_memory_utilization), and
// runs no more requests than the cache holds. The weights at their stored size (from the
// engine's kernels: every expert, the embedding when lm_head does not share it), the
// activations of a full token budget through the widest kernel of a layer, and each
// running request's cache at the mean context of the steady state (prompt + half the
// output, or the window a sliding layer keeps; a recurrent layer's constant state).
// Page rounding, CUDA graphs' memory and the sampler's buffers are not counted.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "common/status.h"
#include "machines/catalogue.h"
#include "models/config.h"
#include "serving/serving.h"

namespace irene::serving {

struct MemoryFit {
  double memory_bytes = 0;       // what the engine gives itself: GPUs x memory x utilisation
  double weights_bytes = 0;      // all GPUs together (data-parallel replicas each hold the dense weights)
  double dense_weights_bytes = 0;   // one copy of the weights that are not routed experts
  double expert_weights_bytes = 0;  // the routed experts, spread over the GPUs once
  double activation_bytes = 0;
  double kv_bytes_per_request = 0;
  int64_t max_batch = 0;         // requests the cache holds; 0 when the weights alone do not fit
  bool fits(int64_t batch) const { return max_batch >= batch; }
};

// `serving`'s engine, quantization and parallelism on `machine`; the model as `config`.
Result<MemoryFit> memory_fit(const models::ModelConfig& config, const ServingConfig& serving,
                             const machines::MachineSpec& machine);
// The same for a built workload: read off its traced decode step where its engine lowers
// one with fused kernels (no trace of its own); else as above, from `config` (the model as
// the workload was built from it).
Result<MemoryFit> memory_fit(const ServingWorkload& workload, const models::ModelConfig& config,
                             const machines::MachineSpec& machine);
nlohmann::json to_json(const MemoryFit& f);
// The same needs on `num_gpus` GPUs of `machine` with `data_parallel` replicas of the
// dense weights, the engine giving itself `utilization` of each GPU's memory.
MemoryFit refit(const MemoryFit& needs, const machines::MachineSpec& machine, int num_gpus, int data_parallel,
                double utilization);
// The fewest GPUs (1, 2, 4, ... up to `most`) of `machine` whose memory holds `needs` at
// `batch` running requests, one replica of the dense weights; 0 when none does.
int fewest_gpus(const MemoryFit& needs, const machines::MachineSpec& machine, double utilization, int64_t batch,
                int most = 1024);

}  // namespace irene::serving
