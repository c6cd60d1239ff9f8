#include "core/runtime/memory_planner.h"

#include <algorithm>
#include <numeric>

namespace sb::runtime {

MemoryPlan planMemory(const std::vector<BufferRequest> &requests, std::size_t alignment)
{
    MemoryPlan plan;
    plan.offsets.assign(requests.size(), 0);
    auto aligned = [&](std::size_t bytes) {
        return (bytes + alignment - 1) / alignment * alignment;
    };

    std::vector<std::size_t> order(requests.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return requests[a].bytes > requests[b].bytes;
    });

    struct Placed
    {
        std::size_t offset, size;
        int first, last;
    };
    std::vector<Placed> placed;
    placed.reserve(requests.size());
    std::vector<std::pair<std::size_t, std::size_t>> busy; // [offset, end) overlapping in time
    for (std::size_t index : order) {
        const BufferRequest &request = requests[index];
        std::size_t size = aligned(request.bytes);
        if (size == 0) {
            plan.offsets[index] = 0;
            continue;
        }
        busy.clear();
        for (const Placed &p : placed)
            if (p.first <= request.lastStep && request.firstStep <= p.last)
                busy.emplace_back(p.offset, p.offset + p.size);
        std::sort(busy.begin(), busy.end());
        // Lowest gap that fits (best fit would save little and costs clarity).
        std::size_t candidate = 0;
        for (const auto &[begin, end] : busy) {
            if (begin >= candidate + size)
                break;
            candidate = std::max(candidate, end);
        }
        plan.offsets[index] = candidate;
        placed.push_back({candidate, size, request.firstStep, request.lastStep});
        plan.arenaBytes = std::max(plan.arenaBytes, candidate + size);
    }

    // Lower bound: the largest sum of live sizes at any step.
    int lastStep = 0;
    for (const BufferRequest &r : requests)
        lastStep = std::max(lastStep, r.lastStep);
    std::vector<std::size_t> live(static_cast<std::size_t>(lastStep) + 2, 0);
    for (const BufferRequest &r : requests) {
        live[static_cast<std::size_t>(r.firstStep)] += aligned(r.bytes);
        live[static_cast<std::size_t>(r.lastStep) + 1] -= aligned(r.bytes);
    }
    std::size_t running = 0;
    for (std::size_t step = 0; step + 1 < live.size(); ++step) {
        running += live[step];
        plan.maxLiveBytes = std::max(plan.maxLiveBytes, running);
    }
    return plan;
}

} // namespace sb::runtime
