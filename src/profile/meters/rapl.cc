// RAPL through the powercap sysfs tree.
//
// Layout (Linux Documentation/power/powercap): <root>/class/powercap/intel-rapl:N is package
// N (file `name` = "package-N"), intel-rapl:N:M its subzones ("core", "uncore", "dram").
// Subzones appear both at the top level (as links) and nested in their package folder.
// Each zone has energy_uj (microjoules, wraps) and max_energy_range_uj (where it wraps).
// AMD CPUs register the same "intel-rapl" tree. intel-rapl-mmio zones duplicate the MSR
// package zones, and psys covers the whole platform, so both are left out.
#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "profile/meters/meter.h"
#include "profile/meters/sysfs_file.h"

namespace irene::profile {
namespace {

using detail::join_path;

// sysfs steps are 1 uJ; the hardware's own unit is coarser (15.3-61 uJ on Intel), but the
// sysfs value is what we can see change.
constexpr double kRaplResolutionJ = 1e-6;
// Intel documents the energy status counters as updated about every millisecond.
constexpr double kRaplUpdatePeriodS = 1e-3;

std::string permission_hint(const std::string& powercap_dir) {
  return "run as root or: sudo chmod o+r " + powercap_dir + "/intel-rapl:*/energy_uj";
}

class RaplMeter final : public EnergyMeter {
 public:
  RaplMeter(std::string name, std::string what, std::string energy_path, std::string hint,
            uint64_t max_range_uj, uint64_t first_raw_uj)
      : name_(std::move(name)),
        what_(std::move(what)),
        energy_path_(std::move(energy_path)),
        hint_(std::move(hint)),
        max_range_uj_(max_range_uj),
        last_raw_uj_(first_raw_uj) {}

  const std::string& name() const override { return name_; }
  const std::string& what() const override { return what_; }
  double resolution_j() const override { return kRaplResolutionJ; }
  double update_period_s() const override { return kRaplUpdatePeriodS; }

  Result<double> read_energy_j() override {
    std::lock_guard lock(mutex_);
    IRENE_ASSIGN_OR_RETURN(uint64_t raw, detail::read_unsigned_file(energy_path_, hint_));
    // The counter runs from 0 up to max_energy_range_uj and starts again: a smaller value
    // than last time means it wrapped (once; reads are far more frequent than wraps).
    uint64_t step = raw >= last_raw_uj_ ? raw - last_raw_uj_ : raw + max_range_uj_ - last_raw_uj_;
    total_uj_ += step;
    last_raw_uj_ = raw;
    return static_cast<double>(total_uj_) * 1e-6;
  }

 private:
  const std::string name_, what_, energy_path_, hint_;
  const uint64_t max_range_uj_;
  std::mutex mutex_;
  uint64_t last_raw_uj_;
  uint64_t total_uj_ = 0;
};

// One zone folder found in the tree.
struct Zone {
  int package = 0;
  int subzone = -1;  // -1 for the package zone itself
  std::filesystem::path dir;
};

// "intel-rapl:3" -> {3, -1}, "intel-rapl:3:1" -> {3, 1}; nothing for other names
// ("intel-rapl-mmio:0", "intel-rapl:x").
std::optional<std::pair<int, int>> parse_zone_name(const std::string& file) {
  static const std::string kPrefix = "intel-rapl:";
  if (file.rfind(kPrefix, 0) != 0) return std::nullopt;
  int numbers[2] = {-1, -1};
  int count = 0;
  size_t pos = kPrefix.size();
  while (count < 2) {
    size_t end = file.find(':', pos);
    std::string part = file.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
    if (part.empty() || part.size() > 6 || part.find_first_not_of("0123456789") != std::string::npos)
      return std::nullopt;
    numbers[count++] = std::stoi(part);
    if (end == std::string::npos) return std::pair{numbers[0], numbers[1]};
    pos = end + 1;
  }
  return std::nullopt;  // more than two numbers
}

// Zones keyed by (package, subzone) so a subzone seen both at the top level and nested is
// listed once, and packages come before their subzones.
std::map<std::pair<int, int>, Zone> find_zones(const std::filesystem::path& powercap) {
  std::map<std::pair<int, int>, Zone> zones;
  auto scan = [&](const std::filesystem::path& dir) {
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      auto numbers = parse_zone_name(entry.path().filename().string());
      if (!numbers) continue;
      Zone zone;
      zone.package = numbers->first;
      zone.subzone = numbers->second;
      zone.dir = entry.path();
      zones.emplace(std::pair{zone.package, zone.subzone}, zone);  // first (top-level) wins
    }
  };
  scan(powercap);
  std::vector<std::filesystem::path> packages;
  for (const auto& [key, zone] : zones)
    if (key.second < 0) packages.push_back(zone.dir);
  for (const auto& dir : packages) scan(dir);
  return zones;
}

// "package-0" -> "cpu package", "dram" -> "dram"; "" for zones we do not open.
std::string measured_part(const std::string& zone_name) {
  if (zone_name.rfind("package", 0) == 0) return "cpu package";
  if (zone_name == "dram") return "dram";
  return "";
}

}  // namespace

Result<EnergyMeters> open_rapl_meters(const std::string& sysfs_root) {
  const std::string powercap = join_path(sysfs_root, "class/powercap");
  std::error_code ec;
  if (!std::filesystem::is_directory(powercap, ec)) {
    return Status::not_found("RAPL powercap not available: " + powercap + " does not exist");
  }
  auto zones = find_zones(powercap);
  if (zones.empty()) {
    return Status::not_found("RAPL powercap not available: no intel-rapl zones in " + powercap);
  }
  const std::string hint = permission_hint(powercap);

  std::map<int, std::string> package_names;  // package number -> its zone name
  EnergyMeters meters;
  for (const auto& [key, zone] : zones) {
    const std::string dir = zone.dir.string();
    IRENE_ASSIGN_OR_RETURN(std::string raw_name, detail::read_small_file(dir + "/name"));
    std::string zone_name(detail::trim(raw_name));
    if (zone.subzone < 0) package_names[zone.package] = zone_name;
    std::string what = measured_part(zone_name);
    if (what.empty()) continue;

    std::string name = "rapl:" + zone_name;
    if (zone.subzone >= 0) {
      auto parent = package_names.find(zone.package);
      std::string parent_name =
          parent != package_names.end() ? parent->second : "package-" + std::to_string(zone.package);
      name = "rapl:" + parent_name + "/" + zone_name;
    }
    IRENE_ASSIGN_OR_RETURN(uint64_t max_range, detail::read_unsigned_file(dir + "/max_energy_range_uj", hint));
    if (max_range == 0) {
      return Status::corrupt(dir + "/max_energy_range_uj is 0: cannot unwrap the energy counter");
    }
    // Reading energy_uj now both checks access and sets the zero of the cumulative count.
    IRENE_ASSIGN_OR_RETURN(uint64_t first, detail::read_unsigned_file(dir + "/energy_uj", hint));
    meters.push_back(std::make_unique<RaplMeter>(name, what, dir + "/energy_uj", hint, max_range, first));
  }
  if (meters.empty()) {
    return Status::not_found("RAPL powercap not available: " + powercap +
                             " has no package or dram zone");
  }
  return meters;
}

}  // namespace irene::profile
