// ThreadPool: a fixed set of worker threads for one device. parallelFor splits
// [0, n) into chunks run by the workers and the calling thread together.
//
// Contract:
//  - size() threads compute in total: size() - 1 workers plus the caller.
//  - parallelFor blocks until every chunk has run. Calls from a thread that is
//    already inside this pool's parallelFor run inline (no deadlock), and calls
//    from several outside threads at once are serialised (one job at a time).
//  - fn must not throw.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace sb::runtime {

class ThreadPool
{
public:
    explicit ThreadPool(int threads);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    int size() const { return m_threads; }
    // fn(begin, end) over chunks of at least `grain` items (grain >= 1).
    void parallelFor(std::int64_t n, std::int64_t grain,
                     const std::function<void(std::int64_t, std::int64_t)> &fn);

    // Cores this machine offers to the process.
    static int hardwareThreads();

private:
    void workerLoop(int index);
    void runChunks();

    int m_threads = 1;
    std::vector<std::thread> m_workers;
    std::mutex m_callMutex; // one parallelFor job at a time
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    std::uint64_t m_generation = 0;
    bool m_stop = false;
    // current job
    const std::function<void(std::int64_t, std::int64_t)> *m_fn = nullptr;
    std::int64_t m_n = 0;
    std::int64_t m_chunk = 1;
    std::atomic<std::int64_t> m_next{0};
    int m_activeWorkers = 0;
};

} // namespace sb::runtime
