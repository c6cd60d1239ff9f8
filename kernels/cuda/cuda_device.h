// CudaDevice: a CUDA GPU on the device seams (core/runtime/device.h). No CUDA
// header here: the types that need one live in cuda_device.cpp.
//
//  - Memory: the stream-ordered allocator (cudaMallocAsync) from the device's
//    default pool, whose release threshold is the plan's ledger figure
//    (DeviceConfig::memoryBytes; 0 = none) so steady-state runs keep their
//    memory; a DeviceMemoryLedger caps the bytes in use (planned + margin, at
//    most the GPU's memory) and turns refusals into errors naming the device
//    and what the ledger planned.
//  - Contexts: each executor (pipeline stage) gets its own stream with its
//    own cuBLAS/cuDNN handles (createStageContext); the device's own context
//    serves copies.
//  - Copies: host <-> device through a pinned staging buffer (so pageable
//    memory never blocks the DMA engine on page faults), device <-> device
//    with cudaMemcpyPeerAsync after enabling peer access where the GPUs allow.
#pragma once

#include "core/runtime/device.h"

#include <memory>

namespace sb::kernels {

// Registers the "cuda" kind with runtime::DeviceFactory (CUDA builds).
void registerCudaDeviceKind();

// Creates cuda:<index>; an error naming the device when there is no such GPU.
Result<std::unique_ptr<runtime::Device>> createCudaDevice(const runtime::DeviceConfig &config,
                                                          int index,
                                                          const runtime::KernelRegistry &registry);

// Registration of the CUDA kernels (kernels/cuda/cuda_kernels.cpp).
void registerCudaKernels(runtime::KernelRegistry &registry);

} // namespace sb::kernels
