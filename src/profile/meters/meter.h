// Energy meters: what a machine can tell irene about the energy it spends.
//
// Three sources sit behind one interface:
//   - RAPL through the powercap sysfs tree (Intel and AMD CPUs; package and dram zones),
//   - RAPL through the perf_event `power` PMU (when powercap is absent),
//   - NVIDIA GPUs through NVML, loaded at run time (no link-time dependency on the driver).
//
// Units: joules and seconds everywhere. Raw sysfs microjoules, NVML millijoules and
// milliwatts are converted inside.
//
// Thread safety: an EnergyMeter (and GpuMeter) may be read from several threads at once;
// each guards its own state. MeterWindow and MeterSet are plain values for one thread.
//
// Errors follow irene's convention (common/status.h): a source that is absent on this
// machine is a Status whose message starts with "<source> not available: " and says why.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace irene::profile {

// One cumulative energy counter.
class EnergyMeter {
 public:
  virtual ~EnergyMeter() = default;

  // Stable identifier: "rapl:package-0", "rapl:package-0/dram", "perf:energy-pkg@cpu0", "nvml:gpu0".
  virtual const std::string& name() const = 0;
  // What the counter covers: "cpu package", "dram", "gpu board".
  virtual const std::string& what() const = 0;
  // Joules per counter step; for meters that integrate power, the best estimate.
  virtual double resolution_j() const = 0;
  // How often the underlying counter changes. Windows shorter than this are unreliable.
  virtual double update_period_s() const = 0;

  // Joules since the meter was opened: monotonic, hardware wraparound already handled, so
  // the energy of a window is (read at end) - (read at begin). A counter can only be
  // unwrapped if it is read at least once per wrap (RAPL: max_energy_range_uj / power,
  // minutes at least), which any profiling loop does. Meters that integrate power (NVML on
  // GPUs without an energy counter) integrate between successive reads, so more frequent
  // reads give a better estimate.
  virtual Result<double> read_energy_j() = 0;
};

// One reading of a GPU's load for the profiler's background sampler. Fields the GPU does
// not support are empty.
struct GpuSample {
  std::optional<double> gpu_util_pct;       // % of the last sample period a kernel was running
  std::optional<double> memory_busy_pct;    // % of the last sample period memory was read/written
  std::optional<double> memory_used_pct;    // used / total device memory, %
  std::optional<double> graphics_clock_mhz;
  std::optional<double> memory_clock_mhz;
  std::optional<double> power_w;            // board power now
};

// An energy meter on a GPU that can also report the GPU's load.
class GpuMeter : public EnergyMeter {
 public:
  // Device index as the driver numbers it.
  virtual unsigned index() const = 0;
  // Marketing name ("NVIDIA A100-SXM4-40GB"), or "" when the driver does not say.
  virtual const std::string& device_name() const = 0;
  // True when this GPU has no energy counter and energy is integrated from power readings.
  virtual bool integrates_power() const = 0;
  // Utilisation, memory and clocks now. Fails only when nothing at all can be read.
  virtual Result<GpuSample> sample() = 0;
};

// ---- Opening meters -------------------------------------------------------------------

using EnergyMeters = std::vector<std::unique_ptr<EnergyMeter>>;

inline constexpr const char* kDefaultSysfsRoot = "/sys";
inline constexpr const char* kDefaultNvmlLibrary = "libnvidia-ml.so.1";

// RAPL through <sysfs_root>/class/powercap/intel-rapl:N (packages) and intel-rapl:N:M
// (their subzones). Opens the package and dram zones; core, uncore and psys zones overlap
// them and are skipped. Fails with "RAPL powercap not available: ..." when there is no
// tree, and with an io_error naming the file and the fix when energy_uj is not readable.
Result<EnergyMeters> open_rapl_meters(const std::string& sysfs_root = kDefaultSysfsRoot);

// RAPL through the perf_event power PMU described at
// <sysfs_root>/bus/event_source/devices/power: one system-wide counter per package (the
// PMU's cpumask, cpu 0 when absent) for energy-pkg and, where present, energy-ram. Fails
// with "perf power PMU not available: ..." and the reason (missing files, errno text).
Result<EnergyMeters> open_perf_rapl_meters(const std::string& sysfs_root = kDefaultSysfsRoot);

// One meter per NVIDIA GPU, through NVML loaded with dlopen(library). Uses the GPU's
// total-energy counter (Volta and later) or else integrates board power. Fails with
// "NVML not available: ..." when the library, the driver or a GPU is missing.
Result<std::vector<std::unique_ptr<GpuMeter>>> open_nvml_meters(
    const std::string& library = kDefaultNvmlLibrary);

// ---- Discovery --------------------------------------------------------------------------

struct MeterOptions {
  std::string sysfs_root = kDefaultSysfsRoot;
  std::string nvml_library = kDefaultNvmlLibrary;
};

// A source of meters that gave none, and why.
struct UnavailableSource {
  std::string source;  // "RAPL powercap", "perf power PMU", "NVML"
  std::string reason;  // the Status message, or why the source was not tried
};

struct MeterSet {
  EnergyMeters meters;                       // every meter found; GPUs are GpuMeters
  std::vector<UnavailableSource> unavailable;  // one entry per source that gave nothing
  std::string looked_for;                    // "RAPL powercap at ..., perf power PMU at ..., NVML ..."

  bool empty() const { return meters.empty(); }
  // Non-owning views, in the order of `meters`.
  std::vector<EnergyMeter*> all() const;
  std::vector<GpuMeter*> gpus() const;
  // When empty: "no energy meter found (looked for: <looked_for>)".
  // Otherwise: "energy meters: rapl:package-0 (cpu package), nvml:gpu0 (gpu board)".
  std::string summary() const;
  // One line per unavailable source: "NVML not available: cannot load ...".
  std::string reasons() const;
};

// Tries RAPL powercap; the perf power PMU only when powercap gave nothing (they count the
// same energy); then NVML. Never fails: what could not be opened is listed in `unavailable`.
MeterSet discover_meters(const MeterOptions& options = {});

// ---- Measuring a window -----------------------------------------------------------------

// The energy one meter saw over a window.
struct WindowEnergy {
  std::string meter;                // EnergyMeter::name()
  double seconds = 0;               // wall-clock length of the window
  std::optional<double> energy_j;   // empty = no reading; `note` says why. Never a fake 0.
  bool shorter_than_update_period = false;  // warning: the value (if any) is coarse
  std::string note;                 // why energy_j is empty, or the short-window warning
};

// Applies the reading rules to a counter difference `delta_j` over `seconds`:
//   - a window shorter than the meter's update period is flagged; if the counter did not
//     move, there is no reading (the meter had no chance to update), not zero energy;
//   - a window at least one update period long in which the counter did not move is no
//     reading: a live meter always moves, so it is stuck or not counting.
WindowEnergy judge_window(const EnergyMeter& meter, double delta_j, double seconds);

// Measures every meter over one window:
//   auto window = MeterWindow::begin(set.all());  run();  auto energies = window.end();
// The meters must outlive the window. Not thread-safe (one owner).
class MeterWindow {
 public:
  static MeterWindow begin(std::vector<EnergyMeter*> meters);
  // Energy per meter since begin(), in begin()'s order. May be called more than once;
  // each call measures from begin(). A meter whose read fails gets no reading and the error.
  std::vector<WindowEnergy> end() const;

 private:
  struct Start {
    EnergyMeter* meter;
    Result<double> energy_j;
  };
  std::vector<Start> starts_;
  std::chrono::steady_clock::time_point begin_time_;
};

}  // namespace irene::profile
