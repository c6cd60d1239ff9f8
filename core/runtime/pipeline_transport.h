// Transport: how activations move between pipeline stages.
//
// The pipeline runner talks only to this interface, so an MPI or NCCL
// transport (stages in other processes or on GPUs, `shardbench-worker` ranks)
// plugs in without changing plans or the runner.
//
// Contract:
//  - Endpoints are numbered 0..n-1 (the stages, then the pipeline driver); a
//    link (from, to) is a FIFO of messages, one message per micro-batch
//    holding every tensor `to` needs from `from`, plus a final Metrics
//    message (a stage's report) or an Error message on links to the driver.
//  - Across processes a message travels as a versioned binary frame
//    (message_frame.h).
//  - send() blocks while the link already holds kPipelineQueueDepth messages
//    (back-pressure bounds memory); receive() blocks until a message arrives.
//    Messages on one link arrive in the order they were sent.
//  - shutdown() wakes every blocked call; they (and later calls) return
//    ErrorCode::Cancelled. A cancelled CancelToken does the same for the
//    calls that were given it (polled every few milliseconds).
//  - Collectives (allReduceSum, allGather) are for tensor-parallel groups
//    (`group` = the members' endpoints, `rank` = the caller's index in it).
//    The default exchanges copies point-to-point over links between the
//    members (which open() must have been given); a transport with native
//    collectives (NCCL) overrides them. Results are summed / concatenated in
//    group order, so every member holds the same bits.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/runtime/tensor.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace sb::runtime {

// Messages a link holds before send() blocks. The planner's memory ledger
// charges the same depth for transfer buffers (plan::kTransferQueueDepth).
inline constexpr int kPipelineQueueDepth = 2;

struct TransportMessage
{
    enum class Kind : std::uint8_t
    {
        Data = 0,    // tensors of one micro-batch
        Metrics = 1, // a stage's report (JSON in `text`)
        Error = 2,   // a stage's failure (`text` is the message)
    };
    Kind kind = Kind::Data;
    int microbatch = 0;
    std::map<std::string, Tensor> tensors; // value name -> tensor
    std::string text;
    std::uint64_t bytes() const; // tensor bytes
};

class Transport
{
public:
    virtual ~Transport() = default;
    // Prepares the links the runner will use. Called once per run.
    virtual Status open(int stageCount, const std::vector<std::pair<int, int>> &links) = 0;
    virtual Status send(int from, int to, TransportMessage message, const CancelToken *cancel) = 0;
    virtual Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) = 0;
    // Waits until the messages `from` sent have left this process (MPI:
    // pending non-blocking sends completed). In-process: nothing to wait for.
    virtual Status drain(int from, const CancelToken *cancel);
    virtual void shutdown() = 0;

    // Most bytes queued at once on links into `stage` since open() (measured).
    virtual std::uint64_t peakQueuedBytes(int stage) const = 0;

    // Tensor-parallel collectives over a group of stages (ranks).
    virtual Status allReduceSum(const std::vector<int> &group, int rank, Tensor &tensor,
                                const CancelToken *cancel);
    virtual Result<Tensor> allGather(const std::vector<int> &group, int rank, const Tensor &tensor,
                                     int axis, const CancelToken *cancel);
};

// Stages in one process: a bounded queue per link. Tensors are handed over,
// not copied (a tensor sent to several stages is shared by them, read-only).
class InProcessTransport final : public Transport
{
public:
    Status open(int stageCount, const std::vector<std::pair<int, int>> &links) override;
    Status send(int from, int to, TransportMessage message, const CancelToken *cancel) override;
    Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) override;
    void shutdown() override;
    std::uint64_t peakQueuedBytes(int stage) const override;

private:
    struct Link
    {
        std::deque<TransportMessage> queue;
    };
    mutable std::mutex m_mutex;
    std::condition_variable m_changed;
    std::map<std::pair<int, int>, Link> m_links;
    std::vector<std::uint64_t> m_queuedBytes; // per destination stage
    std::vector<std::uint64_t> m_peakBytes;
    bool m_shutdown = false;
};

} // namespace sb::runtime
