// The machine catalogue: what irene knows of each machine it can predict for, from the
// vendor's spec sheet (one small JSON file each in specs/, every figure with its source)
// and, for the CPU irene runs on, from the operating system. Dense peak figures only.
// No libtorch here.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::machines {

struct MachineSpec {
  std::string id;    // "h100-sxm5-80gb"
  std::string name;  // "NVIDIA H100 SXM5 80GB"
  // Other names it goes by (nvidia-smi's, a dataset's GPU column: "H100-SXM5-80GB").
  std::vector<std::string> aliases;
  std::string kind;  // "gpu" or "cpu"
  std::string architecture;
  // NVIDIA's compute capability (9.0 for Hopper): what engines require of a GPU.
  std::optional<double> compute_capability;
  // Dense peak FLOP/s by element type ("float32", "tf32", "bfloat16", "float16", "fp8").
  std::map<std::string, double> peak_flops;
  std::optional<double> memory_bandwidth_bytes_per_s;
  std::optional<double> memory_bytes;
  // Data cache sizes per level, smallest first: a node profiled alone, over and over,
  // whose bytes fit in a level reads them from there rather than from memory (the host
  // CPU, from sysfs; empty for the spec sheets).
  std::vector<double> cache_bytes;
  std::optional<double> tdp_w;         // board power / TDP / default power limit
  std::optional<double> idle_power_w;
  std::string interconnect;            // "NVLink 4", "PCIe 4.0 x16"
  std::optional<double> interconnect_bytes_per_s;
  nlohmann::json sources = nlohmann::json::object();  // figure -> where it comes from
  std::string notes;

  // The dense peak for `dtype`, else for the nearest type the part computes it in
  // (float16 for bfloat16 on parts without it, float32 otherwise); empty if none.
  std::optional<double> peak_for(const std::string& dtype) const;
};

// {"id", "name", "kind", ...}: the fields above, absent figures as null.
nlohmann::json to_json(const MachineSpec& m);
Result<MachineSpec> spec_from_json(const nlohmann::json& j);

// Every catalogued machine (the shipped spec files), then this machine's CPU.
std::vector<MachineSpec> catalogue();
// The machine `id`; NotFound lists the ids that exist.
Result<MachineSpec> find_machine(const std::string& id);
// The machine a dataset or a driver names `name`: its id or one of its aliases, case and
// spaces, dashes and underscores aside. NotFound names `name` and lists the ids.
Result<MachineSpec> find_machine_named(const std::string& name);

// The CPU irene runs on, as /proc/cpuinfo, cpufreq, sysfs's cache folders and
// /proc/meminfo under `root` describe it: peak float32 FLOP/s from cores x clock x the
// vector units the CPU's flags name, last-level cache and memory sizes; what the OS does
// not say (bandwidth, power) is empty.
MachineSpec host_cpu(const std::string& root = "");

}  // namespace irene::machines
