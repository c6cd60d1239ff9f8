#include "kernels/gpu_info.h"

#ifdef SHARDBENCH_HAVE_CUDA
#include <cuda_runtime.h>
#endif

namespace sb::kernels {

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
        gpus.push_back(info);
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
