#include "kernels/gpu_info.h"

#ifdef SHARDBENCH_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace sb::kernels {

int fp32LanesPerSm(int major, int minor)
{
    switch (major) {
    case 7:
        return 64; // Volta, Turing
    case 8:
        return minor == 0 ? 64 : 128; // A100: 64; GA10x, Ada: 128
    case 9:
        return 128; // Hopper
    case 10:
    case 12:
        return 128; // Blackwell
    default:
        return 0;
    }
}

bool builtWithCuda()
{
#ifdef SHARDBENCH_HAVE_CUDA
    return true;
#else
    return false;
#endif
}

std::vector<GpuInfo> listGpus(std::string *reason)
{
    std::vector<GpuInfo> gpus;
#ifdef SHARDBENCH_HAVE_CUDA
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        if (reason)
            *reason = std::string("CUDA: ") + cudaGetErrorString(status);
        cudaGetLastError(); // clear the sticky error so later calls start clean
        return gpus;
    }
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp prop{};
        if (cudaGetDeviceProperties(&prop, i) != cudaSuccess)
            continue;
        GpuInfo info;
        info.index = i;
        info.name = prop.name;
        info.memoryBytes = prop.totalGlobalMem;
        info.computeMajor = prop.major;
        info.computeMinor = prop.minor;
        info.multiprocessors = prop.multiProcessorCount;
        if (cudaDeviceGetAttribute(&info.clockKhz, cudaDevAttrClockRate, i) != cudaSuccess) {
            cudaGetLastError();
            info.clockKhz = 0;
        }
        info.peakFp32Flops = static_cast<double>(info.multiprocessors) *
                             fp32LanesPerSm(info.computeMajor, info.computeMinor) * 2.0 *
                             static_cast<double>(info.clockKhz) * 1e3;
        gpus.push_back(info);
    }
    for (GpuInfo &info : gpus)
        for (const GpuInfo &other : gpus) {
            int can = 0;
            if (other.index != info.index &&
                cudaDeviceCanAccessPeer(&can, info.index, other.index) == cudaSuccess && can)
                info.peers.push_back(other.index);
        }
    if (gpus.empty() && reason)
        *reason = "CUDA: no device found";
#else
    if (reason)
        *reason = "built without CUDA";
#endif
    return gpus;
}

} // namespace sb::kernels
