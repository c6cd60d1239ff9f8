// The CUDA execution context of one pipeline stage and the checks every CUDA,
// cuBLAS and cuDNN call goes through. Internal to kernels/cuda (it includes
// the CUDA headers; public headers never do).
#pragma once

#include "core/runtime/device.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <memory>
#include <string>

namespace sb::kernels::cuda {

// "cudaMalloc failed: out of memory (cudaErrorMemoryAllocation)".
std::string cudaMessage(const char *what, cudaError_t status);
std::string cublasMessage(const char *what, cublasStatus_t status);
std::string cudnnMessage(const char *what, cudnnStatus_t status);

// Returns a Runtime error naming `where` (device, node) when a call fails.
#define SB_CUDA_CHECK(where, call)                                                                 \
    do {                                                                                           \
        const cudaError_t sbStatus_ = (call);                                                      \
        if (sbStatus_ != cudaSuccess)                                                              \
            return ::sb::makeError(::sb::ErrorCode::Runtime,                                       \
                                   (where) + std::string(": ") +                                   \
                                       ::sb::kernels::cuda::cudaMessage(#call, sbStatus_));        \
    } while (0)
#define SB_CUBLAS_CHECK(where, call)                                                               \
    do {                                                                                           \
        const cublasStatus_t sbStatus_ = (call);                                                   \
        if (sbStatus_ != CUBLAS_STATUS_SUCCESS)                                                    \
            return ::sb::makeError(::sb::ErrorCode::Runtime,                                       \
                                   (where) + std::string(": ") +                                   \
                                       ::sb::kernels::cuda::cublasMessage(#call, sbStatus_));      \
    } while (0)
#define SB_CUDNN_CHECK(where, call)                                                                \
    do {                                                                                           \
        const cudnnStatus_t sbStatus_ = (call);                                                    \
        if (sbStatus_ != CUDNN_STATUS_SUCCESS)                                                     \
            return ::sb::makeError(::sb::ErrorCode::Runtime,                                       \
                                   (where) + std::string(": ") +                                   \
                                       ::sb::kernels::cuda::cudnnMessage(#call, sbStatus_));       \
    } while (0)

// One stream with the library handles bound to it, a scratch workspace and a
// pair of events for timing. Owns every handle (RAII); not copyable.
class CudaContext final : public runtime::ExecutionContext
{
public:
    static Result<std::unique_ptr<CudaContext>> create(int device, std::string deviceId);
    ~CudaContext() override;
    CudaContext(const CudaContext &) = delete;
    CudaContext &operator=(const CudaContext &) = delete;

    std::string describe() const override;
    Status synchronize() override;

    int device() const { return m_device; }
    const std::string &deviceId() const { return m_deviceId; }
    cudaStream_t stream() const { return m_stream; }
    cublasHandle_t cublas() const { return m_cublas; }
    cudnnHandle_t cudnn() const { return m_cudnn; }
    // Makes this context's device current on the calling thread.
    Status activate() const;
    // Scratch memory of at least `bytes` on the stream (grown, stream-ordered).
    Result<void *> workspace(std::size_t bytes);
    // Events around a region of the stream; elapsedMs() after synchronize().
    Status recordStart();
    Status recordStop();
    Result<float> elapsedMs() const;

private:
    CudaContext(int device, std::string deviceId)
        : m_device(device), m_deviceId(std::move(deviceId))
    {}
    int m_device;
    std::string m_deviceId;
    cudaStream_t m_stream = nullptr;
    cublasHandle_t m_cublas = nullptr;
    cudnnHandle_t m_cudnn = nullptr;
    cudaEvent_t m_start = nullptr;
    cudaEvent_t m_stop = nullptr;
    void *m_workspace = nullptr;
    std::size_t m_workspaceBytes = 0;
};

} // namespace sb::kernels::cuda
