// Memory budget of streamed evaluation work (`--memory-limit` of eval, drift
// and quality). Work that keeps per-row state (sorted samples for exact
// drift statistics, row hashes for duplicates) plans its passes so that this
// state stays under the limit: more passes over the file, or partitions
// spilled to temporary files, instead of more memory.
#pragma once

#include "core/common/result.h"

#include <cstddef>
#include <string>

namespace sb::eval {

// Physical memory of this machine in bytes (0 when unknown).
std::size_t physicalMemoryBytes();
// Default limit: 1/16 of physical memory (1.5 GiB on a 24 GiB machine),
// at least 256 MiB; 1 GiB when the memory size is unknown.
std::size_t defaultMemoryLimit();
// "1500000000", "800M", "1.5G", "2GiB", "512MiB", "64k" (binary units: k =
// 1024). InvalidInput naming the text otherwise, or when below 64 MiB.
Result<std::size_t> parseMemorySize(const std::string &text);

} // namespace sb::eval
