#include "common/memory.h"

#include <fstream>

namespace irene {

std::optional<MemInfo> read_meminfo(const std::string& path) {
  std::ifstream in(path);
  std::string key, rest;
  double kib = 0;
  std::optional<double> total, available;
  while (in >> key >> kib) {
    std::getline(in, rest);  // " kB"
    if (key == "MemTotal:") total = kib * 1024;
    if (key == "MemAvailable:") available = kib * 1024;
  }
  if (!total || !available || *total <= 0) return std::nullopt;
  return MemInfo{*total, *available};
}

std::optional<double> available_memory_bytes() {
  auto info = read_meminfo();
  return info ? std::optional<double>(info->available_bytes) : std::nullopt;
}

}  // namespace irene
