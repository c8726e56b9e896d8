#include "profile/sampler.h"

#include <time.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "common/memory.h"

namespace irene::profile {

namespace {

// Aggregate "cpu" line of /proc/stat: busy and total jiffies.
std::optional<std::pair<uint64_t, uint64_t>> cpu_jiffies(const std::string& procfs) {
  std::ifstream in(procfs + "/stat");
  std::string label;
  uint64_t v[8] = {};
  in >> label;
  for (auto& x : v) in >> x;
  if (!in || label != "cpu") return std::nullopt;
  const uint64_t idle = v[3] + v[4];  // idle + iowait
  uint64_t total = 0;
  for (uint64_t x : v) total += x;  // guest time is already inside user
  return std::pair{total - idle, total};
}

std::optional<double> mem_used_pct(const std::string& procfs) {
  auto info = read_meminfo(procfs + "/meminfo");
  if (!info) return std::nullopt;
  return 100.0 * (info->total_bytes - info->available_bytes) / info->total_bytes;
}

// x86 kernels print each CPU's current clock in /proc/cpuinfo; elsewhere (ARM) cpufreq
// has it in kHz. Virtual machines may have neither.
std::optional<double> mean_cpu_mhz(const std::string& procfs, const std::string& sysfs) {
  std::ifstream in(procfs + "/cpuinfo");
  std::string line;
  double sum = 0;
  int n = 0;
  while (std::getline(in, line))
    if (line.rfind("cpu MHz", 0) == 0) {
      sum += std::strtod(line.c_str() + line.find(':') + 1, nullptr);
      ++n;
    }
  if (n == 0)
    for (int cpu = 0;; ++cpu) {
      std::ifstream f(sysfs + "/devices/system/cpu/cpu" + std::to_string(cpu) + "/cpufreq/scaling_cur_freq");
      double khz = 0;
      if (!(f >> khz)) break;
      sum += khz / 1000.0;
      ++n;
    }
  if (n == 0) return std::nullopt;
  return sum / n;
}

double thread_cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

}  // namespace

ResourceSampler::ResourceSampler(double period_s, GpuMeter* gpu, std::string procfs_root, std::string sysfs_root)
    : period_s_(period_s), gpu_(gpu), procfs_(std::move(procfs_root)), sysfs_(std::move(sysfs_root)) {
  if (auto j = cpu_jiffies(procfs_)) std::tie(last_busy_, last_total_) = *j;
  thread_ = std::thread([this] { run(); });
}

ResourceSampler::~ResourceSampler() {
  stop_ = true;
  thread_.join();
}

ResourceSample ResourceSampler::take() {
  ResourceSample s;
  s.at = std::chrono::steady_clock::now();
  if (auto j = cpu_jiffies(procfs_)) {
    const auto [busy, total] = *j;
    if (total > last_total_ && last_total_ > 0)
      s.cpu_pct = 100.0 * static_cast<double>(busy - last_busy_) / static_cast<double>(total - last_total_);
    last_busy_ = busy;
    last_total_ = total;
  }
  s.mem_pct = mem_used_pct(procfs_);
  s.cpu_mhz = mean_cpu_mhz(procfs_, sysfs_);
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
    sampled_.notify_all();
    cpu_seconds_ = thread_cpu_now() - start_cpu;
    // Sleep in short steps so that stopping never waits a whole period.
    while (!stop_ && std::chrono::steady_clock::now() < next)
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          next - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
  }
}

namespace {

// A running mean of one optional field.
struct Mean {
  double sum = 0;
  int n = 0;
  void add(const std::optional<double>& v) {
    if (v) sum += *v, ++n;
  }
  std::optional<double> get() const { return n ? std::optional<double>(sum / n) : std::nullopt; }
};

}  // namespace

ResourceSummary ResourceSampler::summarize(const std::vector<Window>& windows) const {
  std::lock_guard lock(mutex_);
  std::vector<const ResourceSample*> picked;
  for (const auto& [begin, end] : windows) {
    auto first = std::lower_bound(samples_.begin(), samples_.end(), begin,
                                  [](const ResourceSample& s, auto t) { return s.at < t; });
    auto it = first;
    for (; it != samples_.end() && it->at < end; ++it) picked.push_back(&*it);
    if (it == first && it != samples_.end()) picked.push_back(&*it);  // the sample covering a short window
  }
  ResourceSummary r;
  Mean cpu, mem, mhz, gpu, gpu_mem, gpu_clk, gpu_mem_clk;
  for (const ResourceSample* s : picked) {
    ++r.samples;
    cpu.add(s->cpu_pct);
    mem.add(s->mem_pct);
    mhz.add(s->cpu_mhz);
    if (s->gpu) {
      gpu.add(s->gpu->gpu_util_pct);
      gpu_mem.add(s->gpu->memory_used_pct);
      gpu_clk.add(s->gpu->graphics_clock_mhz);
      gpu_mem_clk.add(s->gpu->memory_clock_mhz);
    }
  }
  r.cpu_pct = cpu.get();
  r.mem_pct = mem.get();
  r.cpu_mhz = mhz.get();
  r.gpu_pct = gpu.get();
  r.gpu_mem_pct = gpu_mem.get();
  r.gpu_clk_mhz = gpu_clk.get();
  r.gpu_mem_clk_mhz = gpu_mem_clk.get();
  return r;
}

void ResourceSampler::wait_past(std::chrono::steady_clock::time_point t) const {
  std::unique_lock lock(mutex_);
  // Bounded: the thread samples every period; the limit only guards against a stalled reader.
  sampled_.wait_for(lock, std::chrono::duration<double>(2 * period_s_ + 1.0),
                    [&] { return !samples_.empty() && samples_.back().at >= t; });
}

size_t ResourceSampler::sample_count() const {
  std::lock_guard lock(mutex_);
  return samples_.size();
}

double ResourceSampler::thread_cpu_seconds() const { return cpu_seconds_; }

}  // namespace irene::profile
