// Devices in the style of ggml's backend interface:
//  - BufferType: where bytes live (allocate, free, alignment, is-host) and how
//    many a device may hold (capacity enforced on every allocation);
//  - Tensor (tensor.h) knows the buffer type it lives in;
//  - Device: copies to/from the host and to a peer device, synchronize, an
//    execution context (a CPU device's context is its thread pool; a CUDA
//    device's will be a stream), capacity, and supportsOp from the kernel
//    registry;
//  - DeviceFactory: one place that turns a device id into a Device, keyed by
//    kind ("cpu", "cuda", remote "HOST/kind:index"), and that lists the
//    devices of a kind this process can use (the planner asks it, never a
//    kind's own library).
//
// Contract: a Device is shared by every executor placed on it and is safe to
// use from several threads. supportsOp answers from the kernel registry
// (static checks only: an op can still report unsupported at run time for a
// shape or value it does not implement).
#pragma once

#include "core/common/result.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/tensor.h"
#include "core/runtime/thread_pool.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sb::runtime {

// A memory kind with a capacity. allocate() refuses (ErrorCode::Runtime, naming
// the device and the bytes) when the bytes in use would exceed capacity().
class BufferType
{
public:
    virtual ~BufferType() = default;
    virtual const std::string &deviceId() const = 0; // "host", "cpu:0"
    virtual std::size_t alignment() const = 0;
    virtual bool isHost() const = 0;            // the CPU can read it directly
    virtual std::uint64_t capacity() const = 0; // bytes; 0 = unbounded
    virtual std::uint64_t usedBytes() const = 0;
    virtual Result<void *> allocate(std::size_t bytes) = 0;
    virtual void free(void *data, std::size_t bytes) = 0;
};

// Host memory (aligned_alloc) with optional capacity accounting. The
// process-wide unbounded host type is hostBufferType().
class HostBufferType final : public BufferType
{
public:
    HostBufferType(std::string deviceId, std::uint64_t capacity, std::size_t alignment = 64);
    const std::string &deviceId() const override { return m_deviceId; }
    std::size_t alignment() const override { return m_alignment; }
    bool isHost() const override { return true; }
    std::uint64_t capacity() const override { return m_capacity; }
    std::uint64_t usedBytes() const override { return m_used.load(); }
    Result<void *> allocate(std::size_t bytes) override;
    void free(void *data, std::size_t bytes) override;

private:
    std::string m_deviceId;
    std::uint64_t m_capacity;
    std::size_t m_alignment;
    std::atomic<std::uint64_t> m_used{0};
};

BufferType &hostBufferType();

// RAII for one allocation from a buffer type.
class Buffer
{
public:
    Buffer() = default;
    static Result<Buffer> allocate(BufferType &type, std::size_t bytes);
    Buffer(Buffer &&other) noexcept;
    Buffer &operator=(Buffer &&other) noexcept;
    Buffer(const Buffer &) = delete;
    Buffer &operator=(const Buffer &) = delete;
    ~Buffer();
    void *data() const { return m_data; }
    std::size_t size() const { return m_bytes; }
    BufferType *type() const { return m_type; }

private:
    BufferType *m_type = nullptr;
    void *m_data = nullptr;
    std::size_t m_bytes = 0;
};

// Where kernels of a device run. Each device kind has its own (CpuContext:
// the thread pool); the interface only names it.
class ExecutionContext
{
public:
    virtual ~ExecutionContext() = default;
    virtual std::string describe() const = 0; // "thread pool of 4"
    // Waits for the work queued on this context (a stream); CPU: nothing.
    virtual Status synchronize() { return {}; }
};

class CpuContext final : public ExecutionContext
{
public:
    explicit CpuContext(int threads) : m_pool(threads) {}
    std::string describe() const override;
    ThreadPool &pool() { return m_pool; }

private:
    ThreadPool m_pool;
};

class Device
{
public:
    virtual ~Device() = default;
    virtual const std::string &id() const = 0; // "cpu:0"
    virtual DeviceKind kind() const = 0;
    virtual std::uint64_t memoryCapacity() const = 0; // bytes usable for this device
    virtual BufferType &bufferType() = 0;
    virtual ExecutionContext &context() = 0;
    virtual const KernelRegistry &registry() const = 0;
    // Copies the bytes of `src` (on this device) to host memory `dst`
    // (src.byteSize() bytes), and host bytes into `dst` (on this device).
    virtual Status copyToHost(const Tensor &src, void *dst) = 0;
    virtual Status copyFromHost(const void *src, Tensor &dst) = 0;
    // Device-to-device: `dst` lives on `peer`. The default stages through host
    // memory when either side is not host memory.
    virtual Status copyToDevice(const Tensor &src, Device &peer, Tensor &dst);
    // Waits for the work queued on this device's context (no-op on the CPU,
    // whose kernels return when done).
    virtual Status synchronize() = 0;
    // A context of its own for one executor (a pipeline stage): a CUDA
    // device gives each stage its own stream. Null: use context().
    virtual std::unique_ptr<ExecutionContext> createStageContext() { return nullptr; }

    Support supportsOp(const graph::Node &node, const graph::Graph &graph) const
    {
        return registry().supports(node, graph, kind());
    }
    // A tensor allocated in this device's buffer type (counts against capacity).
    Result<Tensor> allocateTensor(ElementType type, Shape shape);
    // A copy of a host tensor on this device / of a device tensor on the host.
    Result<Tensor> fromHost(const Tensor &host);
    Result<Tensor> toHost(const Tensor &tensor);
};

class CpuDevice final : public Device
{
public:
    // threads <= 0 means every hardware thread; capacity 0 means the machine's
    // physical memory. The registry must outlive the device.
    CpuDevice(std::string id, int threads, std::uint64_t capacityBytes,
              const KernelRegistry &registry);

    const std::string &id() const override { return m_id; }
    DeviceKind kind() const override { return DeviceKind::Cpu; }
    std::uint64_t memoryCapacity() const override { return m_buffers.capacity(); }
    BufferType &bufferType() override { return m_buffers; }
    ExecutionContext &context() override { return m_context; }
    const KernelRegistry &registry() const override { return m_registry; }
    Status copyToHost(const Tensor &src, void *dst) override;
    Status copyFromHost(const void *src, Tensor &dst) override;
    Status synchronize() override { return {}; }

    int threads() const { return m_context.pool().size(); }
    ThreadPool &threadPool() { return m_context.pool(); }

    static std::uint64_t physicalMemoryBytes();

private:
    std::string m_id;
    HostBufferType m_buffers;
    const KernelRegistry &m_registry;
    mutable CpuContext m_context;
};

// What a device id names: "cpu:0" -> {"", "cpu", 0}; "node2/cpu:1" ->
// {"node2", "cpu", 1}. Errors name the id.
struct DeviceAddress
{
    std::string host; // empty: this process's machine
    std::string kind; // "cpu", "cuda"
    int index = 0;
    std::string localId() const { return kind + ":" + std::to_string(index); }
    bool isRemote() const { return !host.empty(); }
};
Result<DeviceAddress> parseDeviceId(const std::string &id);

struct DeviceConfig
{
    std::string id;                // "cpu:0", "cuda:1", "HOST/cpu:0"
    int threads = 0;               // CPU: pool size (<= 0: every hardware thread)
    std::uint64_t memoryBytes = 0; // capacity (0: the device's physical memory)
};

// One factory keyed by kind. Built-in: "cpu" (CpuDevice), "cuda" (an error
// in builds without CUDA; kernels/ registers the CUDA device's creator when
// built with CUDA, see kernels::defaultRegistry()). A remote id ("HOST/cpu:0") is refused with a
// message saying it runs in a worker rank on HOST (--launcher mpi); the rank
// on that host creates the local part ("cpu:0") through this same factory.
// What a device kind reports about one of its devices in this process.
struct DeviceInfo
{
    int index = 0;                 // the id is kind + ":" + index
    std::string name;              // "NVIDIA H200"
    std::uint64_t memoryBytes = 0; // physical capacity
    double peakFlops = 0;          // FP32 peak; 0: unknown until calibrated
    std::string peakSource;        // how peakFlops was derived (shown to users)
};

class DeviceFactory
{
public:
    using Creator = std::function<Result<std::unique_ptr<Device>>(
        const DeviceConfig &config, const DeviceAddress &address, const KernelRegistry &registry)>;
    // Lists the kind's devices; when there are none, sets *whyNone (if given).
    using Enumerator = std::function<std::vector<DeviceInfo>(std::string *whyNone)>;

    static DeviceFactory &instance();
    void registerKind(const std::string &kind, Creator creator);
    void registerEnumerator(const std::string &kind, Enumerator enumerator);
    bool hasKind(const std::string &kind) const;
    Result<std::unique_ptr<Device>> create(const DeviceConfig &config,
                                           const KernelRegistry &registry) const;
    // Devices of an accelerator kind ("cuda") this process can use. A kind
    // whose library registered no enumerator (kernels::defaultRegistry()
    // registers them; a build without CUDA has none) lists nothing and says
    // why. CPU devices are not listed here: the planner splits the host's cores.
    std::vector<DeviceInfo> enumerate(const std::string &kind,
                                      std::string *whyNone = nullptr) const;

private:
    DeviceFactory();
    mutable std::mutex m_mutex;
    std::map<std::string, Creator> m_creators;
    std::map<std::string, Enumerator> m_enumerators;
};

} // namespace sb::runtime
