// Minimal fork-join helper for core/eval: runs fn(i) for i in [0, n) on up to
// `threads` std::threads (the calling thread takes part). Work items are
// claimed from an atomic counter, so uneven items balance themselves.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace sb::eval {

inline unsigned defaultThreadCount()
{
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : n;
}

template <typename Fn> void parallelFor(std::size_t n, unsigned threads, Fn &&fn)
{
    if (threads == 0)
        threads = defaultThreadCount();
    std::size_t workers = std::min<std::size_t>(threads, n);
    if (workers <= 1) {
        for (std::size_t i = 0; i < n; ++i)
            fn(i);
        return;
    }
    std::atomic<std::size_t> nextItem{0};
    auto work = [&] {
        for (std::size_t i = nextItem.fetch_add(1); i < n; i = nextItem.fetch_add(1))
            fn(i);
    };
    std::vector<std::thread> pool;
    pool.reserve(workers - 1);
    for (std::size_t t = 1; t < workers; ++t)
        pool.emplace_back(work);
    work();
    for (auto &thread : pool)
        thread.join();
}

} // namespace sb::eval
