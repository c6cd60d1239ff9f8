#include "kernels/cuda/cuda_device.h"

#include "core/runtime/device_ledger.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/gpu_info.h"

#include <algorithm>
#include <cstring>
#include <mutex>

namespace sb::kernels {

namespace cuda {

std::string cudaMessage(const char *what, cudaError_t status)
{
    return std::string(what) + " failed: " + cudaGetErrorString(status) + " (" +
           cudaGetErrorName(status) + ")";
}

std::string cublasMessage(const char *what, cublasStatus_t status)
{
    return std::string(what) + " failed: " + cublasGetStatusString(status);
}

std::string cudnnMessage(const char *what, cudnnStatus_t status)
{
    return std::string(what) + " failed: " + cudnnGetErrorString(status);
}

Result<std::unique_ptr<CudaContext>> CudaContext::create(int device, std::string deviceId)
{
    std::unique_ptr<CudaContext> context(new CudaContext(device, std::move(deviceId)));
    const std::string where = "device " + context->m_deviceId;
    SB_CUDA_CHECK(where, cudaSetDevice(device));
    SB_CUDA_CHECK(where, cudaStreamCreateWithFlags(&context->m_stream, cudaStreamNonBlocking));
    SB_CUBLAS_CHECK(where, cublasCreate(&context->m_cublas));
    SB_CUBLAS_CHECK(where, cublasSetStream(context->m_cublas, context->m_stream));
    // FP32 results comparable with the CPU kernels: no TF32 tensor-op math.
    SB_CUBLAS_CHECK(where, cublasSetMathMode(context->m_cublas, CUBLAS_DEFAULT_MATH));
    SB_CUDNN_CHECK(where, cudnnCreate(&context->m_cudnn));
    SB_CUDNN_CHECK(where, cudnnSetStream(context->m_cudnn, context->m_stream));
    SB_CUDA_CHECK(where, cudaEventCreate(&context->m_start));
    SB_CUDA_CHECK(where, cudaEventCreate(&context->m_stop));
    return context;
}

CudaContext::~CudaContext()
{
    // Destructors cannot report: best effort, in reverse order of creation.
    cudaSetDevice(m_device);
    if (m_stream)
        cudaStreamSynchronize(m_stream);
    if (m_workspace)
        cudaFree(m_workspace);
    if (m_stop)
        cudaEventDestroy(m_stop);
    if (m_start)
        cudaEventDestroy(m_start);
    if (m_cudnn)
        cudnnDestroy(m_cudnn);
    if (m_cublas)
        cublasDestroy(m_cublas);
    if (m_stream)
        cudaStreamDestroy(m_stream);
}

std::string CudaContext::describe() const
{
    return "CUDA stream on " + m_deviceId;
}

Status CudaContext::activate() const
{
    SB_CUDA_CHECK("device " + m_deviceId, cudaSetDevice(m_device));
    return {};
}

Status CudaContext::synchronize()
{
    SB_CUDA_CHECK("device " + m_deviceId, cudaStreamSynchronize(m_stream));
    return {};
}

Result<void *> CudaContext::workspace(std::size_t bytes)
{
    if (bytes <= m_workspaceBytes)
        return m_workspace;
    const std::string where = "device " + m_deviceId + ": workspace";
    // The old workspace may still be read by queued work: wait, then grow.
    SB_CUDA_CHECK(where, cudaStreamSynchronize(m_stream));
    if (m_workspace) {
        SB_CUDA_CHECK(where, cudaFree(m_workspace));
        m_workspace = nullptr;
        m_workspaceBytes = 0;
    }
    SB_CUDA_CHECK(where, cudaMalloc(&m_workspace, bytes));
    m_workspaceBytes = bytes;
    return m_workspace;
}

Status CudaContext::recordStart()
{
    SB_CUDA_CHECK("device " + m_deviceId, cudaEventRecord(m_start, m_stream));
    return {};
}

Status CudaContext::recordStop()
{
    SB_CUDA_CHECK("device " + m_deviceId, cudaEventRecord(m_stop, m_stream));
    return {};
}

Result<float> CudaContext::elapsedMs() const
{
    float ms = 0;
    SB_CUDA_CHECK("device " + m_deviceId, cudaEventElapsedTime(&ms, m_start, m_stop));
    return ms;
}

} // namespace cuda

namespace {

using runtime::Tensor;

// Device memory from the stream-ordered allocator, counted by the ledger.
class CudaBufferType final : public runtime::BufferType
{
public:
    CudaBufferType(std::string deviceId, int device, cudaStream_t stream,
                   std::uint64_t physicalBytes, std::uint64_t plannedBytes)
        : m_deviceId(std::move(deviceId)), m_device(device), m_stream(stream),
          m_ledger(m_deviceId, physicalBytes, plannedBytes)
    {}
    const std::string &deviceId() const override { return m_deviceId; }
    std::size_t alignment() const override { return 256; }
    bool isHost() const override { return false; }
    std::uint64_t capacity() const override { return m_ledger.cap(); }
    std::uint64_t usedBytes() const override { return m_ledger.usedBytes(); }
    runtime::DeviceMemoryLedger &ledger() { return m_ledger; }

    Result<void *> allocate(std::size_t bytes) override
    {
        SB_ASSIGN_OR_RETURN(std::uint64_t size, m_ledger.reserve(bytes));
        void *data = nullptr;
        cudaError_t status = cudaSetDevice(m_device);
        if (status == cudaSuccess)
            status = cudaMallocAsync(&data, size, m_stream);
        // Ready for every stream once the allocation stream passed it.
        if (status == cudaSuccess)
            status = cudaStreamSynchronize(m_stream);
        if (status != cudaSuccess) {
            cudaGetLastError();
            m_ledger.release(size);
            if (status == cudaErrorMemoryAllocation)
                return m_ledger.outOfMemory(size, cudaGetErrorString(status));
            return makeError(ErrorCode::Runtime, "device " + m_deviceId + ": " +
                                                     cuda::cudaMessage("cudaMallocAsync", status));
        }
        return data;
    }

    void free(void *data, std::size_t bytes) override
    {
        if (!data)
            return;
        // Callers free only after the work using the memory completed (the
        // executor synchronises its stream first); stream order covers the rest.
        cudaSetDevice(m_device);
        cudaFreeAsync(data, m_stream);
        m_ledger.release(bytes);
    }

private:
    std::string m_deviceId;
    int m_device;
    cudaStream_t m_stream;
    runtime::DeviceMemoryLedger m_ledger;
};

constexpr std::size_t kStagingBytes = std::size_t{8} << 20;

class CudaDevice final : public runtime::Device
{
public:
    static Result<std::unique_ptr<runtime::Device>>
    create(const runtime::DeviceConfig &config, int index, const runtime::KernelRegistry &registry)
    {
        const std::string where = "device " + config.id;
        int count = 0;
        const cudaError_t counted = cudaGetDeviceCount(&count);
        if (counted != cudaSuccess) {
            cudaGetLastError();
            return makeError(ErrorCode::Unsupported,
                             where + ": no usable CUDA GPU (" +
                                 cuda::cudaMessage("cudaGetDeviceCount", counted) + ")");
        }
        if (index < 0 || index >= count)
            return makeError(ErrorCode::InvalidInput, where + ": this machine has " +
                                                          std::to_string(count) + " CUDA GPU(s)");
        std::unique_ptr<CudaDevice> device(new CudaDevice(config.id, index, registry));
        SB_CUDA_CHECK(where, cudaSetDevice(index));
        cudaDeviceProp prop{};
        SB_CUDA_CHECK(where, cudaGetDeviceProperties(&prop, index));
        device->m_name = prop.name;
        SB_ASSIGN_OR_RETURN(device->m_context, cuda::CudaContext::create(index, config.id));
        // The pool keeps the plan's bytes cached between runs.
        cudaMemPool_t pool = nullptr;
        SB_CUDA_CHECK(where, cudaDeviceGetDefaultMemPool(&pool, index));
        std::uint64_t threshold = config.memoryBytes;
        SB_CUDA_CHECK(where,
                      cudaMemPoolSetAttribute(pool, cudaMemPoolAttrReleaseThreshold, &threshold));
        SB_CUDA_CHECK(where, cudaMallocHost(&device->m_staging, kStagingBytes));
        device->m_buffers = std::make_unique<CudaBufferType>(
            config.id, index, device->m_context->stream(), prop.totalGlobalMem, config.memoryBytes);
        return std::unique_ptr<runtime::Device>(std::move(device));
    }

    ~CudaDevice() override
    {
        if (m_context)
            (void)m_context->synchronize();
        if (m_staging)
            cudaFreeHost(m_staging);
    }

    const std::string &id() const override { return m_id; }
    runtime::DeviceKind kind() const override { return runtime::DeviceKind::Cuda; }
    std::uint64_t memoryCapacity() const override { return m_buffers->capacity(); }
    runtime::BufferType &bufferType() override { return *m_buffers; }
    runtime::ExecutionContext &context() override { return *m_context; }
    const runtime::KernelRegistry &registry() const override { return m_registry; }

    std::unique_ptr<runtime::ExecutionContext> createStageContext() override
    {
        auto context = cuda::CudaContext::create(m_index, m_id);
        if (!context)
            return nullptr; // the executor then shares the device's context
        return std::move(*context);
    }

    Status copyToHost(const Tensor &src, void *dst) override
    {
        return copyStaged(const_cast<void *>(src.data()), dst, src.byteSize(), false, src);
    }

    Status copyFromHost(const void *src, Tensor &dst) override
    {
        return copyStaged(dst.data(), const_cast<void *>(src), dst.byteSize(), true, dst);
    }

    Status copyToDevice(const Tensor &src, runtime::Device &peer, Tensor &dst) override
    {
        auto *other = dynamic_cast<CudaDevice *>(&peer);
        if (!other || src.isHost() || dst.isHost())
            return Device::copyToDevice(src, peer, dst);
        if (src.byteSize() != dst.byteSize())
            return makeError(ErrorCode::Internal,
                             "copy " + m_id + " -> " + peer.id() + ": sizes differ");
        const std::string where = "copy " + m_id + " -> " + peer.id();
        SB_TRY(enablePeer(*other));
        SB_CUDA_CHECK(where, cudaMemcpyPeerAsync(dst.data(), other->m_index, src.data(), m_index,
                                                 src.byteSize(), m_context->stream()));
        SB_CUDA_CHECK(where, cudaStreamSynchronize(m_context->stream()));
        return {};
    }

    Status synchronize() override { return m_context->synchronize(); }

private:
    CudaDevice(std::string id, int index, const runtime::KernelRegistry &registry)
        : m_id(std::move(id)), m_index(index), m_registry(registry)
    {}

    // Host <-> device through the pinned staging buffer, chunk by chunk.
    Status copyStaged(void *device, void *host, std::size_t bytes, bool toDevice,
                      const Tensor &tensor)
    {
        if (!bytes)
            return {};
        if (tensor.isHost())
            return makeError(ErrorCode::Internal, "device " + m_id + ": tensor is in host memory");
        const std::string where = "device " + m_id;
        std::lock_guard lock(m_stagingMutex);
        SB_TRY(m_context->activate());
        auto *d = static_cast<char *>(device);
        auto *h = static_cast<char *>(host);
        for (std::size_t done = 0; done < bytes; done += kStagingBytes) {
            const std::size_t chunk = std::min(kStagingBytes, bytes - done);
            if (toDevice) {
                std::memcpy(m_staging, h + done, chunk);
                SB_CUDA_CHECK(where, cudaMemcpyAsync(d + done, m_staging, chunk,
                                                     cudaMemcpyHostToDevice, m_context->stream()));
                SB_CUDA_CHECK(where, cudaStreamSynchronize(m_context->stream()));
            } else {
                SB_CUDA_CHECK(where, cudaMemcpyAsync(m_staging, d + done, chunk,
                                                     cudaMemcpyDeviceToHost, m_context->stream()));
                SB_CUDA_CHECK(where, cudaStreamSynchronize(m_context->stream()));
                std::memcpy(h + done, m_staging, chunk);
            }
        }
        return {};
    }

    Status enablePeer(CudaDevice &other)
    {
        if (other.m_index == m_index)
            return {};
        std::lock_guard lock(m_stagingMutex);
        if (m_peersEnabled.count(other.m_index))
            return {};
        int can = 0;
        SB_CUDA_CHECK("device " + m_id, cudaDeviceCanAccessPeer(&can, m_index, other.m_index));
        if (can) {
            SB_TRY(m_context->activate());
            const cudaError_t status = cudaDeviceEnablePeerAccess(other.m_index, 0);
            if (status == cudaErrorPeerAccessAlreadyEnabled)
                cudaGetLastError();
            else
                SB_CUDA_CHECK("device " + m_id, status);
        }
        // Without peer access cudaMemcpyPeerAsync stages through the host.
        m_peersEnabled[other.m_index] = can != 0;
        return {};
    }

    std::string m_id;
    int m_index;
    std::string m_name;
    const runtime::KernelRegistry &m_registry;
    std::unique_ptr<cuda::CudaContext> m_context;
    std::unique_ptr<CudaBufferType> m_buffers;
    void *m_staging = nullptr;
    std::mutex m_stagingMutex;
    std::map<int, bool> m_peersEnabled;
};

} // namespace

Result<std::unique_ptr<runtime::Device>> createCudaDevice(const runtime::DeviceConfig &config,
                                                          int index,
                                                          const runtime::KernelRegistry &registry)
{
    return CudaDevice::create(config, index, registry);
}

void registerCudaDeviceKind()
{
    runtime::DeviceFactory::instance().registerKind(
        "cuda", [](const runtime::DeviceConfig &config, const runtime::DeviceAddress &address,
                   const runtime::KernelRegistry &registry) {
            return createCudaDevice(config, address.index, registry);
        });
    runtime::DeviceFactory::instance().registerEnumerator("cuda", [](std::string *whyNone) {
        std::vector<runtime::DeviceInfo> devices;
        for (const GpuInfo &gpu : listGpus(whyNone)) {
            runtime::DeviceInfo info;
            info.index = gpu.index;
            info.name = gpu.name;
            info.memoryBytes = gpu.memoryBytes;
            info.peakFlops = gpu.peakFp32Flops;
            info.peakSource = gpu.peakFp32Flops > 0
                                  ? "driver: peak FP32 from SMs x lanes x clock (sm_" +
                                        std::to_string(gpu.computeMajor) +
                                        std::to_string(gpu.computeMinor) + ")"
                                  : "driver (rates unknown until calibrated)";
            devices.push_back(std::move(info));
        }
        return devices;
    });
}

} // namespace sb::kernels
