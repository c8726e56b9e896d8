// RAPL through the perf_event power PMU: the fallback when powercap is absent (older
// kernels, or containers that expose /sys/bus but not /sys/class/powercap).
//
// Tested against fake PMU descriptions: the parsing, and the counting path through the real
// perf_event_open with the kernel's software cpu-clock standing in for the power PMU (the
// test machine has none). Counting needs root, CAP_PERFMON or kernel.perf_event_paranoid <= 0.
#include "profile/meters/perf_power.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <sstream>

#include <linux/perf_event.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "profile/meters/meter.h"
#include "profile/meters/sysfs_file.h"

namespace irene::profile {
namespace detail {
namespace {

constexpr const char* kNotAvailable = "perf power PMU not available: ";

Result<double> parse_scale(const std::string& text, const std::string& path) {
  std::string value(trim(text));
  char* end = nullptr;
  double scale = std::strtod(value.c_str(), &end);
  if (value.empty() || end != value.c_str() + value.size() || !(scale > 0)) {
    return Status::corrupt(path + " should hold a positive number, found \"" + value + "\"");
  }
  return scale;
}

// Reads events/<name>, .scale and .unit. not_found when the event file is absent.
Result<PerfPowerEvent> read_event(const std::string& dir, uint32_t type, const std::string& event_format,
                                  const std::string& name, const std::string& what) {
  const std::string path = dir + "/events/" + name;
  IRENE_ASSIGN_OR_RETURN(std::string terms, read_small_file(path));
  PerfPowerEvent event;
  event.event = name;
  event.what = what;
  event.pmu_type = type;
  auto config = parse_event_config(std::string(trim(terms)), event_format);
  if (!config) return Status::corrupt(path + ": " + config.status().message());
  event.config = *config;
  IRENE_ASSIGN_OR_RETURN(std::string scale_text, read_small_file(path + ".scale"));
  IRENE_ASSIGN_OR_RETURN(event.joules_per_count, parse_scale(scale_text, path + ".scale"));
  // The unit file is optional; when present it must be joules or the scale means something else.
  auto unit = read_small_file(path + ".unit");
  if (unit && trim(*unit) != "Joules") {
    return Status::unsupported(path + ".unit is \"" + std::string(trim(*unit)) + "\", expected \"Joules\"");
  }
  return event;
}

}  // namespace

Result<std::vector<int>> parse_cpu_list(const std::string& text) {
  std::vector<int> cpus;
  std::stringstream items{std::string(trim(text))};
  std::string item;
  auto number = [](const std::string& s, int& out) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::atoi(s.c_str());
    return true;
  };
  while (std::getline(items, item, ',')) {
    size_t dash = item.find('-');
    int first = 0, last = 0;
    bool ok = dash == std::string::npos
                  ? number(item, first) && number(item, last)
                  : number(item.substr(0, dash), first) && number(item.substr(dash + 1), last);
    if (!ok || last < first) return Status::corrupt("bad cpu list \"" + text + "\"");
    for (int cpu = first; cpu <= last; ++cpu) cpus.push_back(cpu);
  }
  if (cpus.empty()) return Status::corrupt("empty cpu list");
  return cpus;
}

Result<uint64_t> parse_event_config(const std::string& terms, const std::string& event_format) {
  // Where the event code sits in attr.config: "config:0-7" (the power PMU's) or "config:N".
  int low_bit = 0;
  if (!event_format.empty()) {
    std::string format(trim(event_format));
    if (format.rfind("config:", 0) != 0) {
      return Status::unsupported("event format \"" + format + "\" is not in attr.config");
    }
    low_bit = std::atoi(format.c_str() + 7);
    if (low_bit < 0 || low_bit > 63) return Status::corrupt("bad event format \"" + format + "\"");
  }
  std::stringstream items(terms);
  std::string term;
  std::optional<uint64_t> code;
  while (std::getline(items, term, ',')) {
    term = std::string(trim(term));
    if (term.rfind("event=", 0) != 0) {
      // The power PMU's events have only an event code; anything else we cannot encode safely.
      return Status::unsupported("unexpected term \"" + term + "\" in \"" + terms + "\"");
    }
    std::string value = term.substr(6);
    char* end = nullptr;
    errno = 0;
    unsigned long long parsed = std::strtoull(value.c_str(), &end, 0);  // base 0: "0x02" or "2"
    if (value.empty() || end != value.c_str() + value.size() || errno != 0) {
      return Status::corrupt("bad event code in \"" + terms + "\"");
    }
    code = parsed;
  }
  if (!code) return Status::corrupt("no event= term in \"" + terms + "\"");
  return *code << low_bit;
}

Result<PerfPowerPmu> read_perf_power_pmu(const std::string& sysfs_root) {
  PerfPowerPmu pmu;
  pmu.dir = join_path(sysfs_root, "bus/event_source/devices/power");
  auto type = read_unsigned_file(pmu.dir + "/type");
  if (!type) return Status(type.status().code(), kNotAvailable + type.status().message());
  if (*type > UINT32_MAX) return Status::corrupt(pmu.dir + "/type is out of range");

  auto cpumask = read_small_file(pmu.dir + "/cpumask");
  if (cpumask) {
    auto cpus = parse_cpu_list(*cpumask);
    if (!cpus) return Status::corrupt(pmu.dir + "/cpumask: " + cpus.status().message());
    pmu.cpus = *cpus;
  } else {
    pmu.cpus = {0};  // the PMU counts per package; cpu 0 is on package 0
  }
  auto format = read_small_file(pmu.dir + "/format/event");
  std::string event_format = format ? *format : "";

  auto package = read_event(pmu.dir, static_cast<uint32_t>(*type), event_format, "energy-pkg", "cpu package");
  if (!package) {
    if (package.status().code() == StatusCode::kNotFound)
      return Status::not_found(kNotAvailable + package.status().message());
    return package.status();
  }
  pmu.events.push_back(*package);
  // energy-ram is absent on most client CPUs; that is fine. A malformed one is not.
  auto dram = read_event(pmu.dir, static_cast<uint32_t>(*type), event_format, "energy-ram", "dram");
  if (dram) {
    pmu.events.push_back(*dram);
  } else if (dram.status().code() != StatusCode::kNotFound) {
    return dram.status();
  }
  return pmu;
}

}  // namespace detail

namespace {

// One system-wide counter on one cpu.
class PerfPowerMeter final : public EnergyMeter {
 public:
  PerfPowerMeter(std::string name, std::string what, int fd, double joules_per_count, uint64_t first_count)
      : name_(std::move(name)), what_(std::move(what)), fd_(fd),
        joules_per_count_(joules_per_count), first_count_(first_count) {}
  ~PerfPowerMeter() override { ::close(fd_); }
  PerfPowerMeter(const PerfPowerMeter&) = delete;
  PerfPowerMeter& operator=(const PerfPowerMeter&) = delete;

  const std::string& name() const override { return name_; }
  const std::string& what() const override { return what_; }
  double resolution_j() const override { return joules_per_count_; }
  double update_period_s() const override { return 1e-3; }  // same hardware counter as powercap

  Result<double> read_energy_j() override {
    std::lock_guard lock(mutex_);
    // The kernel extends the 32-bit hardware counter to 64 bits, so no wraparound here.
    IRENE_ASSIGN_OR_RETURN(uint64_t count, read_count(fd_, name_));
    return static_cast<double>(count - first_count_) * joules_per_count_;
  }

  static Result<uint64_t> read_count(int fd, const std::string& name) {
    uint64_t count = 0;
    ssize_t n = ::read(fd, &count, sizeof count);
    if (n != static_cast<ssize_t>(sizeof count)) {
      return Status::io_error("cannot read perf counter " + name + ": " +
                              (n < 0 ? std::strerror(errno) : "short read"));
    }
    return count;
  }

 private:
  const std::string name_, what_;
  const int fd_;
  const double joules_per_count_;
  const uint64_t first_count_;
  std::mutex mutex_;
};

Result<int> open_counter(const detail::PerfPowerEvent& event, int cpu, const std::string& pmu_dir) {
  perf_event_attr attr{};
  attr.size = sizeof attr;
  attr.type = event.pmu_type;
  attr.config = event.config;
  // pid -1 with a cpu: count everything on that cpu's package (the PMU refuses per-task).
  long fd = ::syscall(SYS_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    std::string message = std::string("perf power PMU not available: perf_event_open(") + pmu_dir +
                          "/events/" + event.event + ", cpu " + std::to_string(cpu) + ") failed: " +
                          std::strerror(err);
    if (err == EACCES || err == EPERM) {
      message += "; run as root or: sudo sysctl kernel.perf_event_paranoid=0";
      return Status::io_error(message);
    }
    return Status::unsupported(message);
  }
  return static_cast<int>(fd);
}

}  // namespace

Result<EnergyMeters> open_perf_rapl_meters(const std::string& sysfs_root) {
  IRENE_ASSIGN_OR_RETURN(detail::PerfPowerPmu pmu, detail::read_perf_power_pmu(sysfs_root));
  EnergyMeters meters;
  for (const auto& event : pmu.events) {
    for (int cpu : pmu.cpus) {
      IRENE_ASSIGN_OR_RETURN(int fd, open_counter(event, cpu, pmu.dir));
      std::string name = "perf:" + event.event + "@cpu" + std::to_string(cpu);
      auto first = PerfPowerMeter::read_count(fd, name);
      if (!first) {
        ::close(fd);
        return first.status();
      }
      meters.push_back(std::make_unique<PerfPowerMeter>(name, event.what, fd, event.joules_per_count, *first));
    }
  }
  return meters;
}

}  // namespace irene::profile
