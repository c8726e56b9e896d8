// A fake NVML for tests (see fake_nvml.h): deterministic counters, no GPU needed.
#include "profile/meters/fake_nvml.h"

#include <cstring>
#include <mutex>

#include "profile/meters/nvml_api.h"

namespace nvml = irene::profile::nvml;

namespace {

constexpr unsigned kMaxDevices = 8;

std::mutex mutex;
FakeNvmlConfig config;
int live_inits = 0;
unsigned long long energy_calls = 0;
unsigned long long energy_mj[kMaxDevices] = {};
// Handles are addresses inside this array; the device index is the offset.
char devices[kMaxDevices];

int index_of(nvml::Device device) {
  auto* p = reinterpret_cast<char*>(device);
  if (p < devices || p >= devices + kMaxDevices) return -1;
  int index = static_cast<int>(p - devices);
  return index < static_cast<int>(config.device_count) ? index : -1;
}

}  // namespace

extern "C" {

void fake_nvml_configure(const FakeNvmlConfig* new_config) {
  std::lock_guard lock(mutex);
  config = *new_config;
  energy_calls = 0;
  std::memset(energy_mj, 0, sizeof energy_mj);
}

int fake_nvml_live_inits() {
  std::lock_guard lock(mutex);
  return live_inits;
}

unsigned long long fake_nvml_energy_calls() {
  std::lock_guard lock(mutex);
  return energy_calls;
}

nvml::Return nvmlInit_v2() {
  std::lock_guard lock(mutex);
  if (config.init_result == nvml::kSuccess) ++live_inits;
  return config.init_result;
}

nvml::Return nvmlShutdown() {
  std::lock_guard lock(mutex);
  if (live_inits == 0) return nvml::kErrorUninitialized;
  --live_inits;
  return nvml::kSuccess;
}

const char* nvmlErrorString(nvml::Return code) {
  switch (code) {
    case nvml::kSuccess: return "Success";
    case nvml::kErrorNotSupported: return "Not Supported";
    case nvml::kErrorDriverNotLoaded: return "Driver Not Loaded";
    default: return "Unknown Error";
  }
}

nvml::Return nvmlDeviceGetCount_v2(unsigned int* count) {
  std::lock_guard lock(mutex);
  *count = config.device_count;
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvml::Device* device) {
  std::lock_guard lock(mutex);
  if (index >= config.device_count || index >= kMaxDevices) return nvml::kErrorInvalidArgument;
  *device = reinterpret_cast<nvml::Device>(devices + index);
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetName(nvml::Device device, char* name, unsigned int length) {
  std::lock_guard lock(mutex);
  if (index_of(device) < 0 || length == 0) return nvml::kErrorInvalidArgument;
  std::strncpy(name, "Fake GPU", length - 1);
  name[length - 1] = '\0';
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetTotalEnergyConsumption(nvml::Device device, unsigned long long* mj) {
  std::lock_guard lock(mutex);
  int index = index_of(device);
  if (index < 0) return nvml::kErrorInvalidArgument;
  if (!config.has_energy_counter) return nvml::kErrorNotSupported;
  ++energy_calls;
  energy_mj[index] += config.energy_step_mj;
  *mj = energy_mj[index];
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetPowerUsage(nvml::Device device, unsigned int* mw) {
  std::lock_guard lock(mutex);
  if (index_of(device) < 0) return nvml::kErrorInvalidArgument;
  *mw = config.power_mw;
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetUtilizationRates(nvml::Device device, nvml::Utilization* utilization) {
  std::lock_guard lock(mutex);
  if (index_of(device) < 0) return nvml::kErrorInvalidArgument;
  utilization->gpu = config.gpu_util_pct;
  utilization->memory = config.memory_busy_pct;
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetMemoryInfo(nvml::Device device, nvml::Memory* memory) {
  std::lock_guard lock(mutex);
  if (index_of(device) < 0) return nvml::kErrorInvalidArgument;
  memory->total = config.memory_total;
  memory->used = config.memory_used;
  memory->free = config.memory_total - config.memory_used;
  return nvml::kSuccess;
}

nvml::Return nvmlDeviceGetClockInfo(nvml::Device device, nvml::ClockType type, unsigned int* mhz) {
  std::lock_guard lock(mutex);
  if (index_of(device) < 0) return nvml::kErrorInvalidArgument;
  if (type == nvml::kClockGraphics) *mhz = config.graphics_mhz;
  else if (type == nvml::kClockMemory) *mhz = config.memory_mhz;
  else return nvml::kErrorInvalidArgument;
  return nvml::kSuccess;
}

}  // extern "C"
