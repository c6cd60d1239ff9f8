#include "core/runtime/pipeline_transport.h"

#include "core/runtime/tensor_parallel.h"

#include <algorithm>
#include <chrono>

namespace sb::runtime {

namespace {
// How often blocked calls look at their cancel token.
constexpr auto kPollInterval = std::chrono::milliseconds(5);
} // namespace

std::uint64_t TransportMessage::bytes() const
{
    std::uint64_t total = 0;
    for (const auto &[name, tensor] : tensors)
        total += tensor.byteSize();
    return total;
}

Status Transport::drain(int, const CancelToken *)
{
    return {};
}

Status Transport::allReduceSum(const std::vector<int> &group, int rank, Tensor &tensor,
                               const CancelToken *cancel)
{
    return pointToPointAllReduceSum(*this, group, rank, tensor, cancel);
}

Result<Tensor> Transport::allGather(const std::vector<int> &group, int rank, const Tensor &tensor,
                                    int axis, const CancelToken *cancel)
{
    return pointToPointAllGather(*this, group, rank, tensor, axis, cancel);
}

Status InProcessTransport::open(int stageCount, const std::vector<std::pair<int, int>> &links)
{
    std::lock_guard lock(m_mutex);
    m_links.clear();
    for (const auto &link : links) {
        if (link.first < 0 || link.second < 0 || link.first >= stageCount ||
            link.second >= stageCount || link.first == link.second)
            return makeError(ErrorCode::Internal, "transport link " + std::to_string(link.first) +
                                                      " -> " + std::to_string(link.second) +
                                                      " is not between two stages");
        m_links[link];
    }
    m_queuedBytes.assign(static_cast<std::size_t>(stageCount), 0);
    m_peakBytes.assign(static_cast<std::size_t>(stageCount), 0);
    m_shutdown = false;
    return {};
}

Status InProcessTransport::send(int from, int to, TransportMessage message,
                                const CancelToken *cancel)
{
    std::unique_lock lock(m_mutex);
    auto it = m_links.find({from, to});
    if (it == m_links.end())
        return makeError(ErrorCode::Internal,
                         "no transport link " + std::to_string(from) + " -> " + std::to_string(to));
    Link &link = it->second;
    while (!m_shutdown && static_cast<int>(link.queue.size()) >= kPipelineQueueDepth) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "cancelled while sending");
        m_changed.wait_for(lock, kPollInterval);
    }
    if (m_shutdown)
        return makeError(ErrorCode::Cancelled, "transport shut down");
    // Messages from the driver (endpoints after the stages) carry views of the
    // caller's inputs, no memory of the stage: only stage -> stage counts.
    const auto stage = static_cast<std::size_t>(to);
    if (from < to) {
        m_queuedBytes[stage] += message.bytes();
        m_peakBytes[stage] = std::max(m_peakBytes[stage], m_queuedBytes[stage]);
    }
    link.queue.push_back(std::move(message));
    m_changed.notify_all();
    return {};
}

Result<TransportMessage> InProcessTransport::receive(int from, int to, const CancelToken *cancel)
{
    std::unique_lock lock(m_mutex);
    auto it = m_links.find({from, to});
    if (it == m_links.end())
        return makeError(ErrorCode::Internal,
                         "no transport link " + std::to_string(from) + " -> " + std::to_string(to));
    Link &link = it->second;
    while (!m_shutdown && link.queue.empty()) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "cancelled while receiving");
        m_changed.wait_for(lock, kPollInterval);
    }
    if (link.queue.empty())
        return makeError(ErrorCode::Cancelled, "transport shut down");
    TransportMessage message = std::move(link.queue.front());
    link.queue.pop_front();
    if (from < to)
        m_queuedBytes[static_cast<std::size_t>(to)] -= message.bytes();
    m_changed.notify_all();
    return message;
}

void InProcessTransport::shutdown()
{
    std::lock_guard lock(m_mutex);
    m_shutdown = true;
    for (auto &[key, link] : m_links)
        link.queue.clear();
    m_changed.notify_all();
}

std::uint64_t InProcessTransport::peakQueuedBytes(int stage) const
{
    std::lock_guard lock(m_mutex);
    const auto index = static_cast<std::size_t>(stage);
    return index < m_peakBytes.size() ? m_peakBytes[index] : 0;
}

} // namespace sb::runtime
