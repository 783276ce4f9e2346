// Footprint probes for the benchmark: the process's resident memory and the
// bytes a directory holds on disk.
#pragma once

#include <cstdint>
#include <string>

namespace kcanary::bench {

struct Memory {
  uint64_t rss_bytes = 0;  // VmRSS: resident now
  uint64_t hwm_bytes = 0;  // VmHWM: peak resident since start
};

/// Reads VmRSS and VmHWM from /proc/self/status (zeros if unreadable).
Memory ReadMemory();

/// Sum of the sizes of the regular files under `dir`.
uint64_t DirBytes(const std::string& dir);

}  // namespace kcanary::bench
