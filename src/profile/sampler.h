// ResourceSampler: a background thread reading this machine's load at a fixed period
// (CPU utilisation and frequency, memory in use, and each GPU's figures when NVML has
// one), so the profiler can attach the samples of a node's runs to that node.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "profile/meters/meter.h"

namespace irene::profile {

struct ResourceSample {
  std::chrono::steady_clock::time_point at;
  std::optional<double> cpu_pct;  // busy share of all CPUs since the previous sample
  std::optional<double> mem_pct;  // (MemTotal - MemAvailable) / MemTotal
  std::optional<double> cpu_mhz;  // mean current frequency of the CPUs
  std::optional<GpuSample> gpu;   // the first GPU, when there is one
};

// Means over the samples of some windows. A field no sample had stays empty.
struct ResourceSummary {
  int samples = 0;
  std::optional<double> cpu_pct, mem_pct, cpu_mhz;
  std::optional<double> gpu_pct, gpu_mem_pct, gpu_clk_mhz, gpu_mem_clk_mhz;
};

class ResourceSampler {
 public:
  // `procfs_root` and `sysfs_root` are "/proc" and "/sys" except in tests. `gpu` may be null.
  ResourceSampler(double period_s, GpuMeter* gpu, std::string procfs_root = "/proc",
                  std::string sysfs_root = "/sys");
  ~ResourceSampler();  // stops the thread
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  // Summary of the samples taken inside the windows [begin, end). A window too short to
  // hold a sample gets the first sample after it, whose period covers the window's end,
  // so every window is described; call wait_past(last end) first so that sample exists.
  using Window = std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>;
  ResourceSummary summarize(const std::vector<Window>& windows) const;
  // Blocks until a sample taken at or after `t` exists (about one period at most).
  void wait_past(std::chrono::steady_clock::time_point t) const;

  size_t sample_count() const;
  double thread_cpu_seconds() const;  // CPU time the sampler itself used

 private:
  void run();
  ResourceSample take();

  double period_s_;
  GpuMeter* gpu_;
  std::string procfs_, sysfs_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  mutable std::condition_variable sampled_;
  std::vector<ResourceSample> samples_;
  uint64_t last_busy_ = 0, last_total_ = 0;
  std::atomic<double> cpu_seconds_{0};
  std::thread thread_;
};

}  // namespace irene::profile
