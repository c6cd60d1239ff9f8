// MpiWorld and the MPI transport (built only with MPI).
#define OMPI_SKIP_MPICXX 1
#include "core/runtime/mpi_world.h"

#include "core/runtime/message_frame.h"

#include <mpi.h>
#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <list>
#include <map>
#include <mutex>
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

// A link's frames (split headers) travel on linkTag, their tensors' data on
// dataTag: messages of one tag from one rank arrive in the order they were
// sent, so each header's data are the next ones on the data tag.
int linkTag(int from, int to)
{
    return kLinkTagBase + from * kMaxEndpoints + to;
}

int dataTag(int from, int to)
{
    return kLinkTagBase + kMaxEndpoints * kMaxEndpoints + from * kMaxEndpoints + to;
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

    // Links within this rank use the in-process buffers; a message from
    // another rank is received into tensors of its own (counted as queued).
    void useTransferBuffers(const std::vector<std::pair<int, int>> &links,
                            int buffersPerLink) override
    {
        std::vector<std::pair<int, int>> local;
        for (const auto &link : links)
            if (isLocal(link.first) && isLocal(link.second))
                local.push_back(link);
        m_local.useTransferBuffers(local, buffersPerLink);
    }

    Status send(int from, int to, TransportMessage message, const CancelToken *cancel) override
    {
        if (isLocal(to))
            return m_local.send(from, to, std::move(message), cancel);
        // The tensors' data go from their own memory (one message each after
        // the split header): no copy into a frame, and MPI's single-copy
        // path moves them straight into the receiver's tensors.
        SB_ASSIGN_OR_RETURN(auto frame, encodeSplitFrame(message));
        constexpr auto kMaxMessage = static_cast<std::size_t>(std::numeric_limits<int>::max());
        if (frame.header.size() > kMaxMessage)
            return makeError(ErrorCode::InvalidInput,
                             "MPI transport: a message header of " +
                                 std::to_string(frame.header.size()) +
                                 " bytes is larger than one MPI message (2 GiB)");
        for (const SplitFrame::Piece &piece : frame.data)
            if (piece.size > kMaxMessage)
                return makeError(ErrorCode::InvalidInput,
                                 "MPI transport: a tensor of " + std::to_string(piece.size) +
                                     " bytes is larger than one MPI message (2 GiB)");
        auto outgoing = std::make_unique<Outgoing>();
        outgoing->from = from;
        outgoing->to = to;
        outgoing->header = std::move(frame.header);
        outgoing->requests.resize(1 + frame.data.size());
        outgoing->message = std::move(message); // the data stay alive until sent
        {
            std::lock_guard worldLock(m_world.mutex);
            Status posted =
                check(MPI_Isend(outgoing->header.data(), static_cast<int>(outgoing->header.size()),
                                MPI_BYTE, rank(to), linkTag(from, to), MPI_COMM_WORLD,
                                outgoing->requests[0].get()),
                      "send");
            for (std::size_t i = 0; posted.ok() && i < frame.data.size(); ++i)
                posted = check(MPI_Isend(frame.data[i].bytes, static_cast<int>(frame.data[i].size),
                                         MPI_BYTE, rank(to), dataTag(from, to), MPI_COMM_WORLD,
                                         outgoing->requests[1 + i].get()),
                               "send");
            // Queued even when a send failed: what was posted completes
            // while the queue (and the tensors it reads) still exists.
            std::lock_guard lock(m_mutex);
            m_outgoing.push_back(std::move(outgoing));
            ++m_inFlight[from];
            ++m_linkInFlight[{from, to}];
            if (!posted.ok())
                return posted;
        }
        // No wake-up of the progress thread or of waiting stages: MPI_Isend
        // has started the message, and only a sender out of credit (a waiter,
        // which wakes the progress thread) needs its completion soon. Each
        // wake-up here cost a context switch per message.
        // Back-pressure as in-process: at most kPipelineQueueDepth messages
        // in flight per link (not per sender: a stage feeding two stages
        // would otherwise get half the queue on each link).
        return waitFor(cancel, "sending", creditKey(from, to), [&] {
            return m_linkInFlight[{from, to}] <= kPipelineQueueDepth;
        });
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
        return waitFor(cancel, "sending", drainKey(from), [&] { return m_inFlight[from] == 0; });
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
    // One frame on its way out: the split header's send, then one per tensor.
    struct Outgoing
    {
        int from = 0;
        int to = 0;
        std::vector<Request> requests;
        std::vector<std::uint8_t> header;
        TransportMessage message; // owns the tensor data being sent
    };
    // One frame coming in: its split header first; once that is decoded, the
    // receives of its tensors' data, straight into the message's tensors
    // (allocated uninitialised: MPI overwrites all of them).
    struct Incoming
    {
        std::pair<int, int> link;
        Request headerRequest;
        std::vector<std::uint8_t> header;
        bool decoded = false; // message holds the decoded header (or its error)
        Result<TransportMessage> message = TransportMessage{};
        std::vector<Request> dataRequests;
        std::vector<std::pair<std::string, std::size_t>> expected; // tensor, bytes per receive
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

    // Waiter keys besides link tags (which are positive).
    static int creditKey(int from, int to) { return -1 - (from * kMaxEndpoints + to); }
    static int drainKey(int from) { return -1 - kMaxEndpoints * kMaxEndpoints - from; }

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
    // The three steps below run under both locks, each every pass (hence |).
    bool progressOnce()
    {
        bool moved = false;
        {
            std::lock_guard worldLock(m_world.mutex);
            std::lock_guard lock(m_mutex);
            moved = completeSends() | matchHeaders() | advanceReceives();
        }
        if (moved)
            m_changed.notify_all();
        return moved;
    }

    // Frames whose header and data sends have all completed give back credit.
    bool completeSends()
    {
        bool moved = false;
        for (auto it = m_outgoing.begin(); it != m_outgoing.end();) {
            bool all = true;
            for (Request &request : (*it)->requests) {
                int done = request.done() ? 1 : 0;
                if (!done)
                    MPI_Test(request.get(), &done, MPI_STATUS_IGNORE);
                all = all && done;
            }
            if (all) {
                --m_inFlight[(*it)->from];
                --m_linkInFlight[{(*it)->from, (*it)->to}];
                it = m_outgoing.erase(it);
                moved = true;
            } else {
                ++it;
            }
        }
        return moved;
    }

    // Headers arriving on the links into this rank start their receives.
    bool matchHeaders()
    {
        bool moved = false;
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
            incoming.header.resize(static_cast<std::size_t>(std::max(count, 0)));
            MPI_Imrecv(incoming.header.data(), count, MPI_BYTE, &handle,
                       incoming.headerRequest.get());
            m_incoming.push_back(std::move(incoming));
            moved = true;
        }
        return moved;
    }

    // Decodes arrived headers and posts their data receives, in each link's
    // order (so a header's data are the next messages on the link's data
    // tag), and delivers completed frames, also in each link's order: a
    // complete frame waits while an earlier one of its link is still
    // arriving (a large frame still streaming, a small one behind it in).
    bool advanceReceives()
    {
        bool moved = false;
        std::set<std::pair<int, int>> earlierPending; // links with an earlier frame not delivered
        for (auto it = m_incoming.begin(); it != m_incoming.end();) {
            Incoming &incoming = *it;
            const bool first = !earlierPending.count(incoming.link);
            if (!incoming.decoded) {
                int done = incoming.headerRequest.done() ? 1 : 0;
                if (!done)
                    MPI_Test(incoming.headerRequest.get(), &done, MPI_STATUS_IGNORE);
                if (done && (first || allDecodedBefore(it))) {
                    startDataReceives(incoming);
                    moved = true;
                }
            }
            bool complete = incoming.decoded;
            for (std::size_t i = 0; complete && i < incoming.dataRequests.size(); ++i) {
                Request &request = incoming.dataRequests[i];
                if (request.done())
                    continue;
                int done = 0;
                MPI_Status status;
                const int code = MPI_Test(request.get(), &done, &status);
                // An error (a longer message than announced) completes it.
                complete = done || code != MPI_SUCCESS;
                if (complete)
                    checkDataArrived(incoming, i, code, status);
            }
            if (complete && first) {
                deliver(incoming);
                it = m_incoming.erase(it);
                moved = true;
            } else {
                earlierPending.insert(incoming.link);
                ++it;
            }
        }
        return moved;
    }

    // True when every frame of `it`'s link before it has its header decoded
    // (its data receives posted).
    bool allDecodedBefore(std::list<Incoming>::iterator it) const
    {
        for (auto earlier = m_incoming.begin(); earlier != it; ++earlier)
            if (earlier->link == it->link && !earlier->decoded)
                return false;
        return true;
    }

    std::string fromText(const std::pair<int, int> &link) const
    {
        return "message from rank " + std::to_string(rank(link.first)) + " (endpoint " +
               std::to_string(link.first) + ")";
    }

    // A bad header leaves the link unusable (its data messages cannot be
    // told apart any more): every later frame on it fails the same way.
    void startDataReceives(Incoming &incoming)
    {
        incoming.decoded = true;
        auto broken = m_brokenLinks.find(incoming.link);
        if (broken != m_brokenLinks.end()) {
            incoming.message = broken->second;
            return;
        }
        incoming.message = decodeSplitHeader(incoming.header.data(), incoming.header.size());
        if (!incoming.message) {
            incoming.message = incoming.message.error().withContext(fromText(incoming.link));
            m_brokenLinks.emplace(incoming.link, incoming.message.error());
            return;
        }
        const auto &[from, to] = incoming.link;
        for (auto &[name, tensor] : incoming.message->tensors) {
            if (tensor.byteSize() == 0)
                continue;
            incoming.expected.emplace_back(name, static_cast<std::size_t>(tensor.byteSize()));
            incoming.dataRequests.emplace_back();
            if (tensor.byteSize() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
                MPI_Irecv(tensor.data(), static_cast<int>(tensor.byteSize()), MPI_BYTE, rank(from),
                          dataTag(from, to), MPI_COMM_WORLD,
                          incoming.dataRequests.back().get()) != MPI_SUCCESS) {
                incoming.dataRequests.pop_back();
                incoming.message =
                    makeError(ErrorCode::Runtime, "MPI receive of tensor '" + name + "' failed");
                break;
            }
        }
    }

    // The first thing wrong with a frame's data stays its error.
    void checkDataArrived(Incoming &incoming, std::size_t index, int code, const MPI_Status &status)
    {
        const auto &[name, bytes] = incoming.expected[index];
        if (!incoming.message)
            return;
        if (code != MPI_SUCCESS) {
            incoming.message =
                makeError(ErrorCode::InvalidInput, fromText(incoming.link) + ": tensor '" + name +
                                                       "': " + mpiErrorText(code));
            return;
        }
        int count = 0;
        MPI_Get_count(&status, MPI_BYTE, &count);
        if (static_cast<std::size_t>(count) != bytes)
            incoming.message = makeError(
                ErrorCode::InvalidInput,
                fromText(incoming.link) + ": tensor '" + name + "': " + std::to_string(count) +
                    " data bytes arrived, " + std::to_string(bytes) + " announced");
    }

    void deliver(Incoming &incoming)
    {
        if (incoming.message) {
            auto &peak = m_peak[static_cast<std::size_t>(incoming.link.second)];
            peak = std::max<std::uint64_t>(peak, incoming.message->bytes());
        }
        m_queues[incoming.link].push_back(std::move(incoming.message));
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
    std::map<int, int> m_inFlight;                     // sends not completed, by sending endpoint
    std::map<std::pair<int, int>, int> m_linkInFlight; // the same by link
    std::list<std::unique_ptr<Outgoing>> m_outgoing;
    std::list<Incoming> m_incoming;
    std::map<std::pair<int, int>, Error> m_brokenLinks; // by link: the bad header's error
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
