// Memory planner: places activation buffers in one arena by liveness, so two
// buffers share bytes when their lifetimes do not overlap. The arena size is
// the planned peak, known before the run.
//
// Algorithm: greedy (each buffer at the lowest offset that does not collide
// with an already placed buffer whose lifetime overlaps) in a few orders:
// by size (largest first, as in TFLite's "greedy by size" planner), by size
// then longest lifetime, by lifetime, by first step; the smallest arena
// wins. Lifetimes are inclusive step ranges [firstStep, lastStep] in
// execution order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::runtime {

struct BufferRequest
{
    std::size_t bytes = 0;
    int firstStep = 0;
    int lastStep = 0; // inclusive
};

struct MemoryPlan
{
    std::vector<std::size_t> offsets; // per request, aligned
    std::size_t arenaBytes = 0;       // planned peak
    std::size_t maxLiveBytes = 0;     // lower bound: most bytes live at one step
};

MemoryPlan planMemory(const std::vector<BufferRequest> &requests, std::size_t alignment = 64);

} // namespace sb::runtime
