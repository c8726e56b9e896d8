// What this machine has free, for refusing work that cannot fit before the kernel kills it.
#pragma once

#include <optional>
#include <string>

namespace irene {

// MemAvailable from /proc/meminfo (or the file given), in bytes; empty when unreadable.
std::optional<double> available_memory_bytes(const std::string& meminfo = "/proc/meminfo");

}  // namespace irene
