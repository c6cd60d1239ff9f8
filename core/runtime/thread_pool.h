// ThreadPool: a fixed set of worker threads for one device. parallelFor splits
// [0, n) into chunks run by the workers and the calling thread together.
//
// Contract:
//  - size() threads compute in total: size() - 1 workers plus the caller.
//  - parallelFor blocks until every chunk has run. Calls from a thread that is
//    already inside this pool's parallelFor run inline (no deadlock), and calls
//    from several outside threads at once are serialised (one job at a time).
//  - fn must not throw.
//  - Waiting: after a job, workers spin for up to spinMicroseconds() before
//    they block on a condition variable, and the caller spins as long for the
//    workers to finish (busy for the first 20 us, then yielding the core
//    between polls). A graph runs many short parallel ops back to back;
//    without the spin each op would pay a futex wake-up (tens of microseconds,
//    far more on a loaded machine) per worker. An idle pool sleeps, so the
//    spin costs CPU only right after work.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace sb::runtime {

class ThreadPool
{
public:
    // spinMicroseconds: how long a waiting thread polls before it blocks
    // (0: block at once).
    explicit ThreadPool(int threads, int spinMicroseconds = kDefaultSpinMicroseconds);
    ~ThreadPool();
    ThreadPool(const ThreadPool &) = delete;
    ThreadPool &operator=(const ThreadPool &) = delete;

    static constexpr int kDefaultSpinMicroseconds = 200;

    int size() const { return m_threads; }
    // The calling thread's slot in [0, size()) while it runs a chunk of this
    // pool's parallelFor: workers 1..size()-1, any other thread (the caller)
    // 0. Kernels index per-thread slices of one scratch buffer with it
    // (KernelContext::allocateScratch); two threads never share a slot
    // within one parallelFor, since calls from outside run one at a time.
    int slot() const;
    int spinMicroseconds() const { return m_spinMicroseconds; }
    // fn(begin, end) over chunks of at least `grain` items (grain >= 1).
    void parallelFor(std::int64_t n, std::int64_t grain,
                     const std::function<void(std::int64_t, std::int64_t)> &fn);

    // Cores this machine offers to the process.
    static int hardwareThreads();

private:
    void workerLoop();
    void runChunks();
    // Spins until pred() or the spin budget is spent; true if pred() held.
    template <typename Pred> bool spinUntil(Pred pred) const;

    int m_threads = 1;
    int m_spinMicroseconds = kDefaultSpinMicroseconds;
    std::vector<std::thread> m_workers;
    std::mutex m_callMutex; // one parallelFor job at a time
    // Sleeping: m_mutex guards the condition-variable waits; the atomics are
    // read without it while spinning (see thread_pool.cpp for the handshake).
    std::mutex m_mutex;
    std::condition_variable m_wake;
    std::condition_variable m_done;
    std::atomic<std::uint64_t> m_generation{0};
    std::atomic<bool> m_stop{false};
    std::atomic<int> m_sleepingWorkers{0};
    std::atomic<bool> m_callerSleeping{false};
    std::atomic<int> m_pendingWorkers{0};
    // current job (written before m_generation is bumped)
    const std::function<void(std::int64_t, std::int64_t)> *m_fn = nullptr;
    std::int64_t m_n = 0;
    std::int64_t m_chunk = 1;
    std::atomic<std::int64_t> m_next{0};
};

// One long-lived thread that runs the jobs it is given, one at a time. A
// pipeline's stages run on these rather than on a new thread per run, so
// that what a thread owns outlives the run: the OpenMP team oneDNN forks
// from it (a new master thread builds a new team), its malloc arena and
// tcache, its thread-locals.
//
// Contract: start() hands over a job while none is running (it waits for the
// previous one otherwise); wait() blocks until the job has returned. The job
// must not throw. The destructor waits for a running job, then joins.
class JobThread
{
public:
    JobThread();
    ~JobThread();
    JobThread(const JobThread &) = delete;
    JobThread &operator=(const JobThread &) = delete;

    void start(std::function<void()> job);
    void wait();

private:
    void loop();

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::function<void()> m_job; // set by start(), cleared by the thread once run
    bool m_busy = false;         // from start() until the job has returned
    bool m_stop = false;
    std::thread m_thread; // last: started once the members above exist
};

// Pins the calling thread to one CPU until unpin() (or destruction) gives it
// back the affinity it had (CoreGate moves a holder to a free core so,
// pinning and unpinning at once).
// Linux; elsewhere pin() does nothing and says so.
// Contract: pin() pins the calling thread; unpin() (and the destructor) may
// run on any thread and restore the pinned thread's affinity, which must
// still be running.
class ThreadCorePin
{
public:
    ThreadCorePin() = default;
    ~ThreadCorePin() { unpin(); }
    ThreadCorePin(const ThreadCorePin &) = delete;
    ThreadCorePin &operator=(const ThreadCorePin &) = delete;

    // The CPUs the calling thread may run on, in ascending order; empty when
    // the OS does not say.
    static std::vector<int> allowedCpus();
    // The CPU the calling thread runs on now; -1 when unknown.
    static int currentCpu();
    // True when the thread now runs only on `cpu` (best effort: a refusal,
    // e.g. a CPU outside the thread's cpuset, leaves it as it was).
    bool pin(int cpu);
    void unpin();
    bool pinned() const { return m_pinned; }

private:
    bool m_pinned = false;
    // The pinned thread and its affinity before pin (a pthread_t and a
    // cpu_set_t; opaque here to keep <sched.h> out of this header).
    alignas(16) unsigned char m_state[160] = {};
};

// Who may compute now: a pipeline stage holds `units` of a gate while it
// computes (CoreGate among a process's stages; HostCoreGate, host_gate.h,
// among the MPI ranks of one host). Contract of every gate: acquire(units)
// blocks until the units are free, then takes them; release gives back what
// acquire took; a holder must release without waiting on another holder.
class ComputeGate
{
public:
    virtual ~ComputeGate() = default;
    // The units acquire(units) really takes.
    virtual int unitsFor(int units) const = 0;
    virtual void acquire(int units) = 0;
    virtual void release(int units) = 0;

    // RAII: holds the units from construction to destruction (no gate: nothing).
    class Hold
    {
    public:
        Hold(ComputeGate *gate, int units) : m_gate(gate), m_units(gate ? gate->unitsFor(units) : 0)
        {
            if (m_gate)
                m_gate->acquire(m_units);
        }
        ~Hold()
        {
            if (m_gate)
                m_gate->release(m_units);
        }
        Hold(const Hold &) = delete;
        Hold &operator=(const Hold &) = delete;

    private:
        ComputeGate *m_gate;
        int m_units;
    };
};

// Lets at most `slotCount` threads' worth of work compute at once, in the order
// it asked (first come, first served). A pipeline's in-process stages pass
// through one when their threads outnumber the cores: a stage whose inputs
// arrived waits here for a core instead of time-sharing one with the stages
// already computing, so a stage computes at full speed from start to end and
// its compute time is its work, not its share of the OS scheduler's turns
// (which cost cache refills and moved a stage's measured time by tens of
// percent from run to run). The schedule model replays this queue
// (ScheduleOptions::coreSlots).
//
// Contract: acquire(units) blocks until every earlier caller has its units
// and `units` (clamped to 1..slotCount) are free, then takes them.
//
// Slots stand for cores: when the creating thread may run on at least
// slotCount CPUs, a thread taking one slot while it is on a CPU another 1-slot holder
// computes on is moved to one of those CPUs no holder is on (pinned there
// and unpinned at once, so the OS may still move it when other work takes
// that CPU; Linux; elsewhere, and for holds of several slots, the gate only
// counts). A holder alone, or on a CPU no holder is on, stays. Why: the OS
// wakes a waiter on the CPU it last ran on, which is often the other
// holder's. There it preempts the holder, and the core the releaser is
// leaving goes idle, for the scheduler does not move a task that ran within
// the last half millisecond ("cache hot"). On the 2-vCPU bench host a
// 3-stage, 8-micro-batch plan's stages spent 13-20% of their compute wall
// time (up to 50% in one stage) off the CPU so; moved, 2-4%
// (bench/README.md). Why only then: a CPU may be busy with another
// process, and a thread moved there waits for the OS's next turn (moving
// every holder to a fixed CPU per slot stretched test_cost_predict's
// 1-slot, 66 ms schedule to 104 ms under a parallel ctest). The MPI ranks'
// HostCoreGate does not move its holders: a rank waiting for a message polls
// (tried: ranks pinned for their holds could not get away from a polling
// rank).
class CoreGate final : public ComputeGate
{
public:
    // pinToCores: move 1-slot holders as above (when the CPUs allow it).
    explicit CoreGate(int slotCount, bool pinToCores = true);
    ~CoreGate() override;
    CoreGate(const CoreGate &) = delete;
    CoreGate &operator=(const CoreGate &) = delete;

    int slotCount() const { return m_slots; }
    int unitsFor(int units) const override;
    void acquire(int units) override;
    void release(int units) override;
    // Callers waiting in acquire now.
    int waiting();
    // Whether the gate moves 1-slot holders (above).
    bool movesHolders() const;

private:
    struct Holders; // the CPUs and who holds how many slots where (thread_pool.cpp)

    const int m_slots;
    std::mutex m_mutex;
    std::condition_variable m_changed;
    int m_free;
    std::unique_ptr<Holders> m_holders; // always set; no CPUs in it: the gate only counts
    std::uint64_t m_nextTicket = 0;     // the next caller's place in line
    std::uint64_t m_serving = 0;        // the place in line acquire serves now
};

} // namespace sb::runtime
