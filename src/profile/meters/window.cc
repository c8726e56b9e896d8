// Turning two counter readings into an energy, or into an honest "no reading".
#include <cstdio>

#include "profile/meters/meter.h"

namespace irene::profile {
namespace {

std::string format_seconds(double seconds) {
  char text[32];
  if (seconds < 1e-3) {
    std::snprintf(text, sizeof text, "%.0f us", seconds * 1e6);
  } else if (seconds < 1) {
    std::snprintf(text, sizeof text, "%.1f ms", seconds * 1e3);
  } else {
    std::snprintf(text, sizeof text, "%.3f s", seconds);
  }
  return text;
}

}  // namespace

WindowEnergy judge_window(const EnergyMeter& meter, double delta_j, double seconds) {
  WindowEnergy result;
  result.meter = meter.name();
  result.seconds = seconds;
  const double period = meter.update_period_s();
  // A live counter moves by at least one step per update; less than half a step is "no move"
  // (guards against floating-point dust from unit conversion).
  const bool moved = delta_j >= 0.5 * meter.resolution_j() && delta_j > 0;
  result.shorter_than_update_period = seconds < period;
  if (result.shorter_than_update_period) {
    std::string warning = "window of " + format_seconds(seconds) + " is shorter than " + meter.name() +
                          "'s update period (" + format_seconds(period) + ")";
    if (moved) {
      result.energy_j = delta_j;
      result.note = warning + ": the value is coarse; measure a longer window or repeat the work";
    } else {
      result.note = warning + " and the counter did not move: no reading (not zero energy); "
                    "measure a longer window or repeat the work";
    }
    return result;
  }
  if (!moved) {
    result.note = meter.name() + " did not change over " + format_seconds(seconds) +
                  ", longer than its update period (" + format_seconds(period) +
                  "): no reading (the meter is not counting), not zero energy";
    return result;
  }
  result.energy_j = delta_j;
  return result;
}

MeterWindow MeterWindow::begin(std::vector<EnergyMeter*> meters) {
  MeterWindow window;
  window.starts_.reserve(meters.size());
  for (EnergyMeter* meter : meters) window.starts_.push_back(Start{meter, meter->read_energy_j()});
  // Taken after the reads so the window does not include their cost (sysfs reads take ~us,
  // NVML calls up to ~1 ms).
  window.begin_time_ = std::chrono::steady_clock::now();
  return window;
}

std::vector<WindowEnergy> MeterWindow::end() const {
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - begin_time_).count();
  std::vector<WindowEnergy> energies;
  energies.reserve(starts_.size());
  for (const Start& start : starts_) {
    if (!start.energy_j) {
      energies.push_back({start.meter->name(), seconds, std::nullopt, false,
                          "no reading: at the start: " + start.energy_j.status().message()});
      continue;
    }
    auto now = start.meter->read_energy_j();
    if (!now) {
      energies.push_back({start.meter->name(), seconds, std::nullopt, false,
                          "no reading: at the end: " + now.status().message()});
      continue;
    }
    energies.push_back(judge_window(*start.meter, *now - *start.energy_j, seconds));
  }
  return energies;
}

}  // namespace irene::profile
