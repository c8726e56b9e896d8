// ResourceSampler: a background thread reading this machine's load at a fixed period
// (CPU utilisation and frequency, memory in use, and each GPU's figures when NVML has
// one), so the profiler can attach the samples of a node's runs to that node.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "profile/meters/meter.h"

namespace irene::profile {

struct ResourceSample {
  std::chrono::steady_clock::time_point at;
  double cpu_pct = 0;   // busy share of all CPUs since the previous sample
  double mem_pct = 0;   // (MemTotal - MemAvailable) / MemTotal
  double cpu_mhz = 0;   // mean current frequency of the CPUs
  std::optional<GpuSample> gpu;  // the first GPU, when there is one
};

// Means over the samples of some windows; empty fields where nothing was sampled.
struct ResourceSummary {
  int samples = 0;
  double cpu_pct = 0, mem_pct = 0, cpu_mhz = 0;
  double gpu_pct = 0, gpu_mem_pct = 0, gpu_clk_mhz = 0, gpu_mem_clk_mhz = 0;
};

class ResourceSampler {
 public:
  // `procfs_root` is "/proc" except in tests. `gpu` may be null.
  ResourceSampler(double period_s, GpuMeter* gpu, std::string procfs_root = "/proc");
  ~ResourceSampler();  // stops the thread
  ResourceSampler(const ResourceSampler&) = delete;
  ResourceSampler& operator=(const ResourceSampler&) = delete;

  // Summary of the samples taken inside any of the windows [begin, end).
  using Window = std::pair<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point>;
  ResourceSummary summarize(const std::vector<Window>& windows) const;

  size_t sample_count() const;
  double thread_cpu_seconds() const;  // CPU time the sampler itself used

 private:
  void run();
  ResourceSample take();

  double period_s_;
  GpuMeter* gpu_;
  std::string procfs_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::vector<ResourceSample> samples_;
  uint64_t last_busy_ = 0, last_total_ = 0;
  std::atomic<double> cpu_seconds_{0};
  std::thread thread_;
};

}  // namespace irene::profile
