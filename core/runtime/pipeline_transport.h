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
//  - Pipeline links (stage -> stage) may carry their messages in transfer
//    buffers (useTransferBuffers): a fixed set per link, made at its first
//    message and reused, so the memory a link holds does not depend on how
//    the stages' timing falls and is known before the run.
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

#include <algorithm>
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

// Transfer buffers one pipeline link needs: as many messages as it can have
// in use at once (kPipelineQueueDepth queued, one held by the receiving stage
// while it computes), or one per micro-batch when a run has fewer.
inline int transferBuffersPerLink(int microbatches)
{
    return std::clamp(microbatches, 1, kPipelineQueueDepth + 1);
}
// Bytes one tensor takes in a transfer buffer (each starts 64-byte aligned).
inline std::uint64_t transferBufferBytes(std::uint64_t tensorBytes)
{
    return (tensorBytes + 63) / 64 * 64;
}

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
    // After open(): messages on `links` (stage -> stage, opened) travel in
    // `buffersPerLink` buffers per link, made at the link's first message
    // (sized for it, each tensor transferBufferBytes()) and kept until the
    // next open(). send() copies the tensors into a buffer no tensor refers
    // to any more, so a link holds buffersPerLink x message bytes however
    // the stages' timing falls. A message finding every buffer still in use
    // keeps its own tensors and counts as queued while it waits. The default
    // keeps every message in its own tensors (no buffers).
    virtual void useTransferBuffers(const std::vector<std::pair<int, int>> &links,
                                    int buffersPerLink);
    virtual Status send(int from, int to, TransportMessage message, const CancelToken *cancel) = 0;
    virtual Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) = 0;
    // Waits until the messages `from` sent have left this process (MPI:
    // pending non-blocking sends completed). In-process: nothing to wait for.
    virtual Status drain(int from, const CancelToken *cancel);
    virtual void shutdown() = 0;

    // Most bytes held at once for links into `stage` since open() (measured):
    // the links' transfer buffers and the messages queued in their own tensors.
    virtual std::uint64_t peakQueuedBytes(int stage) const = 0;

    // Tensor-parallel collectives over a group of stages (ranks).
    virtual Status allReduceSum(const std::vector<int> &group, int rank, Tensor &tensor,
                                const CancelToken *cancel);
    virtual Result<Tensor> allGather(const std::vector<int> &group, int rank, const Tensor &tensor,
                                     int axis, const CancelToken *cancel);
};

// Stages in one process: a bounded queue per link. Tensors are handed over,
// not copied (a tensor sent to several stages is shared by them, read-only),
// except on links given transfer buffers, where they are copied into one.
class InProcessTransport final : public Transport
{
public:
    Status open(int stageCount, const std::vector<std::pair<int, int>> &links) override;
    void useTransferBuffers(const std::vector<std::pair<int, int>> &links,
                            int buffersPerLink) override;
    Status send(int from, int to, TransportMessage message, const CancelToken *cancel) override;
    Result<TransportMessage> receive(int from, int to, const CancelToken *cancel) override;
    void shutdown() override;
    std::uint64_t peakQueuedBytes(int stage) const override;

private:
    struct Queued
    {
        TransportMessage message;
        std::uint64_t countedBytes = 0; // in m_queuedBytes while queued (0: in a buffer)
    };
    struct Link
    {
        std::deque<Queued> queue;
        // Wakes this link's sender or receiver only (at most one of them
        // waits: the queue is full or empty), not every blocked stage.
        std::condition_variable changed;
        int bufferCount = 0; // 0: messages keep their own tensors
        // Free when only this list refers to it (no queued or received
        // tensor views it any more).
        std::vector<std::shared_ptr<Tensor>> buffers;
    };
    // A buffer of `link` free for a message of `bytes` (grown when smaller),
    // made with the link's others at its first message; null when every
    // buffer is in use or the link has none. Called with m_mutex held.
    std::shared_ptr<Tensor> freeBuffer(Link &link, int to, std::uint64_t bytes);
    void countHeld(int to, std::uint64_t bytes); // m_mutex held
    mutable std::mutex m_mutex;
    std::map<std::pair<int, int>, Link> m_links;
    std::vector<std::uint64_t> m_queuedBytes; // per destination stage
    std::vector<std::uint64_t> m_peakBytes;
    bool m_shutdown = false;
};

} // namespace sb::runtime
