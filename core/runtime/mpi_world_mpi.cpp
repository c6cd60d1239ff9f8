// MpiWorld and the MPI transport (built only with MPI).
#define OMPI_SKIP_MPICXX 1
#include "core/runtime/mpi_world.h"

#include "core/runtime/message_frame.h"

#include <mpi.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

namespace sb::runtime {

namespace {

constexpr int kMaxEndpoints = 64;
constexpr int kLinkTagBase = 100;

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

class MpiTransport final : public Transport
{
public:
    MpiTransport(MpiWorld::Impl &world, std::vector<int> endpointRank)
        : m_world(world), m_endpointRank(std::move(endpointRank))
    {}

    ~MpiTransport() override { releasePending(); }

    Status open(int endpointCount, const std::vector<std::pair<int, int>> &links) override
    {
        releasePending();
        // One pending list per local endpoint, made here so that stage threads
        // only look them up (no concurrent insertion).
        for (int e = 0; e < endpointCount; ++e)
            if (isLocal(e))
                m_pending[e];
        if (endpointCount > kMaxEndpoints ||
            static_cast<int>(m_endpointRank.size()) < endpointCount)
            return makeError(ErrorCode::InvalidInput,
                             "MPI transport: " + std::to_string(endpointCount) +
                                 " endpoints (at most " + std::to_string(kMaxEndpoints) + ")");
        std::vector<std::pair<int, int>> local;
        for (const auto &link : links)
            if (isLocal(link.first) && isLocal(link.second))
                local.push_back(link);
        SB_TRY(m_local.open(endpointCount, local));
        std::lock_guard lock(m_mutex);
        m_shutdown = false;
        m_peak.assign(static_cast<std::size_t>(endpointCount), 0);
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
        auto outgoing = std::make_unique<MpiWorld::Impl::Outgoing>();
        outgoing->bytes = std::move(frame);
        {
            std::lock_guard lock(m_world.mutex);
            SB_TRY(check(MPI_Isend(outgoing->bytes.data(), static_cast<int>(outgoing->bytes.size()),
                                   MPI_BYTE, rank(to), linkTag(from, to), MPI_COMM_WORLD,
                                   outgoing->request.get()),
                         "send"));
        }
        auto &pending = m_pending.at(from); // only the thread of endpoint `from` touches it
        pending.push_back(std::move(outgoing));
        // Back-pressure: at most kPipelineQueueDepth messages in flight per sender.
        while (pending.size() > static_cast<std::size_t>(kPipelineQueueDepth))
            SB_TRY(waitOldest(pending, cancel));
        return {};
    }

    Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) override
    {
        if (isLocal(from))
            return m_local.receive(from, to, cancel);
        Backoff backoff;
        for (;;) {
            SB_TRY(stopped(cancel, "receiving"));
            int found = 0;
            MPI_Message handle;
            MPI_Status status;
            std::vector<std::uint8_t> bytes;
            {
                std::lock_guard lock(m_world.mutex);
                SB_TRY(check(MPI_Improbe(rank(from), linkTag(from, to), MPI_COMM_WORLD, &found,
                                         &handle, &status),
                             "probe"));
                if (found) {
                    int count = 0;
                    MPI_Get_count(&status, MPI_BYTE, &count);
                    bytes.resize(static_cast<std::size_t>(count));
                    SB_TRY(
                        check(MPI_Mrecv(bytes.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE),
                              "receive"));
                }
            }
            if (!found) {
                backoff.wait();
                continue;
            }
            auto message = decodeFrame(bytes.data(), bytes.size());
            if (!message)
                return message.error().withContext("message from rank " +
                                                   std::to_string(rank(from)) + " (endpoint " +
                                                   std::to_string(from) + ")");
            std::lock_guard lock(m_mutex);
            auto &peak = m_peak[static_cast<std::size_t>(to)];
            peak = std::max<std::uint64_t>(peak, message->bytes());
            return message;
        }
    }

    Status drain(int from, const CancelToken *cancel) override
    {
        auto it = m_pending.find(from);
        if (it == m_pending.end())
            return {};
        while (!it->second.empty())
            SB_TRY(waitOldest(it->second, cancel));
        return {};
    }

    void shutdown() override
    {
        m_local.shutdown();
        std::lock_guard lock(m_mutex);
        m_shutdown = true;
    }

    std::uint64_t peakQueuedBytes(int stage) const override
    {
        std::lock_guard lock(m_mutex);
        const auto index = static_cast<std::size_t>(stage);
        const std::uint64_t remote = index < m_peak.size() ? m_peak[index] : 0;
        return std::max(remote, m_local.peakQueuedBytes(stage));
    }

private:
    using Pending = std::deque<std::unique_ptr<MpiWorld::Impl::Outgoing>>;

    void releasePending()
    {
        std::lock_guard lock(m_world.mutex);
        m_pending.clear(); // requests still in flight are freed (MPI completes them)
    }

    int rank(int endpoint) const { return m_endpointRank[static_cast<std::size_t>(endpoint)]; }
    bool isLocal(int endpoint) const { return rank(endpoint) == m_world.rank; }

    Status stopped(const CancelToken *cancel, const char *what) const
    {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, std::string("cancelled while ") + what);
        std::lock_guard lock(m_mutex);
        if (m_shutdown)
            return makeError(ErrorCode::Cancelled, "transport shut down");
        return {};
    }

    Status waitOldest(Pending &pending, const CancelToken *cancel)
    {
        Backoff backoff;
        auto &oldest = pending.front();
        for (;;) {
            // On cancel the request stays pending in `pending` (freed with the
            // transport); the job is being stopped.
            SB_TRY(stopped(cancel, "sending"));
            int done = 0;
            {
                std::lock_guard lock(m_world.mutex);
                SB_TRY(check(MPI_Test(oldest->request.get(), &done, MPI_STATUS_IGNORE), "test"));
            }
            if (done) {
                pending.pop_front();
                return {};
            }
            backoff.wait();
        }
    }

    MpiWorld::Impl &m_world;
    std::vector<int> m_endpointRank;
    InProcessTransport m_local;
    std::map<int, Pending> m_pending; // by sending endpoint
    mutable std::mutex m_mutex;
    bool m_shutdown = false;
    std::vector<std::uint64_t> m_peak;
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
