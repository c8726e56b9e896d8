// What this machine's memory holds, from /proc/meminfo: for refusing work that cannot fit
// before the kernel kills it, and for the profiler's memory-use samples.
#pragma once

#include <optional>
#include <string>

namespace irene {

struct MemInfo {
  double total_bytes = 0;      // MemTotal
  double available_bytes = 0;  // MemAvailable: what can be allocated without swapping
};

// The file given (a test's fake /proc, or the real one); empty when unreadable.
std::optional<MemInfo> read_meminfo(const std::string& path = "/proc/meminfo");

// MemAvailable in bytes; empty when unreadable.
std::optional<double> available_memory_bytes();

}  // namespace irene
