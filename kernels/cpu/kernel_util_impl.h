// Template implementations for kernel_util.h.
#pragma once

#include <algorithm>

namespace sb::kernels {

template <typename Row>
void forEachBroadcastRow(KernelContext &ctx, const Shape &out, const Shape &aShape,
                         const Shape &bShape, Row &&row)
{
    std::vector<std::int64_t> dims(out.begin(), out.end());
    std::vector<std::int64_t> sa = broadcastStrides(aShape, out);
    std::vector<std::int64_t> sb = broadcastStrides(bShape, out);
    if (dims.empty()) {
        dims = {1};
        sa = {0};
        sb = {0};
    }
    // Collapse adjacent dims that iterate both inputs the same way.
    std::vector<std::int64_t> cd{dims.back()}, ca{sa.back()}, cb{sb.back()};
    for (std::size_t i = dims.size() - 1; i-- > 0;) {
        if (dims[i] == 1 ||
            (sa[i] == ca.front() * cd.front() && sb[i] == cb.front() * cd.front())) {
            cd.front() *= dims[i];
        } else {
            cd.insert(cd.begin(), dims[i]);
            ca.insert(ca.begin(), sa[i]);
            cb.insert(cb.begin(), sb[i]);
        }
    }
    const std::int64_t inner = cd.back();
    const std::int64_t aStep = ca.back() ? 1 : 0; // collapsed inner stride is 0 or 1
    const std::int64_t bStep = cb.back() ? 1 : 0;
    std::int64_t rows = 1;
    for (std::size_t i = 0; i + 1 < cd.size(); ++i)
        rows *= cd[i];
    if (inner == 0 || rows == 0)
        return;
    auto runRows = [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            std::int64_t rem = r, aOff = 0, bOff = 0;
            for (std::size_t i = cd.size() - 1; i-- > 0;) {
                std::int64_t c = rem % cd[i];
                rem /= cd[i];
                aOff += c * ca[i];
                bOff += c * cb[i];
            }
            row(r * inner, aOff, bOff, inner, aStep, bStep);
        }
    };
    std::int64_t grain = std::max<std::int64_t>(1, kParallelGrain / inner);
    if (rows * inner >= kParallelGrain && rows > 1)
        ctx.pool().parallelFor(rows, grain, runRows);
    else if (rows * inner >= kParallelGrain) {
        // One long row: split it.
        auto runSplit = [&](std::int64_t begin, std::int64_t end) {
            row(begin, aStep * begin, bStep * begin, end - begin, aStep, bStep);
        };
        ctx.pool().parallelFor(inner, kParallelGrain, runSplit);
    } else
        runRows(0, rows);
}

} // namespace sb::kernels
