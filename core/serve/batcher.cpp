#include "core/serve/batcher.h"

#include <cstring>

namespace sb::serve {

namespace {

using Clock = std::chrono::steady_clock;

double microsSince(Clock::time_point start, Clock::time_point end)
{
    return std::chrono::duration<double, std::micro>(end - start).count();
}

std::string signatureOf(const runtime::TensorMap &inputs)
{
    std::string key;
    for (const auto &[name, tensor] : inputs) {
        key.append(name).append(":").append(std::to_string(static_cast<int>(tensor.type())));
        for (std::size_t d = 1; d < tensor.rank(); ++d)
            key.append(",").append(std::to_string(tensor.dim(d)));
        key.append(";");
    }
    return key;
}

} // namespace

runtime::Tensor concatRows(const std::vector<const runtime::Tensor *> &parts)
{
    runtime::Shape shape = parts.front()->shape();
    shape[0] = 0;
    for (const auto *part : parts)
        shape[0] += part->dim(0);
    runtime::Tensor out = runtime::Tensor::empty(parts.front()->type(), shape);
    auto *dst = static_cast<unsigned char *>(out.data());
    for (const auto *part : parts) {
        std::memcpy(dst, part->data(), part->byteSize());
        dst += part->byteSize();
    }
    return out;
}

runtime::Tensor sliceRows(const runtime::Tensor &tensor, std::int64_t begin, std::int64_t count)
{
    runtime::Shape shape = tensor.shape();
    const std::size_t rowBytes =
        shape[0] > 0 ? tensor.byteSize() / static_cast<std::size_t>(shape[0]) : 0;
    shape[0] = count;
    runtime::Tensor out = runtime::Tensor::empty(tensor.type(), shape);
    std::memcpy(out.data(),
                static_cast<const unsigned char *>(tensor.data()) +
                    rowBytes * static_cast<std::size_t>(begin),
                rowBytes * static_cast<std::size_t>(count));
    return out;
}

Batcher::Batcher(BatcherOptions options, EngineSource source, ServeMetrics &metrics,
                 JobObserver observer)
    : m_options(options), m_source(std::move(source)), m_metrics(metrics),
      m_observer(std::move(observer))
{
    m_options.maxBatch = std::max(1, m_options.maxBatch);
    m_options.maxQueue = std::max(1, m_options.maxQueue);
    m_worker = std::thread([this] { loop(); });
}

Batcher::~Batcher()
{
    stop();
}

Result<std::future<JobOutcome>> Batcher::submit(InferenceJob job)
{
    std::lock_guard lock(m_mutex);
    if (m_stopping)
        return makeError(ErrorCode::Conflict, "the server is shutting down");
    if (static_cast<int>(m_queue.size()) >= m_options.maxQueue)
        return makeError(ErrorCode::Conflict, "queue full (" + std::to_string(m_options.maxQueue) +
                                                  " requests waiting); retry later");
    Pending pending;
    pending.signature = signatureOf(job.inputs);
    pending.job = std::move(job);
    auto future = pending.promise.get_future();
    m_queue.push_back(std::move(pending));
    m_metrics.setQueueDepth(static_cast<int>(m_queue.size()));
    m_wake.notify_one();
    return future;
}

int Batcher::queueDepth() const
{
    std::lock_guard lock(m_mutex);
    return static_cast<int>(m_queue.size());
}

void Batcher::stop()
{
    {
        std::lock_guard lock(m_mutex);
        if (m_stopping && !m_worker.joinable())
            return;
        m_stopping = true;
    }
    m_wake.notify_all();
    if (m_worker.joinable())
        m_worker.join();
}

void Batcher::loop()
{
    std::unique_lock lock(m_mutex);
    for (;;) {
        m_wake.wait(lock, [&] { return m_stopping || !m_queue.empty(); });
        if (m_queue.empty() && m_stopping)
            return;
        // Gather a batch: the oldest request plus compatible ones, waiting up to
        // max-delay after the oldest arrived for the batch to fill.
        std::shared_ptr<const Engine> engine = m_source();
        const bool canMerge = engine && engine->batchable() && m_options.maxBatch > 1;
        const auto deadline =
            m_queue.front().job.enqueued +
            std::chrono::microseconds(static_cast<std::int64_t>(m_options.maxDelayMs * 1e3));
        std::vector<Pending> batch;
        std::int64_t rows = 0;
        auto take = [&] {
            for (auto it = m_queue.begin(); it != m_queue.end();) {
                const bool first = batch.empty();
                if (!first && (!canMerge || it->signature != batch.front().signature ||
                               rows + it->job.rows > m_options.maxBatch)) {
                    ++it;
                    continue;
                }
                rows += it->job.rows;
                batch.push_back(std::move(*it));
                it = m_queue.erase(it);
                if (!canMerge || rows >= m_options.maxBatch)
                    break;
            }
        };
        take();
        while (canMerge && rows < m_options.maxBatch && !m_stopping && Clock::now() < deadline) {
            m_wake.wait_until(lock, deadline);
            take();
        }
        m_metrics.setQueueDepth(static_cast<int>(m_queue.size()));
        lock.unlock();
        runBatch(batch);
        lock.lock();
    }
}

void Batcher::runOne(const std::shared_ptr<const Engine> &engine, Pending &pending)
{
    JobOutcome outcome;
    outcome.engine = engine;
    const auto started = Clock::now();
    outcome.queueUs = microsSince(pending.job.enqueued, started);
    m_metrics.recordQueue(outcome.queueUs);
    auto result = engine->run(pending.job.inputs);
    outcome.computeUs = microsSince(started, Clock::now());
    if (result) {
        m_metrics.recordBatch(pending.job.rows, outcome.computeUs, result->stageBusyMs,
                              engine->stageDevices());
        outcome.ok = true;
        outcome.outputs = std::move(result->outputs);
    } else {
        outcome.error = result.error().message;
    }
    if (m_observer)
        m_observer(pending.job, outcome);
    pending.promise.set_value(std::move(outcome));
}

void Batcher::runBatch(std::vector<Pending> &batch)
{
    std::shared_ptr<const Engine> engine = m_source();
    if (!engine) {
        for (auto &pending : batch) {
            JobOutcome outcome;
            outcome.error = "no model loaded";
            pending.promise.set_value(std::move(outcome));
        }
        return;
    }
    if (batch.size() == 1) {
        runOne(engine, batch.front());
        return;
    }
    const auto started = Clock::now();
    runtime::TensorMap merged;
    std::int64_t rows = 0;
    for (const auto &pending : batch)
        rows += pending.job.rows;
    for (const auto &[name, tensor] : batch.front().job.inputs) {
        std::vector<const runtime::Tensor *> parts;
        for (const auto &pending : batch)
            parts.push_back(&pending.job.inputs.at(name));
        merged[name] = concatRows(parts);
    }
    auto result = engine->run(merged);
    bool split = result.ok();
    if (split)
        for (const auto &[name, tensor] : result->outputs)
            split = split && tensor.rank() > 0 && tensor.dim(0) == rows;
    if (!split) {
        // Isolate the failure (or an output without a batch axis): one at a time.
        for (auto &pending : batch)
            runOne(engine, pending);
        return;
    }
    const double computeUs = microsSince(started, Clock::now());
    m_metrics.recordBatch(rows, computeUs, result->stageBusyMs, engine->stageDevices());
    std::int64_t offset = 0;
    for (auto &pending : batch) {
        JobOutcome outcome;
        outcome.ok = true;
        outcome.engine = engine;
        outcome.queueUs = microsSince(pending.job.enqueued, started);
        outcome.computeUs = computeUs;
        m_metrics.recordQueue(outcome.queueUs);
        for (const auto &[name, tensor] : result->outputs)
            outcome.outputs[name] = sliceRows(tensor, offset, pending.job.rows);
        offset += pending.job.rows;
        if (m_observer)
            m_observer(pending.job, outcome);
        pending.promise.set_value(std::move(outcome));
    }
}

} // namespace sb::serve
