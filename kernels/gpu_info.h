// What CUDA GPUs this process can use. Safe to call in any build: without
// CUDA support, or with a driver but no device, it reports zero devices.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sb::kernels {

struct GpuInfo
{
    int index = 0;
    std::string name;
    std::uint64_t memoryBytes = 0;
    int computeMajor = 0;
    int computeMinor = 0;
    int multiprocessors = 0;
};

bool builtWithCuda();
// Empty when no GPU is present or usable; `reason` (optional) says why.
std::vector<GpuInfo> listGpus(std::string *reason = nullptr);

} // namespace sb::kernels
