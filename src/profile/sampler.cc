#include "profile/sampler.h"

#include <time.h>

#include <fstream>
#include <sstream>

namespace irene::profile {

namespace {

// Aggregate "cpu" line of /proc/stat: busy and total jiffies.
std::pair<uint64_t, uint64_t> cpu_jiffies(const std::string& procfs) {
  std::ifstream in(procfs + "/stat");
  std::string label;
  uint64_t v[10] = {};
  in >> label;
  for (auto& x : v) in >> x;
  const uint64_t idle = v[3] + v[4];  // idle + iowait
  uint64_t total = 0;
  for (int i = 0; i < 8; ++i) total += v[i];  // guest time is already inside user
  return {total - idle, total};
}

double mem_used_pct(const std::string& procfs) {
  std::ifstream in(procfs + "/meminfo");
  std::string key;
  double value = 0, total = 0, available = 0;
  std::string unit;
  while (in >> key >> value) {
    std::getline(in, unit);
    if (key == "MemTotal:") total = value;
    if (key == "MemAvailable:") available = value;
  }
  return total > 0 ? 100.0 * (total - available) / total : 0.0;
}

double mean_cpu_mhz(const std::string& procfs) {
  std::ifstream in(procfs + "/cpuinfo");
  std::string line;
  double sum = 0;
  int n = 0;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) {
      sum += std::stod(line.substr(line.find(':') + 1));
      ++n;
    }
  return n ? sum / n : 0.0;
}

double thread_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

ResourceSampler::ResourceSampler(double period_s, GpuMeter* gpu, std::string procfs_root)
    : period_s_(period_s), gpu_(gpu), procfs_(std::move(procfs_root)) {
  std::tie(last_busy_, last_total_) = cpu_jiffies(procfs_);
  thread_ = std::thread([this] { run(); });
}

ResourceSampler::~ResourceSampler() {
  stop_ = true;
  thread_.join();
}

ResourceSample ResourceSampler::take() {
  ResourceSample s;
  s.at = std::chrono::steady_clock::now();
  const auto [busy, total] = cpu_jiffies(procfs_);
  if (total > last_total_) s.cpu_pct = 100.0 * static_cast<double>(busy - last_busy_) / (total - last_total_);
  last_busy_ = busy;
  last_total_ = total;
  s.mem_pct = mem_used_pct(procfs_);
  s.cpu_mhz = mean_cpu_mhz(procfs_);
  if (gpu_) {
    auto g = gpu_->sample();
    if (g.is_ok()) s.gpu = *g;
  }
  return s;
}

void ResourceSampler::run() {
  const double start_cpu = thread_cpu_now();
  auto next = std::chrono::steady_clock::now();
  while (!stop_) {
    next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(period_s_));
    ResourceSample s = take();
    {
      std::lock_guard lock(mutex_);
      samples_.push_back(std::move(s));
    }
    cpu_seconds_ = thread_cpu_now() - start_cpu;
    // Sleep in short steps so that stopping never waits a whole period.
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          next - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  }
}

ResourceSummary ResourceSampler::summarize(const std::vector<Window>& windows) const {
  std::lock_guard lock(mutex_);
  ResourceSummary r;
  int gpu_n = 0;
  for (const auto& s : samples_) {
    bool inside = false;
    for (const auto& [b, e] : windows) inside = inside || (s.at >= b && s.at < e);
    if (!inside) continue;
    ++r.samples;
    r.cpu_pct += s.cpu_pct;
    r.mem_pct += s.mem_pct;
    r.cpu_mhz += s.cpu_mhz;
    if (s.gpu) {
      ++gpu_n;
      r.gpu_pct += s.gpu->gpu_util_pct.value_or(0);
      r.gpu_mem_pct += s.gpu->memory_used_pct.value_or(0);
      r.gpu_clk_mhz += s.gpu->graphics_clock_mhz.value_or(0);
      r.gpu_mem_clk_mhz += s.gpu->memory_clock_mhz.value_or(0);
    }
  }
  if (r.samples) {
    r.cpu_pct /= r.samples;
    r.mem_pct /= r.samples;
    r.cpu_mhz /= r.samples;
  }
  if (gpu_n) {
    r.gpu_pct /= gpu_n;
    r.gpu_mem_pct /= gpu_n;
    r.gpu_clk_mhz /= gpu_n;
    r.gpu_mem_clk_mhz /= gpu_n;
  }
  return r;
}

size_t ResourceSampler::sample_count() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

double ResourceSampler::thread_cpu_seconds() const { return cpu_seconds_; }

}  // namespace irene::profile
