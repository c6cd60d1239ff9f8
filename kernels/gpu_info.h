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
    int clockKhz = 0;         // peak SM clock
    double peakFp32Flops = 0; // SMs x FP32 lanes per SM x 2 x clock (0: unknown arch)
    std::vector<int> peers;   // GPUs this one can access directly (P2P: NVLink or PCIe)
};

// FP32 lanes per SM for a compute capability (CUDA programming guide's
// arithmetic-throughput table); 0 when not known.
int fp32LanesPerSm(int major, int minor);

bool builtWithCuda();
// Empty when no GPU is present or usable; `reason` (optional) says why.
std::vector<GpuInfo> listGpus(std::string *reason = nullptr);

} // namespace sb::kernels
