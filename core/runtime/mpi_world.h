// Open MPI for the engine: one process = one rank (shardbench-worker). This
// header keeps mpi.h out: builds without MPI (SHARDBENCH_MPI=OFF or no
// libopenmpi-dev) get MpiWorld::init() failing with Unsupported.
//
// Contract:
//  - MpiWorld owns MPI_Init_thread / MPI_Finalize (RAII). Every MPI call goes
//    through it and is serialised by one mutex, so stage threads, the
//    heartbeat and the driver may share a rank (MPI_THREAD_SERIALIZED).
//  - Collectives (broadcast, allGather, barrier) are for setup and the end
//    of a job; during a run ranks talk point-to-point only.
//  - The transport (makeTransport) moves TransportMessages as frames
//    (message_frame.h) with non-blocking sends and probes polled against the
//    cancel token and shutdown(), so nothing blocks forever inside MPI.
//    Links between endpoints on the same rank stay in-process.
//  - Control messages (heartbeats, errors) go to rank 0 on their own tags.
#pragma once

#include "core/common/result.h"
#include "core/runtime/pipeline_transport.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sb::runtime {

enum class ControlKind
{
    Heartbeat = 1,
    Error = 2,
};

struct ControlMessage
{
    int source = 0; // rank
    ControlKind kind = ControlKind::Heartbeat;
    std::string text;
};

class MpiWorld
{
public:
    static bool available(); // built with MPI
    static Result<std::unique_ptr<MpiWorld>> init(int *argc, char ***argv);
    ~MpiWorld(); // MPI_Finalize
    MpiWorld(const MpiWorld &) = delete;
    MpiWorld &operator=(const MpiWorld &) = delete;

    int rank() const;
    int size() const;

    Result<std::string> broadcast(const std::string &text, int root);
    Result<std::vector<std::string>> allGather(const std::string &text);
    Status barrier();
    // MPI_Abort: mpirun stops every rank of the job. Does not return.
    [[noreturn]] void abort(int exitCode);

    // Fire-and-forget small message (the request is completed later).
    Status sendControl(int to, ControlKind kind, const std::string &text);
    // A pending control message of `kind` from any rank, if one arrived.
    std::optional<ControlMessage> pollControl(ControlKind kind);

    // Point-to-point ping-pong with `peer` for link calibration: `bytes` per
    // message, `rounds` round trips; returns seconds per round trip. Both
    // ranks call it (the lower rank sends first).
    Result<double> pingPong(int peer, std::size_t bytes, int rounds);

    // endpointRank[e] = rank that hosts endpoint e (stages, then the driver).
    std::shared_ptr<Transport> makeTransport(std::vector<int> endpointRank);

    struct Impl;

private:
    MpiWorld();
    std::unique_ptr<Impl> m_impl;
};

} // namespace sb::runtime
