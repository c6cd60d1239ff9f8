#include "core/runtime/device.h"

#include <unistd.h>

namespace sb::runtime {

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
    : m_id(std::move(id)), m_capacity(capacityBytes ? capacityBytes : physicalMemoryBytes()),
      m_registry(registry), m_pool(threads > 0 ? threads : ThreadPool::hardwareThreads())
{}

} // namespace sb::runtime
