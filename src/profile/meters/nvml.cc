// NVIDIA GPUs through NVML, opened with dlopen so that irene runs (and builds) on machines
// without the NVIDIA driver: there, the library is simply "not available".
#include <dlfcn.h>

#include <chrono>
#include <mutex>
#include <type_traits>

#include "profile/meters/meter.h"
#include "profile/meters/nvml_api.h"

namespace irene::profile {
namespace {

constexpr const char* kNotAvailable = "NVML not available: ";
// NVML refreshes board power and the energy counter a few times a second at best (the
// period varies by GPU); 100 ms is a safe floor for a window to be meaningful.
constexpr double kNvmlUpdatePeriodS = 0.1;
constexpr double kEnergyCounterResolutionJ = 1e-3;  // the counter counts millijoules
constexpr double kPowerResolutionW = 1e-3;          // power is reported in milliwatts

// The loaded library: symbols plus the nvmlInit/nvmlShutdown pairing. Shared by every meter
// opened from it, so NVML stays initialised and loaded until the last meter goes away.
class NvmlLibrary {
 public:
  static Result<std::shared_ptr<NvmlLibrary>> open(const std::string& path);
  ~NvmlLibrary() {
    if (initialized_) shutdown_();
    if (handle_) ::dlclose(handle_);
  }
  NvmlLibrary(const NvmlLibrary&) = delete;
  NvmlLibrary& operator=(const NvmlLibrary&) = delete;

  // "GPU is lost (15)"; NVML's own text when the library provides it.
  std::string describe(nvml::Return code) const {
    std::string text = error_string_ ? error_string_(code) : "NVML error";
    return text + " (" + std::to_string(code) + ")";
  }

  nvml::DeviceGetCountFn device_count = nullptr;
  nvml::DeviceGetHandleByIndexFn device_handle = nullptr;
  nvml::DeviceGetNameFn device_name = nullptr;                     // optional
  nvml::DeviceGetTotalEnergyConsumptionFn total_energy = nullptr;  // optional: pre-Volta drivers lack it
  nvml::DeviceGetPowerUsageFn power_usage = nullptr;
  nvml::DeviceGetUtilizationRatesFn utilization = nullptr;
  nvml::DeviceGetMemoryInfoFn memory_info = nullptr;
  nvml::DeviceGetClockInfoFn clock_info = nullptr;

 private:
  NvmlLibrary() = default;
  void* handle_ = nullptr;
  bool initialized_ = false;
  nvml::ShutdownFn shutdown_ = nullptr;
  nvml::ErrorStringFn error_string_ = nullptr;
};

Result<std::shared_ptr<NvmlLibrary>> NvmlLibrary::open(const std::string& path) {
  std::shared_ptr<NvmlLibrary> lib(new NvmlLibrary());
  ::dlerror();
  lib->handle_ = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib->handle_) {
    const char* why = ::dlerror();
    return Status::not_found(kNotAvailable + ("cannot load " + path + ": ") + (why ? why : "unknown reason"));
  }
  std::string missing;
  auto symbol = [&](auto& slot, const char* name, bool required) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(::dlsym(lib->handle_, name));
    if (!slot && required) missing += (missing.empty() ? "" : ", ") + std::string(name);
  };
  nvml::InitFn init = nullptr;
  symbol(init, "nvmlInit_v2", true);
  symbol(lib->shutdown_, "nvmlShutdown", true);
  symbol(lib->error_string_, "nvmlErrorString", false);
  symbol(lib->device_count, "nvmlDeviceGetCount_v2", true);
  symbol(lib->device_handle, "nvmlDeviceGetHandleByIndex_v2", true);
  symbol(lib->device_name, "nvmlDeviceGetName", false);
  symbol(lib->total_energy, "nvmlDeviceGetTotalEnergyConsumption", false);
  symbol(lib->power_usage, "nvmlDeviceGetPowerUsage", true);
  symbol(lib->utilization, "nvmlDeviceGetUtilizationRates", true);
  symbol(lib->memory_info, "nvmlDeviceGetMemoryInfo", true);
  symbol(lib->clock_info, "nvmlDeviceGetClockInfo", true);
  if (!missing.empty()) {
    return Status::unsupported(kNotAvailable + path + " lacks " + missing + " (driver too old?)");
  }
  nvml::Return rc = init();
  if (rc != nvml::kSuccess) {
    return Status::not_found(kNotAvailable + ("nvmlInit_v2 failed: " + lib->describe(rc)));
  }
  lib->initialized_ = true;
  return lib;
}

class NvmlGpuMeter final : public GpuMeter {
 public:
  NvmlGpuMeter(std::shared_ptr<NvmlLibrary> lib, nvml::Device device, unsigned index, std::string device_name)
      : lib_(std::move(lib)),
        device_(device),
        index_(index),
        name_("nvml:gpu" + std::to_string(index)),
        device_name_(std::move(device_name)) {}

  // Chooses the energy counter if the GPU has one, else power integration; fails when the
  // GPU offers neither.
  Status start() {
    if (lib_->total_energy) {
      unsigned long long mj = 0;
      nvml::Return rc = lib_->total_energy(device_, &mj);
      if (rc == nvml::kSuccess) {
        last_counter_mj_ = mj;
        return Status::ok();
      }
      if (rc != nvml::kErrorNotSupported) return failure("nvmlDeviceGetTotalEnergyConsumption", rc);
    }
    unsigned int mw = 0;
    nvml::Return rc = lib_->power_usage(device_, &mw);
    if (rc != nvml::kSuccess) {
      return Status::unsupported(name_ + " has no energy counter and no power reading: " + lib_->describe(rc));
    }
    integrates_power_ = true;
    last_power_w_ = mw * 1e-3;
    last_power_time_ = std::chrono::steady_clock::now();
    return Status::ok();
  }

  const std::string& name() const override { return name_; }
  const std::string& what() const override { return what_; }
  double resolution_j() const override {
    return integrates_power_ ? kPowerResolutionW * kNvmlUpdatePeriodS : kEnergyCounterResolutionJ;
  }
  double update_period_s() const override { return kNvmlUpdatePeriodS; }
  unsigned index() const override { return index_; }
  const std::string& device_name() const override { return device_name_; }
  bool integrates_power() const override { return integrates_power_; }

  Result<double> read_energy_j() override {
    std::lock_guard lock(mutex_);
    if (integrates_power_) {
      unsigned int mw = 0;
      nvml::Return rc = lib_->power_usage(device_, &mw);
      if (rc != nvml::kSuccess) return failure("nvmlDeviceGetPowerUsage", rc);
      auto now = std::chrono::steady_clock::now();
      double seconds = std::chrono::duration<double>(now - last_power_time_).count();
      double watts = mw * 1e-3;
      total_j_ += 0.5 * (last_power_w_ + watts) * seconds;  // trapezoid between two readings
      last_power_w_ = watts;
      last_power_time_ = now;
      return total_j_;
    }
    unsigned long long mj = 0;
    nvml::Return rc = lib_->total_energy(device_, &mj);
    if (rc != nvml::kSuccess) return failure("nvmlDeviceGetTotalEnergyConsumption", rc);
    // The counter runs from driver load; a smaller value means the driver was reloaded and
    // the counter restarted from zero.
    unsigned long long step = mj >= last_counter_mj_ ? mj - last_counter_mj_ : mj;
    last_counter_mj_ = mj;
    total_j_ += step * 1e-3;
    return total_j_;
  }

  Result<GpuSample> sample() override {
    GpuSample sample;
    nvml::Return last_error = nvml::kSuccess;
    auto ok = [&](nvml::Return rc) {
      if (rc != nvml::kSuccess) last_error = rc;
      return rc == nvml::kSuccess;
    };
    nvml::Utilization util{};
    if (ok(lib_->utilization(device_, &util))) {
      sample.gpu_util_pct = util.gpu;
      sample.memory_busy_pct = util.memory;
    }
    nvml::Memory memory{};
    if (ok(lib_->memory_info(device_, &memory)) && memory.total > 0) {
      sample.memory_used_pct = 100.0 * static_cast<double>(memory.used) / static_cast<double>(memory.total);
    }
    unsigned int mhz = 0;
    if (ok(lib_->clock_info(device_, nvml::kClockGraphics, &mhz))) sample.graphics_clock_mhz = mhz;
    if (ok(lib_->clock_info(device_, nvml::kClockMemory, &mhz))) sample.memory_clock_mhz = mhz;
    unsigned int mw = 0;
    if (ok(lib_->power_usage(device_, &mw))) sample.power_w = mw * 1e-3;
    bool nothing = !sample.gpu_util_pct && !sample.memory_used_pct && !sample.graphics_clock_mhz &&
                   !sample.memory_clock_mhz && !sample.power_w;
    if (nothing) return Status::io_error(name_ + ": no NVML reading succeeded: " + lib_->describe(last_error));
    return sample;
  }

 private:
  Status failure(const char* call, nvml::Return rc) const {
    return Status::io_error(name_ + ": " + call + " failed: " + lib_->describe(rc));
  }

  const std::shared_ptr<NvmlLibrary> lib_;
  const nvml::Device device_;
  const unsigned index_;
  const std::string name_;
  const std::string what_ = "gpu board";
  const std::string device_name_;
  bool integrates_power_ = false;  // set once by start()

  std::mutex mutex_;
  unsigned long long last_counter_mj_ = 0;
  double last_power_w_ = 0;
  std::chrono::steady_clock::time_point last_power_time_;
  double total_j_ = 0;
};

}  // namespace

Result<std::vector<std::unique_ptr<GpuMeter>>> open_nvml_meters(const std::string& library) {
  IRENE_ASSIGN_OR_RETURN(std::shared_ptr<NvmlLibrary> lib, NvmlLibrary::open(library));
  unsigned int count = 0;
  nvml::Return rc = lib->device_count(&count);
  if (rc != nvml::kSuccess) {
    return Status::not_found(kNotAvailable + ("nvmlDeviceGetCount_v2 failed: " + lib->describe(rc)));
  }
  if (count == 0) return Status::not_found(std::string(kNotAvailable) + "no GPU (NVML reports 0 devices)");

  std::vector<std::unique_ptr<GpuMeter>> meters;
  std::string skipped;  // why GPUs were left out, for the error when none is usable
  for (unsigned index = 0; index < count; ++index) {
    nvml::Device device = nullptr;
    rc = lib->device_handle(index, &device);
    if (rc != nvml::kSuccess) {
      // Typically a GPU the user may not access (NO_PERMISSION) or one that fell off the bus.
      skipped += "; gpu" + std::to_string(index) + ": " + lib->describe(rc);
      continue;
    }
    std::string device_name;
    char buffer[96] = {};
    if (lib->device_name && lib->device_name(device, buffer, sizeof buffer) == nvml::kSuccess) device_name = buffer;
    auto meter = std::make_unique<NvmlGpuMeter>(lib, device, index, device_name);
    Status started = meter->start();
    if (!started) {
      skipped += "; " + started.message();
      continue;
    }
    meters.push_back(std::move(meter));
  }
  if (meters.empty()) {
    return Status::not_found(kNotAvailable + ("no usable GPU among " + std::to_string(count)) + skipped);
  }
  return meters;
}

}  // namespace irene::profile
