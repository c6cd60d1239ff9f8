#include "core/runtime/pipeline_transport.h"

#include "core/runtime/tensor_parallel.h"

#include <algorithm>
#include <chrono>
#include <cstring>

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

void Transport::useTransferBuffers(const std::vector<std::pair<int, int>> &, int) {}

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

void InProcessTransport::useTransferBuffers(const std::vector<std::pair<int, int>> &links,
                                            int buffersPerLink)
{
    std::lock_guard lock(m_mutex);
    for (const auto &key : links)
        if (auto it = m_links.find(key); it != m_links.end() && key.first < key.second)
            it->second.bufferCount = std::max(1, buffersPerLink);
}

void InProcessTransport::countHeld(int to, std::uint64_t bytes)
{
    const auto stage = static_cast<std::size_t>(to);
    m_queuedBytes[stage] += bytes;
    m_peakBytes[stage] = std::max(m_peakBytes[stage], m_queuedBytes[stage]);
}

std::shared_ptr<Tensor> InProcessTransport::freeBuffer(Link &link, int to, std::uint64_t bytes)
{
    if (link.bufferCount == 0)
        return nullptr;
    const Shape shape{static_cast<std::int64_t>(bytes)};
    if (link.buffers.empty())
        for (int i = 0; i < link.bufferCount; ++i) {
            link.buffers.push_back(
                std::make_shared<Tensor>(Tensor::empty(ElementType::UInt8, shape)));
            countHeld(to, bytes);
        }
    for (const std::shared_ptr<Tensor> &buffer : link.buffers) {
        // Only this list refers to it: nobody else can take a reference
        // while m_mutex is held, so the count cannot rise under us.
        if (buffer.use_count() != 1)
            continue;
        const std::uint64_t capacity = buffer->byteSize();
        if (capacity < bytes) { // a larger message (dynamic shapes)
            *buffer = Tensor::empty(ElementType::UInt8, shape);
            countHeld(to, bytes - capacity);
        }
        return buffer;
    }
    return nullptr;
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
        link.changed.wait_for(lock, kPollInterval);
    }
    if (m_shutdown)
        return makeError(ErrorCode::Cancelled, "transport shut down");
    // Messages from the driver (endpoints after the stages) carry views of the
    // caller's inputs, no memory of the stage: only stage -> stage counts.
    std::uint64_t counted = 0;
    std::shared_ptr<Tensor> buffer;
    if (from < to) {
        bool copyable = message.kind == TransportMessage::Kind::Data;
        std::uint64_t bytes = 0;
        for (const auto &[name, tensor] : message.tensors) {
            copyable = copyable && tensor.isTensor() && tensor.isHost() &&
                       graph::elementSize(tensor.type()) > 0;
            bytes += transferBufferBytes(tensor.byteSize());
        }
        if (copyable)
            buffer = freeBuffer(link, to, bytes);
        if (!buffer) {
            counted = message.bytes();
            countHeld(to, counted);
        }
    }
    if (buffer) {
        // The copy runs unlocked: the buffer is this sender's (its count is
        // above one now), and the link has room (only this stage sends on it).
        lock.unlock();
        auto *at = static_cast<std::uint8_t *>(buffer->data());
        for (auto &[name, tensor] : message.tensors) {
            const std::size_t bytes = tensor.byteSize();
            if (bytes > 0)
                std::memcpy(at, tensor.data(), bytes);
            tensor = Tensor::view(tensor.type(), tensor.shape(), at, buffer);
            at += transferBufferBytes(bytes);
        }
        buffer.reset();
        lock.lock();
        if (m_shutdown)
            return makeError(ErrorCode::Cancelled, "transport shut down");
    }
    link.queue.push_back({std::move(message), counted});
    link.changed.notify_all();
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
        link.changed.wait_for(lock, kPollInterval);
    }
    if (link.queue.empty())
        return makeError(ErrorCode::Cancelled, "transport shut down");
    Queued queued = std::move(link.queue.front());
    link.queue.pop_front();
    m_queuedBytes[static_cast<std::size_t>(to)] -= queued.countedBytes;
    link.changed.notify_all();
    return std::move(queued.message);
}

void InProcessTransport::shutdown()
{
    std::lock_guard lock(m_mutex);
    m_shutdown = true;
    for (auto &[key, link] : m_links) {
        link.queue.clear();
        link.changed.notify_all();
    }
}

std::uint64_t InProcessTransport::peakQueuedBytes(int stage) const
{
    std::lock_guard lock(m_mutex);
    const auto index = static_cast<std::size_t>(stage);
    return index < m_peakBytes.size() ? m_peakBytes[index] : 0;
}

} // namespace sb::runtime
