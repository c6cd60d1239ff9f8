#include "core/runtime/device.h"

#include <cstdlib>
#include <cstring>
#include <unistd.h>

namespace sb::runtime {

namespace {

std::size_t roundUp(std::size_t bytes, std::size_t alignment)
{
    return ((bytes ? bytes : 1) + alignment - 1) / alignment * alignment;
}

std::string bytesText(std::uint64_t bytes)
{
    return std::to_string(bytes) + " bytes";
}

} // namespace

HostBufferType::HostBufferType(std::string deviceId, std::uint64_t capacity, std::size_t alignment)
    : m_deviceId(std::move(deviceId)), m_capacity(capacity), m_alignment(alignment)
{}

Result<void *> HostBufferType::allocate(std::size_t bytes)
{
    const std::size_t rounded = roundUp(bytes, m_alignment);
    if (m_capacity) {
        std::uint64_t used = m_used.load();
        do {
            if (used + rounded > m_capacity)
                return makeError(ErrorCode::Runtime,
                                 "device " + m_deviceId + ": allocating " + bytesText(rounded) +
                                     " would exceed its capacity of " + bytesText(m_capacity) +
                                     " (" + bytesText(used) + " in use)");
        } while (!m_used.compare_exchange_weak(used, used + rounded));
    } else {
        m_used += rounded;
    }
    void *data = std::aligned_alloc(m_alignment, rounded);
    if (!data) {
        m_used -= rounded;
        return makeError(ErrorCode::Runtime, "device " + m_deviceId +
                                                 ": out of memory allocating " +
                                                 bytesText(rounded));
    }
    return data;
}

void HostBufferType::free(void *data, std::size_t bytes)
{
    if (!data)
        return;
    std::free(data);
    m_used -= roundUp(bytes, m_alignment);
}

BufferType &hostBufferType()
{
    static HostBufferType host("host", 0);
    return host;
}

Result<Buffer> Buffer::allocate(BufferType &type, std::size_t bytes)
{
    SB_ASSIGN_OR_RETURN(void *data, type.allocate(bytes));
    Buffer buffer;
    buffer.m_type = &type;
    buffer.m_data = data;
    buffer.m_bytes = bytes;
    return buffer;
}

Buffer::Buffer(Buffer &&other) noexcept
    : m_type(other.m_type), m_data(other.m_data), m_bytes(other.m_bytes)
{
    other.m_data = nullptr;
    other.m_bytes = 0;
}

Buffer &Buffer::operator=(Buffer &&other) noexcept
{
    if (this != &other) {
        if (m_data)
            m_type->free(m_data, m_bytes);
        m_type = other.m_type;
        m_data = other.m_data;
        m_bytes = other.m_bytes;
        other.m_data = nullptr;
        other.m_bytes = 0;
    }
    return *this;
}

Buffer::~Buffer()
{
    if (m_data)
        m_type->free(m_data, m_bytes);
}

std::string CpuContext::describe() const
{
    return "thread pool of " + std::to_string(m_pool.size());
}

Status Device::copyToDevice(const Tensor &src, Device &peer, Tensor &dst)
{
    if (src.byteSize() != dst.byteSize())
        return makeError(ErrorCode::Internal, "copy " + id() + " -> " + peer.id() +
                                                  ": sizes differ (" + bytesText(src.byteSize()) +
                                                  " vs " + bytesText(dst.byteSize()) + ")");
    if (src.isHost())
        return peer.copyFromHost(src.data(), dst);
    if (dst.isHost())
        return copyToHost(src, dst.data());
    Tensor staging = Tensor::empty(src.type(), src.shape());
    SB_TRY(copyToHost(src, staging.data()));
    SB_TRY(synchronize());
    return peer.copyFromHost(staging.data(), dst);
}

Result<Tensor> Device::allocateTensor(ElementType type, Shape shape)
{
    Tensor probe = Tensor::view(type, shape, nullptr);
    auto buffer = std::make_shared<Buffer>();
    SB_ASSIGN_OR_RETURN(*buffer, Buffer::allocate(bufferType(), probe.byteSize()));
    Tensor tensor = Tensor::view(type, std::move(shape), buffer->data(),
                                 std::shared_ptr<const void>(buffer, buffer.get()));
    tensor.setBufferType(&bufferType());
    return tensor;
}

Result<Tensor> Device::fromHost(const Tensor &host)
{
    SB_ASSIGN_OR_RETURN(Tensor tensor, allocateTensor(host.type(), host.shape()));
    SB_TRY(copyFromHost(host.data(), tensor));
    return tensor;
}

Result<Tensor> Device::toHost(const Tensor &tensor)
{
    Tensor host = Tensor::empty(tensor.type(), tensor.shape());
    SB_TRY(copyToHost(tensor, host.data()));
    SB_TRY(synchronize());
    return host;
}

std::uint64_t CpuDevice::physicalMemoryBytes()
{
    long pages = sysconf(_SC_PHYS_PAGES);
    long pageSize = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || pageSize <= 0)
        return 0;
    return static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(pageSize);
}

CpuDevice::CpuDevice(std::string id, int threads, std::uint64_t capacityBytes,
                     const KernelRegistry &registry)
    : m_id(std::move(id)), m_buffers(m_id, capacityBytes ? capacityBytes : physicalMemoryBytes()),
      m_registry(registry), m_context(threads > 0 ? threads : ThreadPool::hardwareThreads())
{}

Status CpuDevice::copyToHost(const Tensor &src, void *dst)
{
    if (!src.isHost())
        return makeError(ErrorCode::Internal, "device " + m_id + ": tensor is on " +
                                                  src.deviceId() + ", not in host memory");
    if (src.byteSize())
        std::memcpy(dst, src.data(), src.byteSize());
    return {};
}

Status CpuDevice::copyFromHost(const void *src, Tensor &dst)
{
    if (!dst.isHost())
        return makeError(ErrorCode::Internal, "device " + m_id + ": tensor is on " +
                                                  dst.deviceId() + ", not in host memory");
    if (dst.byteSize())
        std::memcpy(dst.data(), src, dst.byteSize());
    return {};
}

Result<DeviceAddress> parseDeviceId(const std::string &id)
{
    DeviceAddress address;
    std::string local = id;
    if (auto slash = id.rfind('/'); slash != std::string::npos) {
        address.host = id.substr(0, slash);
        local = id.substr(slash + 1);
        if (address.host.empty() || address.host.find_first_of(" \t/") != std::string::npos)
            return makeError(ErrorCode::InvalidInput,
                             "device id '" + id + "': expected HOST/kind:index");
    }
    const auto colon = local.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == local.size())
        return makeError(ErrorCode::InvalidInput, "device id '" + id + "': expected kind:index");
    address.kind = local.substr(0, colon);
    const std::string index = local.substr(colon + 1);
    if (index.find_first_not_of("0123456789") != std::string::npos || index.size() > 6)
        return makeError(ErrorCode::InvalidInput,
                         "device id '" + id + "': index '" + index + "' is not a number");
    address.index = std::stoi(index);
    return address;
}

DeviceFactory::DeviceFactory()
{
    registerKind("cpu",
                 [](const DeviceConfig &config, const DeviceAddress &,
                    const KernelRegistry &registry) -> Result<std::unique_ptr<Device>> {
                     return std::unique_ptr<Device>(std::make_unique<CpuDevice>(
                         config.id, config.threads, config.memoryBytes, registry));
                 });
    registerKind("cuda",
                 [](const DeviceConfig &config, const DeviceAddress &,
                    const KernelRegistry &) -> Result<std::unique_ptr<Device>> {
                     return makeError(ErrorCode::Unsupported,
                                      "device " + config.id +
                                          ": this build has no CUDA support (configure with "
                                          "-DSHARDBENCH_CUDA=ON on a machine with the CUDA "
                                          "toolkit)");
                 });
}

DeviceFactory &DeviceFactory::instance()
{
    static DeviceFactory factory;
    return factory;
}

void DeviceFactory::registerKind(const std::string &kind, Creator creator)
{
    std::lock_guard lock(m_mutex);
    m_creators[kind] = std::move(creator);
}

void DeviceFactory::registerEnumerator(const std::string &kind, Enumerator enumerator)
{
    std::lock_guard lock(m_mutex);
    m_enumerators[kind] = std::move(enumerator);
}

bool DeviceFactory::hasKind(const std::string &kind) const
{
    std::lock_guard lock(m_mutex);
    return m_creators.count(kind) > 0;
}

std::vector<DeviceInfo> DeviceFactory::enumerate(const std::string &kind,
                                                 std::string *whyNone) const
{
    Enumerator enumerator;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_enumerators.find(kind);
        if (it != m_enumerators.end())
            enumerator = it->second;
    }
    if (!enumerator) {
        if (whyNone)
            *whyNone = kind + ": this build has no support for the device kind";
        return {};
    }
    return enumerator(whyNone);
}

Result<std::unique_ptr<Device>> DeviceFactory::create(const DeviceConfig &config,
                                                      const KernelRegistry &registry) const
{
    SB_ASSIGN_OR_RETURN(DeviceAddress address, parseDeviceId(config.id));
    if (address.isRemote())
        return makeError(ErrorCode::InvalidInput,
                         "device " + config.id + " is on host " + address.host +
                             ": it runs in a worker rank there (run with --launcher mpi "
                             "--hosts " +
                             address.host + ":SLOTS)");
    Creator creator;
    {
        std::lock_guard lock(m_mutex);
        auto it = m_creators.find(address.kind);
        if (it != m_creators.end())
            creator = it->second;
    }
    if (!creator)
        return makeError(ErrorCode::InvalidInput,
                         "device " + config.id + ": unknown device kind '" + address.kind + "'");
    return creator(config, address, registry);
}

} // namespace sb::runtime
