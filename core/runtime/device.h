// Device: where a stage runs. CPU now (CpuDevice); CUDA and remote devices
// implement the same interface later.
//
// Contract: a Device is shared by every executor placed on it and is safe to
// use from several threads. supportsOp answers from the kernel registry
// (static checks only: an op can still report unsupported at run time for a
// shape or value it does not implement).
#pragma once

#include "core/runtime/kernel_registry.h"
#include "core/runtime/thread_pool.h"

#include <cstdint>
#include <memory>
#include <string>

namespace sb::runtime {

class Device
{
public:
    virtual ~Device() = default;
    virtual const std::string &id() const = 0; // "cpu:0"
    virtual DeviceKind kind() const = 0;
    virtual std::uint64_t memoryCapacity() const = 0; // bytes usable for this device
    virtual int threads() const = 0;
    virtual ThreadPool &threadPool() = 0;
    virtual const KernelRegistry &registry() const = 0;
    Support supportsOp(const graph::Node &node, const graph::Graph &graph) const
    {
        return registry().supports(node, graph, kind());
    }
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
    std::uint64_t memoryCapacity() const override { return m_capacity; }
    int threads() const override { return m_pool.size(); }
    ThreadPool &threadPool() override { return m_pool; }
    const KernelRegistry &registry() const override { return m_registry; }

    static std::uint64_t physicalMemoryBytes();

private:
    std::string m_id;
    std::uint64_t m_capacity;
    const KernelRegistry &m_registry;
    ThreadPool m_pool;
};

} // namespace sb::runtime
