// Live profiling on this machine, the way IrEne gathered its data: trace one forward
// pass capturing every node's real inputs, then run each node alone with those inputs
// for about T seconds, R rounds, while a background sampler records the machine's
// load and energy meters (RAPL, NVML) count. Each round runs every node in turn, so a
// node's rounds spread over the whole profile: on a machine whose speed drifts (a VM's
// neighbours), each node sees the slow and the fast stretches alike. Identical nodes (same class, FLOPs, bytes
// and parameters) are measured once and the result reused, as IrEne did.
#pragma once

#include <atomic>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "common/status.h"
#include "models/config.h"
#include "tree/tree.h"

namespace irene::profile {

struct ProfileOptions {
  int64_t batch_size = 1;
  int64_t seq_len = 32;
  std::string device = "cpu";
  double seconds_per_node = 1.0;  // T: time each node runs per round
  int rounds = 3;                 // R: passes over all the nodes
  std::string level = "all";      // ml, module, model or all
  double sample_period_s = 0.1;   // the resource sampler's period
  int threads = 0;                // libtorch's CPU threads; 0 keeps libtorch's default
  bool subtract_idle = false;     // subtract idle power x time from measured energy
  std::string sysfs_root = "/sys";
  std::string nvml_library = "libnvidia-ml.so.1";
  const std::atomic<bool>* cancel = nullptr;   // set to stop; finished nodes are kept
  std::function<void(int, int)> progress;      // (node runs done, to do: every node once per round)
};

struct ProfileResult {
  tree::Tree tree;        // measured features on every profiled node
  nlohmann::json header;  // machine, meters, settings, start and end time, reuse counts
  bool complete = true;   // false when cancelled part-way
};

Status validate_profile_options(const ProfileOptions& o);
// "cpu", or "cuda" where `cuda_available` (a libtorch with CUDA and a visible GPU).
Status validate_device(const std::string& device, bool cuda_available);
Result<ProfileResult> profile_model(const models::ModelConfig& config, const ProfileOptions& options);

// "AMD EPYC, 2 cores" from /proc/cpuinfo and the core count.
std::string describe_machine();

// The profile as CSV: the tree columns, then times_mean_s, times_std_s, cpu_pct, mem_pct,
// cpu_mhz, gpu_pct, gpu_mem_pct, gpu_clk_mhz, gpu_mem_clk_mhz, gpu_energy_j, energy_j
// (empty where not measured).
std::string profile_csv(const tree::Tree& t);

}  // namespace irene::profile
