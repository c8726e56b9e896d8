// The perf_event `power` PMU as sysfs describes it (internal to irene_meters; declared here
// so tests can check the parsing against a fake tree).
//
// <root>/bus/event_source/devices/power/
//   type                  the PMU number to put in perf_event_attr.type ("9")
//   cpumask               one cpu per package to open counters on ("0" or "0,28")
//   format/event          where the event code goes in attr.config ("config:0-7")
//   events/energy-pkg     the event's terms ("event=0x02")
//   events/energy-pkg.scale   joules per count ("2.3283064365386962890625e-10")
//   events/energy-pkg.unit    "Joules"
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::profile::detail {

struct PerfPowerEvent {
  std::string event;     // "energy-pkg", "energy-ram"
  std::string what;      // "cpu package", "dram"
  uint32_t pmu_type = 0; // perf_event_attr.type
  uint64_t config = 0;   // perf_event_attr.config
  double joules_per_count = 0;
};

struct PerfPowerPmu {
  std::string dir;              // <root>/bus/event_source/devices/power
  std::vector<int> cpus;        // from cpumask; {0} when the file is absent
  std::vector<PerfPowerEvent> events;  // energy-pkg first, then energy-ram if present
};

// Reads and checks the sysfs description. "perf power PMU not available: ..." when the PMU
// or its energy-pkg event is absent; corrupt when a file does not parse.
Result<PerfPowerPmu> read_perf_power_pmu(const std::string& sysfs_root);

// "0", "0,28", "0-3,8" -> cpu numbers.
Result<std::vector<int>> parse_cpu_list(const std::string& text);

// "event=0x02" with format "config:0-7" -> the attr.config value.
Result<uint64_t> parse_event_config(const std::string& terms, const std::string& event_format);

}  // namespace irene::profile::detail
