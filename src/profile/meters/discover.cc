// Finding whatever meters this machine has, and saying plainly why the others are missing.
#include "profile/meters/meter.h"
#include "profile/meters/sysfs_file.h"

namespace irene::profile {
namespace {

constexpr const char* kRapl = "RAPL powercap";
constexpr const char* kPerf = "perf power PMU";
constexpr const char* kNvml = "NVML";

}  // namespace

std::vector<EnergyMeter*> MeterSet::all() const {
  std::vector<EnergyMeter*> pointers;
  for (const auto& meter : meters) pointers.push_back(meter.get());
  return pointers;
}

std::vector<GpuMeter*> MeterSet::gpus() const {
  std::vector<GpuMeter*> pointers;
  for (const auto& meter : meters)
    if (auto* gpu = dynamic_cast<GpuMeter*>(meter.get())) pointers.push_back(gpu);
  return pointers;
}

std::string MeterSet::summary() const {
  if (meters.empty()) return "no energy meter found (looked for: " + looked_for + ")";
  std::string text = "energy meters: ";
  for (size_t i = 0; i < meters.size(); ++i) {
    if (i) text += ", ";
    text += meters[i]->name() + " (" + meters[i]->what() + ")";
  }
  return text;
}

std::string MeterSet::reasons() const {
  std::string text;
  for (const auto& source : unavailable) {
    // Most reasons already start with the source's name ("NVML not available: ..."); the
    // "not tried" ones do not.
    bool named = source.reason.rfind(source.source, 0) == 0;
    text += (named ? "" : source.source + ": ") + source.reason + "\n";
  }
  return text;
}

MeterSet discover_meters(const MeterOptions& options) {
  MeterSet set;
  const std::string powercap = detail::join_path(options.sysfs_root, "class/powercap");
  const std::string power_pmu = detail::join_path(options.sysfs_root, "bus/event_source/devices/power");
  set.looked_for = std::string(kRapl) + " at " + powercap + ", " + kPerf + " at " + power_pmu + ", " +
                   kNvml + " " + options.nvml_library;

  auto rapl = open_rapl_meters(options.sysfs_root);
  if (rapl) {
    for (auto& meter : *rapl) set.meters.push_back(std::move(meter));
  } else {
    set.unavailable.push_back({kRapl, rapl.status().message()});
  }

  // Both RAPL routes read the same hardware counters: opening both would count twice.
  if (set.meters.empty()) {
    auto perf = open_perf_rapl_meters(options.sysfs_root);
    if (perf) {
      for (auto& meter : *perf) set.meters.push_back(std::move(meter));
    } else {
      set.unavailable.push_back({kPerf, perf.status().message()});
    }
  } else {
    set.unavailable.push_back({kPerf, "not tried: RAPL powercap already gives the same counters"});
  }

  auto nvml = open_nvml_meters(options.nvml_library);
  if (nvml) {
    for (auto& meter : *nvml) set.meters.push_back(std::move(meter));
  } else {
    set.unavailable.push_back({kNvml, nvml.status().message()});
  }
  return set;
}

}  // namespace irene::profile
