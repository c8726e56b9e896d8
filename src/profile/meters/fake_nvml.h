// Test double for libnvidia-ml.so.1: fake_nvml.cc is built as a shared library exporting the
// NVML symbols irene uses, plus these controls, which a test reaches with dlsym on the same
// library (dlopen of the same path returns the same loaded copy, so the state is shared).
#pragma once

extern "C" {

struct FakeNvmlConfig {
  int init_result = 0;                    // what nvmlInit_v2 returns (0 = success)
  unsigned device_count = 1;
  bool has_energy_counter = true;         // false: the energy call returns NOT_SUPPORTED
  unsigned long long energy_step_mj = 500;  // the counter rises this much on every call
  unsigned power_mw = 50000;              // board power
  unsigned gpu_util_pct = 87, memory_busy_pct = 42;
  unsigned long long memory_total = 16ull << 30, memory_used = 4ull << 30;
  unsigned graphics_mhz = 1410, memory_mhz = 1215;
};

// Replaces the configuration and resets the energy counters to 0.
void fake_nvml_configure(const FakeNvmlConfig* config);
// nvmlInit_v2 calls minus nvmlShutdown calls: 0 once everything opened was closed.
int fake_nvml_live_inits();
// nvmlDeviceGetTotalEnergyConsumption calls so far.
unsigned long long fake_nvml_energy_calls();

using FakeNvmlConfigureFn = void (*)(const FakeNvmlConfig*);
using FakeNvmlLiveInitsFn = int (*)();
using FakeNvmlEnergyCallsFn = unsigned long long (*)();
}
