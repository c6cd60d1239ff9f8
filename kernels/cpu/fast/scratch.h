// Kernel scratch (im2col panels, Winograd tiles, padded depthwise planes,
// pooling phases, expanded channel blocks): one buffer per node execution,
// taken from the run's allocator through KernelContext::allocateScratch, so
// the executor's memory plan places it in the arena and the run's measured
// peak counts it. Nothing is kept between calls or in thread_local storage.
//
// Contract:
//  - A kernel states its scratch with a `...ScratchFloats(shape, threads)`
//    function; it acquires exactly that many floats once per execution, and
//    its KernelProfile (profiles.cpp) reports the same function's bytes to
//    the cost model, so the ledger and the allocation come from one formula.
//  - Parallel loops give each pool slot (ThreadPool::slot()) its own slice of
//    scratchSlice(floats) floats: whole cache lines, so slices never share one.
//  - A null context (the timing runs that choose between our kernel and
//    oneDNN's, onednn.h) takes the scratch from the heap.
#pragma once

#include "core/runtime/kernel_registry.h"

#include <cstdint>
#include <vector>

namespace sb::kernels {

// Floats of one per-thread slice holding `floats`: rounded up to 64 bytes.
constexpr std::int64_t scratchSlice(std::int64_t floats)
{
    return (floats + 15) / 16 * 16;
}

class KernelScratch
{
public:
    Status acquire(runtime::KernelContext *ctx, std::int64_t floats)
    {
        if (floats <= 0)
            return Status::success();
        const auto bytes = static_cast<std::size_t>(floats) * sizeof(float);
        if (ctx) {
            SB_ASSIGN_OR_RETURN(m_tensor, ctx->allocateScratch(bytes));
            m_data = static_cast<float *>(m_tensor.data());
        } else {
            m_heap.resize(static_cast<std::size_t>(floats));
            m_data = m_heap.data();
        }
        return Status::success();
    }
    float *data() const { return m_data; }

private:
    runtime::Tensor m_tensor;
    std::vector<float> m_heap;
    float *m_data = nullptr;
};

} // namespace sb::kernels
