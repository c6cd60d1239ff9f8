// MpiWorld and the MPI transport (built only with MPI).
#define OMPI_SKIP_MPICXX 1
#include "core/runtime/mpi_world.h"

#include "core/runtime/message_frame.h"

#include <mpi.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <new>
#include <set>
#include <thread>

namespace sb::runtime {

namespace {

constexpr int kMaxEndpoints = 64;
constexpr int kLinkTagBase = 100;
// Progress-thread pacing. Every wake-up of a rank's progress thread costs a
// context switch away from a computing stage (three ranks on two cores means a
// wake-up always preempts someone) plus an MPI progress pass; polling at a
// fixed short interval took 300+ wake-ups per run and rank and made stage
// compute in ranks up to a third slower than the same stage as a thread. So the
// thread polls fast only while a stage of this rank waits on the transport (a
// receive, or send credit); otherwise it backs off geometrically, because a
// message nobody waits for yet only has to be there when someone asks, and the
// asking wakes the thread at once.
// While a stage of this rank waits, the poll interval follows the time waited
// so far (doubling), from kUrgentFirstPollUs up to kUrgentMaxPollUs.
// Pipelined micro-batches make waits on one link regular, so a wait is also
// expected to last about as long as the shortest of the last kRememberedWaits
// on that link: polling starts at kExpectedFraction of that and then runs every
// kExpectedStep of it (still between the two bounds). A wait that ends early is
// delayed by at most kExpectedFraction of the shortest recent wait.
constexpr int kUrgentFirstPollUs = 10;
constexpr int kUrgentMaxPollUs = 400;
constexpr std::size_t kRememberedWaits = 4;
constexpr double kExpectedFraction = 0.8;
constexpr double kExpectedStep = 0.05;
// A wait that outlasts all that (a driver waiting for a batch's outputs, a
// pipeline filling) polls every kLongWaitFraction of the time waited so far,
// at most every kLongWaitMaxPollUs: a message ending it is then delayed by at
// most that fraction of the wait.
constexpr double kLongWaitFraction = 0.1;
constexpr double kLongWaitMaxPollUs = 2000;
// Nobody waits but transfers are in flight (a large message between hosts
// moves in fragments and needs progress calls on both sides): doubling from
// kInFlightFirstPollUs up to kInFlightMaxPollUs.
constexpr int kInFlightFirstPollUs = 50;
constexpr int kInFlightMaxPollUs = 1000;
// Nothing in flight, nobody waiting: sleep up to kIdleSleepUs (or until a
// stage starts waiting; a posted send is noticed on the next pass). Arrivals that nobody waits for
// are matched on these passes, so they are usually here before they are asked
// for.
constexpr int kIdleSleepUs = 2000;

int linkTag(int from, int to)
{
    return kLinkTagBase + from * kMaxEndpoints + to;
}

std::string mpiErrorText(int code)
{
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(code, text, &length);
    return std::string(text, static_cast<std::size_t>(length));
}

Status check(int code, const char *what)
{
    if (code == MPI_SUCCESS)
        return {};
    return makeError(ErrorCode::Runtime, std::string("MPI ") + what + ": " + mpiErrorText(code));
}

// Polling back-off: spin briefly (low latency), then sleep so ranks
// oversubscribed on few cores leave the CPU to ranks that compute.
class Backoff
{
public:
    void wait()
    {
        ++m_polls;
        if (m_polls < 64)
            std::this_thread::yield();
        else if (m_polls < 2000)
            std::this_thread::sleep_for(std::chrono::microseconds(20));
        else
            std::this_thread::sleep_for(std::chrono::microseconds(200));
    }

private:
    int m_polls = 0;
};

// Uninitialised, aligned as decodeFrame needs to view tensors in place.
std::shared_ptr<std::uint8_t> alignedFrameBuffer(std::size_t bytes)
{
    const std::size_t rounded = (std::max<std::size_t>(bytes, 1) + kFrameDataAlignment - 1) /
                                kFrameDataAlignment * kFrameDataAlignment;
    auto *buffer = static_cast<std::uint8_t *>(std::aligned_alloc(kFrameDataAlignment, rounded));
    if (!buffer)
        throw std::bad_alloc(); // as the std::vector this replaced did
    return std::shared_ptr<std::uint8_t>(buffer, [](std::uint8_t *bytes) { std::free(bytes); });
}

// An MPI request that is completed or freed when it goes (RAII).
class Request
{
public:
    Request() = default;
    explicit Request(MPI_Request request) : m_request(request) {}
    Request(Request &&other) noexcept : m_request(other.m_request)
    {
        other.m_request = MPI_REQUEST_NULL;
    }
    Request &operator=(Request &&) = delete;
    // The owner frees a request still pending while holding the world's lock.
    ~Request()
    {
        if (m_request != MPI_REQUEST_NULL)
            MPI_Request_free(&m_request); // completes in the background
    }
    MPI_Request *get() { return &m_request; }
    bool done() const { return m_request == MPI_REQUEST_NULL; }

private:
    MPI_Request m_request = MPI_REQUEST_NULL;
};

} // namespace

struct MpiWorld::Impl
{
    std::mutex mutex; // serialises every MPI call
    int rank = 0;
    int size = 1;
    struct Outgoing
    {
        Request request;
        std::vector<std::uint8_t> bytes;
    };
    std::deque<Outgoing> control; // pending control sends
};

// The MPI transport. One progress thread per rank makes every data-moving MPI
// call: it completes this rank's sends, matches messages arriving on the
// links into this rank's endpoints (MPI_Improbe + MPI_Imrecv) and queues them
// decoded. Stage threads only post MPI_Isend and wait on condition variables,
// so waiting costs no CPU beyond the progress thread, paced as described at
// kUrgentFirstPollUs.
class MpiTransport final : public Transport
{
public:
    MpiTransport(MpiWorld::Impl &world, std::vector<int> endpointRank)
        : m_world(world), m_endpointRank(std::move(endpointRank))
    {}

    ~MpiTransport() override
    {
        {
            std::lock_guard lock(m_mutex);
            m_stopThread = true;
        }
        m_wakeProgress.notify_one();
        m_changed.notify_all();
        if (m_progress.joinable())
            m_progress.join();
        std::lock_guard lock(m_world.mutex);
        m_outgoing.clear(); // requests still in flight are freed (MPI completes them)
        m_incoming.clear();
    }

    Status open(int endpointCount, const std::vector<std::pair<int, int>> &links) override
    {
        if (endpointCount > kMaxEndpoints ||
            static_cast<int>(m_endpointRank.size()) < endpointCount)
            return makeError(ErrorCode::InvalidInput,
                             "MPI transport: " + std::to_string(endpointCount) +
                                 " endpoints (at most " + std::to_string(kMaxEndpoints) + ")");
        std::vector<std::pair<int, int>> local, inbound;
        for (const auto &link : links) {
            if (isLocal(link.first) && isLocal(link.second))
                local.push_back(link);
            else if (isLocal(link.second))
                inbound.push_back(link);
        }
        SB_TRY(m_local.open(endpointCount, local));
        {
            // Messages already here (or on their way) stay: another rank may
            // have started the next run before this one called open().
            std::lock_guard lock(m_mutex);
            m_shutdown = false;
            m_inbound = inbound;
            for (const auto &link : inbound)
                m_queues[link];
            for (int e = 0; e < endpointCount; ++e)
                m_inFlight[e];
            m_peak.assign(static_cast<std::size_t>(endpointCount), 0);
        }
        if (!m_progress.joinable())
            m_progress = std::thread([this] {
                // Named, so top -H and /proc/<pid>/task tell its CPU time apart.
                pthread_setname_np(pthread_self(), "sb-progress");
                progressLoop();
            });
        return {};
    }

    Status send(int from, int to, TransportMessage message, const CancelToken *cancel) override
    {
        if (isLocal(to))
            return m_local.send(from, to, std::move(message), cancel);
        SB_ASSIGN_OR_RETURN(auto frame, encodeFrame(message));
        if (frame.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
            return makeError(ErrorCode::InvalidInput,
                             "MPI transport: message of " + std::to_string(frame.size()) +
                                 " bytes is larger than one MPI message (2 GiB)");
        auto outgoing = std::make_unique<Outgoing>();
        outgoing->from = from;
        outgoing->bytes = std::move(frame);
        {
            std::lock_guard worldLock(m_world.mutex);
            SB_TRY(check(MPI_Isend(outgoing->bytes.data(), static_cast<int>(outgoing->bytes.size()),
                                   MPI_BYTE, rank(to), linkTag(from, to), MPI_COMM_WORLD,
                                   outgoing->request.get()),
                         "send"));
            std::lock_guard lock(m_mutex);
            m_outgoing.push_back(std::move(outgoing));
            ++m_inFlight[from];
        }
        // No wake-up of the progress thread or of waiting stages: MPI_Isend
        // has started the message, and only a sender out of credit (a waiter,
        // which wakes the progress thread) needs its completion soon. Each
        // wake-up here cost a context switch per message.
        // Back-pressure: at most kPipelineQueueDepth messages in flight per sender.
        return waitFor(cancel, "sending", creditKey(from),
                       [&] { return m_inFlight[from] <= kPipelineQueueDepth; });
    }

    Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) override
    {
        if (isLocal(from))
            return m_local.receive(from, to, cancel);
        const std::pair<int, int> link{from, to};
        std::unique_lock lock(m_mutex);
        auto it = m_queues.find(link);
        if (it == m_queues.end())
            return makeError(ErrorCode::Internal, "no transport link " + std::to_string(from) +
                                                      " -> " + std::to_string(to));
        lock.unlock();
        SB_TRY(
            waitFor(cancel, "receiving", linkTag(from, to), [&] { return !it->second.empty(); }));
        lock.lock();
        Result<TransportMessage> message = std::move(it->second.front());
        it->second.pop_front();
        return message;
    }

    Status drain(int from, const CancelToken *cancel) override
    {
        return waitFor(cancel, "sending", creditKey(from), [&] { return m_inFlight[from] == 0; });
    }

    void shutdown() override
    {
        m_local.shutdown();
        {
            std::lock_guard lock(m_mutex);
            m_shutdown = true;
        }
        m_changed.notify_all();
    }

    std::uint64_t peakQueuedBytes(int stage) const override
    {
        std::lock_guard lock(m_mutex);
        const auto index = static_cast<std::size_t>(stage);
        const std::uint64_t remote = index < m_peak.size() ? m_peak[index] : 0;
        return std::max(remote, m_local.peakQueuedBytes(stage));
    }

private:
    struct Outgoing
    {
        int from = 0;
        Request request;
        std::vector<std::uint8_t> bytes;
    };
    struct Incoming
    {
        std::pair<int, int> link;
        Request request;
        // 64-byte aligned, so decodeFrame hands out its tensors as views of
        // it instead of copying them, and left uninitialised (MPI overwrites
        // all of it): a zero-filled vector and a copy per tensor cost two
        // passes over every arriving byte (8 MiB of logits per demo-decoder
        // run on the driver's rank).
        std::shared_ptr<std::uint8_t> bytes;
        std::size_t size = 0;
    };

    using Clock = std::chrono::steady_clock;
    // A stage thread in waitFor: what it waits on (a link's tag or a sender's
    // credit), since when, and how long such waits lasted lately (0: unknown).
    struct Waiter
    {
        int key = 0;
        Clock::time_point since;
        double expectedUs = 0;
    };

    static int creditKey(int from) { return -1 - from; }

    int rank(int endpoint) const { return m_endpointRank[static_cast<std::size_t>(endpoint)]; }
    bool isLocal(int endpoint) const { return rank(endpoint) == m_world.rank; }

    // Waits (on the condition variable, rechecking every 5 ms for the cancel
    // token) until ready() holds under m_mutex.
    template <typename Ready>
    Status waitFor(const CancelToken *cancel, const char *what, int key, Ready ready)
    {
        std::unique_lock lock(m_mutex);
        if (ready())
            return {};
        // A waiter makes the progress thread poll fast (see kUrgentFirstPollUs).
        const std::deque<double> &recent = m_recentWaitsUs[key];
        auto waiter = m_waiters.insert(
            m_waiters.end(),
            Waiter{key, Clock::now(),
                   recent.empty() ? 0.0 : *std::min_element(recent.begin(), recent.end())});
        m_kick = true;
        m_wakeProgress.notify_one();
        Status status;
        while (!ready()) {
            if (m_shutdown) {
                status = makeError(ErrorCode::Cancelled, "transport shut down");
                break;
            }
            if (cancel && cancel->isCancelled()) {
                status = makeError(ErrorCode::Cancelled, std::string("cancelled while ") + what);
                break;
            }
            m_changed.wait_for(lock, std::chrono::milliseconds(5));
        }
        if (status.ok()) {
            std::deque<double> &waits = m_recentWaitsUs[key];
            waits.push_back(
                std::chrono::duration<double, std::micro>(Clock::now() - waiter->since).count());
            if (waits.size() > kRememberedWaits)
                waits.pop_front();
        }
        m_waiters.erase(waiter);
        return status;
    }

    // One pass over sends, arrivals and receives; true when something moved.
    bool progressOnce()
    {
        bool moved = false;
        std::vector<Incoming> arrived;
        {
            std::lock_guard worldLock(m_world.mutex);
            std::lock_guard lock(m_mutex);
            for (auto it = m_outgoing.begin(); it != m_outgoing.end();) {
                int done = 0;
                MPI_Test((*it)->request.get(), &done, MPI_STATUS_IGNORE);
                if (done) {
                    --m_inFlight[(*it)->from];
                    it = m_outgoing.erase(it);
                    moved = true;
                } else {
                    ++it;
                }
            }
            for (const auto &link : m_inbound) {
                int found = 0;
                MPI_Message handle;
                MPI_Status status;
                if (MPI_Improbe(rank(link.first), linkTag(link.first, link.second), MPI_COMM_WORLD,
                                &found, &handle, &status) != MPI_SUCCESS ||
                    !found)
                    continue;
                int count = 0;
                MPI_Get_count(&status, MPI_BYTE, &count);
                Incoming incoming;
                incoming.link = link;
                incoming.size = static_cast<std::size_t>(count);
                incoming.bytes = alignedFrameBuffer(incoming.size);
                MPI_Imrecv(incoming.bytes.get(), count, MPI_BYTE, &handle, incoming.request.get());
                m_incoming.push_back(std::move(incoming));
                moved = true;
            }
            // Receives complete in any order (a large message still
            // streaming, a small one behind it on the same link already
            // in), but a link delivers in the order its messages were
            // matched: a completed receive waits while an earlier one of its
            // link is still in progress.
            std::set<std::pair<int, int>> streaming; // links with an earlier receive pending
            for (auto it = m_incoming.begin(); it != m_incoming.end();) {
                int done = it->request.done() ? 1 : 0;
                if (!done)
                    MPI_Test(it->request.get(), &done, MPI_STATUS_IGNORE);
                if (done && !streaming.count(it->link)) {
                    arrived.push_back(std::move(*it));
                    it = m_incoming.erase(it);
                    moved = true;
                } else {
                    if (!done)
                        streaming.insert(it->link);
                    ++it;
                }
            }
        }
        for (Incoming &incoming : arrived) {
            auto message = decodeFrame(std::move(incoming.bytes), incoming.size);
            if (!message)
                message = message.error().withContext(
                    "message from rank " + std::to_string(rank(incoming.link.first)) +
                    " (endpoint " + std::to_string(incoming.link.first) + ")");
            std::lock_guard lock(m_mutex);
            if (message) {
                auto &peak = m_peak[static_cast<std::size_t>(incoming.link.second)];
                peak = std::max<std::uint64_t>(peak, message->bytes());
            }
            m_queues[incoming.link].push_back(std::move(message));
        }
        if (moved)
            m_changed.notify_all();
        return moved;
    }

    // The sleep before the next poll while stages wait: the shortest any
    // waiter asks for (see kUrgentFirstPollUs). Under m_mutex.
    int urgentSleepUs() const
    {
        const auto now = Clock::now();
        double sleepUs = kLongWaitMaxPollUs;
        for (const Waiter &waiter : m_waiters) {
            const double waitedUs =
                std::chrono::duration<double, std::micro>(now - waiter.since).count();
            const double quietUntilUs = kExpectedFraction * waiter.expectedUs;
            // Doubling up to kUrgentMaxPollUs; a wait that has lasted long
            // polls every kLongWaitFraction of its length (up to kLongWaitMaxPollUs).
            double next = std::min<double>(waitedUs, kUrgentMaxPollUs);
            if (waiter.expectedUs > 0)
                next = waitedUs < quietUntilUs
                           ? quietUntilUs - waitedUs
                           : std::min<double>(std::max(waitedUs - quietUntilUs,
                                                       kExpectedStep * waiter.expectedUs),
                                              kUrgentMaxPollUs);
            next = std::max(next, std::min(kLongWaitFraction * waitedUs, kLongWaitMaxPollUs));
            sleepUs = std::min(sleepUs, std::max<double>(next, kUrgentFirstPollUs));
        }
        return static_cast<int>(sleepUs);
    }

    // Polls at the pace the constants above describe: as urgentSleepUs says
    // while a stage of this rank waits, geometric back-off while only
    // transfers are in flight, a long sleep when nothing moves. A new waiter
    // cuts any sleep short (m_kick).
    void progressLoop()
    {
        int quietPasses = 0; // passes since something last moved
        for (;;) {
            if (progressOnce()) {
                quietPasses = 0;
                continue;
            }
            std::unique_lock lock(m_mutex);
            if (m_stopThread)
                return;
            const int doublings = std::min(quietPasses++, 16);
            int sleepUs = kIdleSleepUs;
            if (!m_waiters.empty())
                sleepUs = urgentSleepUs();
            else if (!m_outgoing.empty() || !m_incoming.empty())
                sleepUs = std::min(kInFlightMaxPollUs, kInFlightFirstPollUs << doublings);
            if (m_kick) {
                m_kick = false;
                quietPasses = 0;
                continue;
            }
            m_wakeProgress.wait_for(lock, std::chrono::microseconds(sleepUs),
                                    [&] { return m_stopThread || m_kick; });
            if (m_kick) {
                m_kick = false;
                quietPasses = 0;
            }
        }
    }

    MpiWorld::Impl &m_world;
    std::vector<int> m_endpointRank;
    InProcessTransport m_local;
    mutable std::mutex m_mutex; // after m_world.mutex when both are held
    std::condition_variable m_changed;
    std::condition_variable m_wakeProgress;            // cuts the progress thread's sleep short
    std::list<Waiter> m_waiters;                       // stage threads in waitFor
    std::map<int, std::deque<double>> m_recentWaitsUs; // by Waiter::key, oldest first
    bool m_kick = false;                               // a stage began waiting
    bool m_shutdown = false;
    bool m_stopThread = false;
    std::vector<std::pair<int, int>> m_inbound;
    std::map<std::pair<int, int>, std::deque<Result<TransportMessage>>> m_queues;
    std::map<int, int> m_inFlight; // sends not completed, by sending endpoint
    std::list<std::unique_ptr<Outgoing>> m_outgoing;
    std::list<Incoming> m_incoming;
    std::vector<std::uint64_t> m_peak;
    std::thread m_progress;
};

bool MpiWorld::available()
{
    return true;
}

MpiWorld::MpiWorld() : m_impl(std::make_unique<Impl>()) {}

Result<std::unique_ptr<MpiWorld>> MpiWorld::init(int *argc, char ***argv)
{
    int provided = 0;
    SB_TRY(check(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided), "init"));
    std::unique_ptr<MpiWorld> world(new MpiWorld());
    if (provided < MPI_THREAD_SERIALIZED)
        return makeError(ErrorCode::Unsupported,
                         "this MPI library does not support MPI_THREAD_SERIALIZED");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &world->m_impl->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world->m_impl->size);
    return world;
}

MpiWorld::~MpiWorld()
{
    std::lock_guard lock(m_impl->mutex);
    m_impl->control.clear();
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized)
        MPI_Finalize();
}

int MpiWorld::rank() const
{
    return m_impl->rank;
}

int MpiWorld::size() const
{
    return m_impl->size;
}

Result<std::string> MpiWorld::broadcast(const std::string &text, int root)
{
    std::lock_guard lock(m_impl->mutex);
    unsigned long long length = text.size();
    SB_TRY(check(MPI_Bcast(&length, 1, MPI_UNSIGNED_LONG_LONG, root, MPI_COMM_WORLD), "broadcast"));
    std::string out = m_impl->rank == root ? text : std::string(length, '\0');
    SB_TRY(check(MPI_Bcast(out.data(), static_cast<int>(length), MPI_CHAR, root, MPI_COMM_WORLD),
                 "broadcast"));
    return out;
}

Result<std::vector<std::string>> MpiWorld::allGather(const std::string &text)
{
    std::lock_guard lock(m_impl->mutex);
    const int size = m_impl->size;
    int length = static_cast<int>(text.size());
    std::vector<int> lengths(static_cast<std::size_t>(size));
    SB_TRY(check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD),
                 "all-gather"));
    std::vector<int> offsets(static_cast<std::size_t>(size));
    int total = 0;
    for (int r = 0; r < size; ++r) {
        offsets[static_cast<std::size_t>(r)] = total;
        total += lengths[static_cast<std::size_t>(r)];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    SB_TRY(check(MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(),
                                offsets.data(), MPI_CHAR, MPI_COMM_WORLD),
                 "all-gather"));
    std::vector<std::string> out;
    for (int r = 0; r < size; ++r)
        out.push_back(all.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                 static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
    return out;
}

Status MpiWorld::barrier()
{
    // A polled barrier, so a lock holder never blocks the other threads.
    MPI_Request request = MPI_REQUEST_NULL;
    {
        std::lock_guard lock(m_impl->mutex);
        SB_TRY(check(MPI_Ibarrier(MPI_COMM_WORLD, &request), "barrier"));
    }
    Backoff backoff;
    for (;;) {
        int done = 0;
        {
            std::lock_guard lock(m_impl->mutex);
            SB_TRY(check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), "barrier"));
        }
        if (done)
            return {};
        backoff.wait();
    }
}

void MpiWorld::abort(int exitCode)
{
    MPI_Abort(MPI_COMM_WORLD, exitCode);
    std::_Exit(exitCode);
}

Status MpiWorld::sendControl(int to, ControlKind kind, const std::string &text)
{
    std::lock_guard lock(m_impl->mutex);
    // Complete what went before (control messages are small and eager).
    while (!m_impl->control.empty()) {
        int done = 0;
        MPI_Test(m_impl->control.front().request.get(), &done, MPI_STATUS_IGNORE);
        if (!done)
            break;
        m_impl->control.pop_front();
    }
    Impl::Outgoing outgoing;
    outgoing.bytes.assign(text.begin(), text.end());
    m_impl->control.push_back(std::move(outgoing));
    auto &back = m_impl->control.back();
    return check(MPI_Isend(back.bytes.data(), static_cast<int>(back.bytes.size()), MPI_BYTE, to,
                           static_cast<int>(kind), MPI_COMM_WORLD, back.request.get()),
                 "control send");
}

std::optional<ControlMessage> MpiWorld::pollControl(ControlKind kind)
{
    std::lock_guard lock(m_impl->mutex);
    int found = 0;
    MPI_Message handle;
    MPI_Status status;
    if (MPI_Improbe(MPI_ANY_SOURCE, static_cast<int>(kind), MPI_COMM_WORLD, &found, &handle,
                    &status) != MPI_SUCCESS ||
        !found)
        return std::nullopt;
    int count = 0;
    MPI_Get_count(&status, MPI_BYTE, &count);
    std::string text(static_cast<std::size_t>(count), '\0');
    if (MPI_Mrecv(text.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE) != MPI_SUCCESS)
        return std::nullopt;
    return ControlMessage{status.MPI_SOURCE, kind, std::move(text)};
}

Result<double> MpiWorld::pingPong(int peer, std::size_t bytes, int rounds)
{
    constexpr int kPingTag = 50;
    std::vector<char> buffer(bytes ? bytes : 1);
    const bool first = m_impl->rank < peer;
    std::lock_guard lock(m_impl->mutex);
    const auto started = std::chrono::steady_clock::now();
    for (int r = 0; r < rounds; ++r) {
        const int count = static_cast<int>(bytes);
        if (first) {
            SB_TRY(check(MPI_Send(buffer.data(), count, MPI_BYTE, peer, kPingTag, MPI_COMM_WORLD),
                         "ping"));
            SB_TRY(check(MPI_Recv(buffer.data(), count, MPI_BYTE, peer, kPingTag, MPI_COMM_WORLD,
                                  MPI_STATUS_IGNORE),
                         "pong"));
        } else {
            SB_TRY(check(MPI_Recv(buffer.data(), count, MPI_BYTE, peer, kPingTag, MPI_COMM_WORLD,
                                  MPI_STATUS_IGNORE),
                         "ping"));
            SB_TRY(check(MPI_Send(buffer.data(), count, MPI_BYTE, peer, kPingTag, MPI_COMM_WORLD),
                         "pong"));
        }
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() /
           std::max(1, rounds);
}

std::shared_ptr<Transport> MpiWorld::makeTransport(std::vector<int> endpointRank)
{
    return std::make_shared<MpiTransport>(*m_impl, std::move(endpointRank));
}

} // namespace sb::runtime
