// HostCoreGate: the core gate (ComputeGate, thread_pool.h) of the MPI ranks
// one host runs: when their 1-thread stages outnumber the host's cores, a
// stage waits for a core, as the in-process runner's stages do
// (PipelineRunner::coreSlots), instead of the OS time-slicing the ranks.
//
// Contract: one unit per holder (unitsFor is 1: a stage of more threads is
// not gated across processes, where taking units one by one could leave two
// stages each waiting for the other's). A POSIX named semaphore of `slots`
// units; the host's first rank create()s it (removing a stale one of that
// name first), the others open() it after, and once every rank holds it
// the creator may unlink() the name (the semaphore lives on while open).
// Not FIFO: the OS picks which waiter goes next.
#pragma once

#include "core/common/result.h"
#include "core/runtime/thread_pool.h"

#include <memory>
#include <string>

namespace sb::runtime {

class HostCoreGate final : public ComputeGate
{
public:
    // `name`: letters, digits, '-' and '_' (others become '_'), at most 200.
    static Result<std::unique_ptr<HostCoreGate>> create(const std::string &name, int slots);
    static Result<std::unique_ptr<HostCoreGate>> open(const std::string &name);
    ~HostCoreGate() override;
    HostCoreGate(const HostCoreGate &) = delete;
    HostCoreGate &operator=(const HostCoreGate &) = delete;

    // Removes the name (the creator, once every rank has opened it).
    void unlink();

    int unitsFor(int) const override { return 1; }
    void acquire(int units) override;
    void release(int units) override;

private:
    struct Handle;
    explicit HostCoreGate(std::unique_ptr<Handle> handle);
    std::unique_ptr<Handle> m_handle;
};

} // namespace sb::runtime
