#include "machines/catalogue.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "machines/machine_specs.h"

namespace irene::machines {

namespace {

nlohmann::json optional_json(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nlohmann::json(); }

std::optional<double> optional_number(const nlohmann::json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return j[key].get<double>();
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The value of the first "key : value" line of /proc/cpuinfo with this key.
std::string cpuinfo_field(const std::string& cpuinfo, const std::string& key) {
  std::istringstream in(cpuinfo);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string v = line.substr(colon + 1);
    v.erase(0, v.find_first_not_of(" \t"));
    return v;
  }
  return "";
}

}  // namespace

std::optional<double> MachineSpec::peak_for(const std::string& dtype) const {
  for (const std::string& t : {dtype, dtype == "bfloat16" ? std::string("float16") : std::string(), std::string("float32")})
    if (!t.empty())
      if (auto it = peak_flops.find(t); it != peak_flops.end()) return it->second;
  return std::nullopt;
}

nlohmann::json to_json(const MachineSpec& m) {
  return {{"id", m.id},
          {"name", m.name},
          {"aliases", m.aliases},
          {"kind", m.kind},
          {"architecture", m.architecture},
          {"compute_capability", optional_json(m.compute_capability)},
          {"peak_flops", m.peak_flops},
          {"memory_bandwidth_bytes_per_s", optional_json(m.memory_bandwidth_bytes_per_s)},
          {"memory_bytes", optional_json(m.memory_bytes)},
          {"cache_bytes", m.cache_bytes},
          {"tdp_w", optional_json(m.tdp_w)},
          {"idle_power_w", optional_json(m.idle_power_w)},
          {"interconnect", {{"name", m.interconnect}, {"bytes_per_s", optional_json(m.interconnect_bytes_per_s)}}},
          {"sources", m.sources},
          {"notes", m.notes}};
}

Result<MachineSpec> spec_from_json(const nlohmann::json& j) {
  MachineSpec m;
  try {
    m.id = j.at("id").get<std::string>();
    m.name = j.at("name").get<std::string>();
    if (j.contains("aliases")) m.aliases = j["aliases"].get<std::vector<std::string>>();
    m.kind = j.value("kind", "gpu");
    m.architecture = j.value("architecture", "");
    m.compute_capability = optional_number(j, "compute_capability");
    for (const auto& [dtype, v] : j.at("peak_flops").items())
      if (!v.is_null()) m.peak_flops[dtype] = v.get<double>();
    m.memory_bandwidth_bytes_per_s = optional_number(j, "memory_bandwidth_bytes_per_s");
    m.memory_bytes = optional_number(j, "memory_bytes");
    if (j.contains("cache_bytes") && j["cache_bytes"].is_array()) m.cache_bytes = j["cache_bytes"].get<std::vector<double>>();
    m.tdp_w = optional_number(j, "tdp_w");
    m.idle_power_w = optional_number(j, "idle_power_w");
    if (j.contains("interconnect") && j["interconnect"].is_object()) {
      m.interconnect = j["interconnect"].value("name", "");
      m.interconnect_bytes_per_s = optional_number(j["interconnect"], "bytes_per_s");
    }
    m.sources = j.value("sources", nlohmann::json::object());
    m.notes = j.value("notes", "");
  } catch (const nlohmann::json::exception& e) {
    return Status::corrupt(std::string("machine spec: ") + e.what());
  }
  return m;
}

MachineSpec host_cpu(const std::string& root) {
  MachineSpec m;
  m.id = "this-cpu";
  m.kind = "cpu";
  const std::string cpuinfo = read_text(root + "/proc/cpuinfo");
  m.name = cpuinfo_field(cpuinfo, "model name");
  if (m.name.empty()) m.name = "this machine's CPU";
  const std::string flags = " " + cpuinfo_field(cpuinfo, "flags") + " ";
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  // FP32 FLOPs per cycle per core: two FMA units of the widest vectors the flags name
  // (AVX-512: 16 lanes, AVX2 with FMA: 8 lanes, SSE: 4 lanes, x 2 flops per FMA x 2 units).
  const double lanes = flags.find(" avx512f ") != std::string::npos ? 16
                       : flags.find(" avx2 ") != std::string::npos && flags.find(" fma ") != std::string::npos ? 8
                                                                                                               : 4;
  double mhz = 0;
  const std::string max_khz = read_text(root + "/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  if (!max_khz.empty()) mhz = std::stod(max_khz) / 1000.0;
  if (mhz <= 0 && !cpuinfo_field(cpuinfo, "cpu MHz").empty()) mhz = std::stod(cpuinfo_field(cpuinfo, "cpu MHz"));
  if (mhz > 0) {
    m.peak_flops["float32"] = threads * mhz * 1e6 * lanes * 2 * 2;
    m.sources["peak_flops"] = "estimated: " + std::to_string(threads) + " hardware threads x " +
                              std::to_string(static_cast<int>(mhz)) + " MHz x " + std::to_string(static_cast<int>(lanes)) +
                              " float32 lanes x 2 (FMA) x 2 units, from /proc/cpuinfo and cpufreq";
  }
  // The data and unified caches sysfs lists for cpu0 ("32K", "1024K", "32768K").
  std::string levels;
  for (int index = 0; index < 8; ++index) {
    const std::string dir = root + "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index);
    auto field = [&](const char* name) {
      std::string v = read_text(dir + "/" + name);
      while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.pop_back();
      return v;
    };
    const std::string size = field("size"), type = field("type");
    if (size.empty() || type == "Instruction") continue;
    double bytes = std::atof(size.c_str());
    if (size.find('K') != std::string::npos) bytes *= 1024;
    if (size.find('M') != std::string::npos) bytes *= 1024 * 1024;
    m.cache_bytes.push_back(bytes);
    levels += (levels.empty() ? "L" : ", L") + field("level") + " " + size;
  }
  std::sort(m.cache_bytes.begin(), m.cache_bytes.end());
  if (!levels.empty()) m.sources["cache_bytes"] = "sysfs " + root + "/sys/devices/system/cpu/cpu0/cache: " + levels;
  std::istringstream meminfo(read_text(root + "/proc/meminfo"));
  for (std::string key; meminfo >> key;) {
    double kb = 0;
    meminfo >> kb;
    if (key == "MemTotal:") {
      m.memory_bytes = kb * 1024;
      m.sources["memory_bytes"] = "/proc/meminfo MemTotal";
      break;
    }
    meminfo.ignore(256, '\n');
  }
  m.notes = "From the operating system: memory bandwidth, TDP and idle power are not reported, so a prediction "
            "for this machine needs a calibration (irene profile) rather than its spec alone.";
  return m;
}

std::vector<MachineSpec> catalogue() {
  // Parsed once per process: the files are compiled in and the host does not change.
  static const std::vector<MachineSpec> all = [] {
    std::vector<MachineSpec> out;
    for (const auto& file : machine_spec_files()) {
      auto doc = nlohmann::json::parse(file.text, nullptr, false);
      if (doc.is_discarded()) continue;  // shipped files are tested to parse
      if (auto m = spec_from_json(doc); m.is_ok()) out.push_back(std::move(*m));
    }
    out.push_back(host_cpu());
    return out;
  }();
  return all;
}

Result<MachineSpec> find_machine(const std::string& id) {
  std::string ids;
  for (auto& m : catalogue()) {
    if (m.id == id) return m;
    ids += (ids.empty() ? "" : ", ") + m.id;
  }
  return Status::not_found("unknown machine '" + id + "'; the catalogue has: " + ids);
}

Result<MachineSpec> find_machine_named(const std::string& name) {
  auto key = [](const std::string& s) {
    std::string k;
    for (char c : s)
      if (c != ' ' && c != '-' && c != '_') k += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return k;
  };
  const std::string wanted = key(name);
  std::string ids;
  for (auto& m : catalogue()) {
    if (key(m.id) == wanted) return m;
    for (const auto& a : m.aliases)
      if (key(a) == wanted) return m;
    ids += (ids.empty() ? "" : ", ") + m.id;
  }
  return Status::not_found("no machine of the catalogue is named '" + name + "' (by id or alias); the catalogue has: " +
                           ids + " (a spec file's 'aliases' lists the other names of its GPU)");
}

}  // namespace irene::machines
