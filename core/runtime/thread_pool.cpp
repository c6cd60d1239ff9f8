#include "core/runtime/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <new>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#endif

namespace sb::runtime {

// Handshake between a publisher (the caller bumping m_generation, or the last
// worker dropping m_pendingWorkers to 0) and a waiter that may go to sleep:
// the waiter announces itself (m_sleepingWorkers / m_callerSleeping) under
// m_mutex and re-checks the condition before blocking; the publisher changes
// the condition first and then reads the announcement. Both are seq_cst, so
// at least one side sees the other's write: either the waiter sees the new
// state and does not block, or the publisher sees the sleeper and notifies
// (taking m_mutex first, so the notify cannot fall between the waiter's check
// and its wait).

namespace {
thread_local const ThreadPool *t_insidePool = nullptr;
// The pool this thread is a worker of, and its slot there (1..size()-1).
thread_local const ThreadPool *t_workerOf = nullptr;
thread_local int t_workerSlot = 0;

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}
} // namespace

int ThreadPool::hardwareThreads()
{
    unsigned n = std::thread::hardware_concurrency();
    return n == 0 ? 1 : static_cast<int>(n);
}

ThreadPool::ThreadPool(int threads, int spinMicroseconds)
    : m_threads(std::max(1, threads)), m_spinMicroseconds(std::max(0, spinMicroseconds))
{
    for (int i = 1; i < m_threads; ++i)
        m_workers.emplace_back([this, i] {
            t_workerOf = this;
            t_workerSlot = i;
            workerLoop();
        });
}

ThreadPool::~ThreadPool()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop.store(true);
    }
    m_wake.notify_all();
    for (auto &worker : m_workers)
        worker.join();
}

int ThreadPool::slot() const
{
    return t_workerOf == this ? t_workerSlot : 0;
}

template <typename Pred> bool ThreadPool::spinUntil(Pred pred) const
{
    if (pred())
        return true;
    if (m_spinMicroseconds == 0)
        return false;
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::microseconds(m_spinMicroseconds);
    // Busy polling first (the next op usually starts within microseconds),
    // then polling with a yield in between, so a thread of another process
    // waiting for this core gets it while we wait.
    const auto busyUntil = start + std::chrono::microseconds(std::min(m_spinMicroseconds, 20));
    for (;;) {
        // Check the clock only every few polls: now() costs more than a poll.
        for (int i = 0; i < 32; ++i) {
            cpuRelax();
            if (pred())
                return true;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline)
            return pred();
        if (now >= busyUntil)
            std::this_thread::yield();
    }
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

void ThreadPool::workerLoop()
{
    t_insidePool = this;
    std::uint64_t seen = 0;
    for (;;) {
        auto ready = [&] { return m_stop.load() || m_generation.load() != seen; };
        if (!spinUntil(ready)) {
            std::unique_lock lock(m_mutex);
            m_sleepingWorkers.fetch_add(1);
            m_wake.wait(lock, ready);
            m_sleepingWorkers.fetch_sub(1);
        }
        if (m_stop.load())
            return;
        seen = m_generation.load();
        runChunks();
        if (m_pendingWorkers.fetch_sub(1) == 1 && m_callerSleeping.load()) {
            {
                std::lock_guard lock(m_mutex);
            }
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
    // Every worker has finished the previous job (m_pendingWorkers was 0), so
    // none reads these until the generation bump publishes them.
    m_fn = &fn;
    m_n = n;
    m_chunk = chunk;
    m_next.store(0, std::memory_order_relaxed);
    m_pendingWorkers.store(static_cast<int>(m_workers.size()));
    m_generation.fetch_add(1);
    if (m_sleepingWorkers.load() > 0) {
        {
            std::lock_guard lock(m_mutex);
        }
        m_wake.notify_all();
    }
    const ThreadPool *previous = t_insidePool;
    t_insidePool = this;
    runChunks();
    t_insidePool = previous;
    auto finished = [&] { return m_pendingWorkers.load() == 0; };
    if (!spinUntil(finished)) {
        std::unique_lock lock(m_mutex);
        m_callerSleeping.store(true);
        m_done.wait(lock, finished);
        m_callerSleeping.store(false);
    }
    m_fn = nullptr;
}

JobThread::JobThread() : m_thread([this] { loop(); }) {}

JobThread::~JobThread()
{
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_busy; });
        m_stop = true;
    }
    m_changed.notify_all();
    m_thread.join();
}

void JobThread::start(std::function<void()> job)
{
    {
        std::unique_lock lock(m_mutex);
        m_changed.wait(lock, [&] { return !m_busy; });
        m_job = std::move(job);
        m_busy = true;
    }
    m_changed.notify_all();
}

void JobThread::wait()
{
    std::unique_lock lock(m_mutex);
    m_changed.wait(lock, [&] { return !m_busy; });
}

void JobThread::loop()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_changed.wait(lock, [&] { return m_stop || m_job; });
        if (!m_job)
            return; // stopping, nothing left to run
        std::function<void()> job = std::move(m_job);
        m_job = nullptr;
        lock.unlock();
        job();
        job = nullptr; // the job's captures go before the caller hears it is done
        lock.lock();
        m_busy = false;
        m_changed.notify_all();
    }
}

// ---- ThreadCorePin

#if defined(__linux__)
namespace {
struct PinState
{
    pthread_t thread;
    cpu_set_t saved;
};
} // namespace
#endif

std::vector<int> ThreadCorePin::allowedCpus()
{
    std::vector<int> cpus;
#if defined(__linux__)
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0)
        return {};
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
        if (CPU_ISSET(cpu, &allowed))
            cpus.push_back(cpu);
#endif
    return cpus;
}

int ThreadCorePin::currentCpu()
{
#if defined(__linux__)
    return sched_getcpu();
#else
    return -1;
#endif
}

bool ThreadCorePin::pin(int cpu)
{
    unpin();
#if defined(__linux__)
    static_assert(sizeof(PinState) <= sizeof m_state && alignof(PinState) <= 16,
                  "ThreadCorePin::m_state holds a PinState");
    if (cpu < 0 || cpu >= CPU_SETSIZE)
        return false;
    auto *state = new (m_state) PinState{pthread_self(), {}};
    if (pthread_getaffinity_np(state->thread, sizeof(cpu_set_t), &state->saved) != 0)
        return false;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    m_pinned = pthread_setaffinity_np(state->thread, sizeof one, &one) == 0;
#else
    (void)cpu;
#endif
    return m_pinned;
}

void ThreadCorePin::unpin()
{
#if defined(__linux__)
    if (m_pinned) {
        auto *state = std::launder(reinterpret_cast<PinState *>(m_state));
        (void)pthread_setaffinity_np(state->thread, sizeof(cpu_set_t), &state->saved);
    }
#endif
    m_pinned = false;
}

// ---- CoreGate

// Who holds how many slots, on which CPU, and the CPUs holders may be moved to.
struct CoreGate::Holders
{
    std::vector<int> cpus; // the creating thread's CPUs; empty: holders are not moved
    struct Hold
    {
        int units = 0;
        int cpu = -1; // where a 1-slot holder computes (at its acquire); -1: not known
    };
    // Under CoreGate::m_mutex; an entry changes only on its own thread.
    std::map<std::thread::id, Hold> byThread;
};

CoreGate::CoreGate(int slotCount, bool pinToCores)
    : m_slots(std::max(1, slotCount)), m_free(m_slots), m_holders(std::make_unique<Holders>())
{
    if (std::vector<int> cpus = ThreadCorePin::allowedCpus();
        pinToCores && static_cast<int>(cpus.size()) >= m_slots)
        m_holders->cpus = std::move(cpus);
}

CoreGate::~CoreGate() = default;

int CoreGate::unitsFor(int units) const
{
    return std::clamp(units, 1, m_slots);
}

bool CoreGate::movesHolders() const
{
    return !m_holders->cpus.empty();
}

void CoreGate::acquire(int units)
{
    units = unitsFor(units);
    int from = -1, to = -1;
    {
        std::unique_lock lock(m_mutex);
        const std::uint64_t ticket = m_nextTicket++;
        m_changed.wait(lock, [&] { return m_serving == ticket && m_free >= units; });
        m_free -= units;
        ++m_serving;
        Holders::Hold &held = m_holders->byThread[std::this_thread::get_id()];
        held.units += units;
        // A 1-slot holder on a CPU another holder computes on goes to one no
        // holder has. A stage of several threads is not moved: its pool's
        // workers would have to follow.
        if (held.units == 1 && !m_holders->cpus.empty()) {
            from = to = ThreadCorePin::currentCpu();
            std::vector<int> busy;
            for (const auto &[thread, other] : m_holders->byThread)
                if (&other != &held && other.cpu >= 0)
                    busy.push_back(other.cpu);
            auto isBusy = [&](int cpu) {
                return std::find(busy.begin(), busy.end(), cpu) != busy.end();
            };
            if (from >= 0 && isBusy(from))
                for (int cpu : m_holders->cpus)
                    if (!isBusy(cpu)) {
                        to = cpu;
                        break;
                    }
            held.cpu = to;
        }
        // The next in line may fit into what is left.
        m_changed.notify_all();
    }
    // Moved, not kept there: pinned and unpinned at once, the thread is on
    // the free CPU and the OS may still move it when other work takes that
    // CPU (the machine is shared).
    if (to >= 0 && to != from) {
        ThreadCorePin move;
        if (move.pin(to))
            move.unpin();
    }
}

int CoreGate::waiting()
{
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_nextTicket - m_serving);
}

void CoreGate::release(int units)
{
    {
        std::lock_guard lock(m_mutex);
        // The caller's hold shrinks (a caller that holds none, e.g. one
        // releasing for another, gives back only the count).
        if (auto it = m_holders->byThread.find(std::this_thread::get_id());
            it != m_holders->byThread.end() && (it->second.units -= unitsFor(units)) <= 0)
            m_holders->byThread.erase(it);
        m_free = std::min(m_slots, m_free + unitsFor(units));
    }
    m_changed.notify_all();
}

} // namespace sb::runtime
