#include "common/memory.h"

#include <fstream>

namespace irene {

std::optional<double> available_memory_bytes(const std::string& meminfo) {
  std::ifstream in(meminfo);
  std::string key, unit;
  double kib = 0;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::nullopt;
}

}  // namespace irene
