#include "core/runtime/thread_pool.h"

#include <algorithm>

namespace sb::runtime {

namespace {
thread_local const ThreadPool *t_insidePool = nullptr;
}

int ThreadPool::hardwareThreads()
{
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads) : m_threads(std::max(1, threads))
{
    for (int i = 1; i < m_threads; ++i)
        m_workers.emplace_back([this, i] { workerLoop(i); });
}

ThreadPool::~ThreadPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
    }
    m_wake.notify_all();
    for (auto &worker : m_workers)
        worker.join();
}

void ThreadPool::runChunks()
{
    for (;;) {
        std::int64_t begin = m_next.fetch_add(m_chunk, std::memory_order_relaxed);
        if (begin >= m_n)
            break;
        (*m_fn)(begin, std::min(m_n, begin + m_chunk));
    }
}

void ThreadPool::workerLoop(int)
{
    t_insidePool = this;
    std::uint64_t seen = 0;
    for (;;) {
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [&] { return m_stop || m_generation != seen; });
            if (m_stop)
                return;
            seen = m_generation;
        }
        runChunks();
        {
            std::lock_guard lock(m_mutex);
            if (--m_activeWorkers == 0)
                m_done.notify_all();
        }
    }
}

void ThreadPool::parallelFor(std::int64_t n, std::int64_t grain,
                             const std::function<void(std::int64_t, std::int64_t)> &fn)
{
    if (n <= 0)
        return;
    grain = std::max<std::int64_t>(1, grain);
    if (m_threads == 1 || n <= grain || t_insidePool == this) {
        fn(0, n);
        return;
    }
    std::lock_guard callLock(m_callMutex);
    // Chunks: about 4 per thread for balance, never below the grain.
    std::int64_t chunk = std::max(grain, (n + m_threads * 4 - 1) / (m_threads * 4));
    {
        std::lock_guard lock(m_mutex);
        m_fn = &fn;
        m_n = n;
        m_chunk = chunk;
        m_next.store(0, std::memory_order_relaxed);
        m_activeWorkers = static_cast<int>(m_workers.size());
        ++m_generation;
    }
    m_wake.notify_all();
    const ThreadPool *previous = t_insidePool;
    t_insidePool = this;
    runChunks();
    t_insidePool = previous;
    std::unique_lock lock(m_mutex);
    m_done.wait(lock, [&] { return m_activeWorkers == 0; });
    m_fn = nullptr;
}

} // namespace sb::runtime
