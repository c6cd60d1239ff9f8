// Dynamic batcher: requests wait in one bounded queue; a worker thread takes
// the oldest, waits up to max-delay for more requests with the same input
// signature (dtype and every dim but the batch dim), concatenates them along
// dim 0 up to max-batch rows, runs the engine once and splits the outputs
// back to each caller in order. The engine is taken from `source` per batch,
// so a hot swap never fails a batch in flight (it finishes on the engine it
// started with).
//
// Failures: when a merged batch fails, each of its requests is run alone, so
// only the request that breaks the model gets the error (HTTP 500); the
// worker keeps serving.
#pragma once

#include "core/common/result.h"
#include "core/serve/engine.h"
#include "core/serve/metrics.h"

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace sb::serve {

struct BatcherOptions
{
    int maxBatch = 8;        // rows per engine run (1 = no batching)
    double maxDelayMs = 2.0; // how long the oldest request waits for company
    int maxQueue = 256;      // requests waiting; more are refused (503)
};

struct InferenceJob
{
    std::string requestId;
    runtime::TensorMap inputs;
    std::int64_t rows = 1;
    std::chrono::steady_clock::time_point enqueued = std::chrono::steady_clock::now();
};

struct JobOutcome
{
    bool ok = false;
    std::string error;
    runtime::TensorMap outputs;
    std::shared_ptr<const Engine> engine; // the version that answered
    double queueUs = 0;
    double computeUs = 0;
};

using EngineSource = std::function<std::shared_ptr<const Engine>()>;
// Called on the worker thread after each answered request (monitoring).
using JobObserver = std::function<void(const InferenceJob &, const JobOutcome &)>;

class Batcher
{
public:
    Batcher(BatcherOptions options, EngineSource source, ServeMetrics &metrics,
            JobObserver observer = {});
    ~Batcher();
    Batcher(const Batcher &) = delete;
    Batcher &operator=(const Batcher &) = delete;

    // Conflict when the queue is full or the batcher stopped (HTTP 503).
    Result<std::future<JobOutcome>> submit(InferenceJob job);
    int queueDepth() const;
    // Answers what is queued with an error and joins the worker.
    void stop();

private:
    struct Pending
    {
        InferenceJob job;
        std::string signature;
        std::promise<JobOutcome> promise;
    };
    void loop();
    void runBatch(std::vector<Pending> &batch);
    void runOne(const std::shared_ptr<const Engine> &engine, Pending &pending);

    BatcherOptions m_options;
    EngineSource m_source;
    ServeMetrics &m_metrics;
    JobObserver m_observer;
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::deque<Pending> m_queue;
    bool m_stopping = false;
    std::thread m_worker;
};

// Concatenates tensors of equal dtype and trailing dims along dim 0.
runtime::Tensor concatRows(const std::vector<const runtime::Tensor *> &parts);
// Rows [begin, begin + count) of a tensor along dim 0 (a copy).
runtime::Tensor sliceRows(const runtime::Tensor &tensor, std::int64_t begin, std::int64_t count);

} // namespace sb::serve
