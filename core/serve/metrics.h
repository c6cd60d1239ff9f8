// Live serving metrics: counters and histograms rendered as Prometheus text
// (names follow Triton's where one exists), the statistics extension JSON
// (GET /v2/models/{name}/stats) and snapshots for the GUI.
//
// Prometheus names:
//   nv_inference_request_success{model,version}             counter
//   nv_inference_request_failure{model,version,reason}      counter (reason: REJECTED,
//                                 CANCELED, BACKEND, OTHER, as in Triton)
//   nv_inference_count / nv_inference_exec_count            counters (rows / batches run)
//   nv_inference_request_duration_us                        histogram (whole request)
//   nv_inference_queue_duration_us                          histogram (waiting for a batch)
//   nv_inference_compute_infer_duration_us                  histogram (engine run per batch)
//   nv_inference_pending_request_count                      gauge (queue depth)
//   sb_inference_batch_size                                 histogram (rows per engine run)
//   sb_stage_busy_us_total{stage,device}                    counter (per pipeline stage)
//   sb_monitor_windows_total, sb_monitor_alerts_total       counters
#pragma once

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace sb::serve {

class Histogram
{
public:
    explicit Histogram(std::vector<double> upperBounds);
    void observe(double value);
    // Cumulative buckets in Prometheus text for metric `name` with `labels` ("a=\"b\"").
    void render(std::string &out, const std::string &name, const std::string &labels) const;
    std::uint64_t count() const;
    double sum() const;

private:
    std::vector<double> m_bounds;
    std::vector<std::uint64_t> m_counts; // per bucket (not cumulative) + overflow
    double m_sum = 0;
    std::uint64_t m_count = 0;
    mutable std::mutex m_mutex;
};

// What the GUI charts per refresh.
struct MetricsSnapshot
{
    double uptimeSeconds = 0;
    std::uint64_t success = 0, failure = 0;
    double requestsPerSecond = 0; // over the last window of samples (~5 s)
    double latencyP50Ms = 0, latencyP99Ms = 0;
    int queueDepth = 0;
    double meanBatchSize = 0; // rows per engine run over the last ~5 s
    std::map<std::string, std::uint64_t> failuresByReason;
    std::uint64_t windows = 0, alerts = 0;
};

class ServeMetrics
{
public:
    ServeMetrics();

    void recordSuccess(double requestUs);
    void recordFailure(const std::string &reason, double requestUs);
    void recordQueue(double queueUs);
    void recordBatch(std::int64_t rows, double computeUs, const std::vector<double> &stageBusyMs,
                     const std::vector<std::string> &stageDevices);
    void setQueueDepth(int depth) { m_queueDepth = depth; }
    void recordWindow() { ++m_windows; }
    void recordAlert() { ++m_alerts; }

    std::string prometheusText(const std::string &model, const std::string &version) const;
    // Triton's statistics extension: {"model_stats": [{name, version, ...}]}.
    nlohmann::json statisticsJson(const std::string &model, const std::string &version) const;
    MetricsSnapshot snapshot() const;

private:
    using Clock = std::chrono::steady_clock;
    Clock::time_point m_started = Clock::now();
    std::atomic<std::uint64_t> m_success{0}, m_inferenceCount{0}, m_execCount{0};
    std::atomic<std::uint64_t> m_windows{0}, m_alerts{0};
    std::atomic<int> m_queueDepth{0};
    std::atomic<std::int64_t> m_lastInferenceMs{0};
    Histogram m_request, m_queue, m_compute, m_batch;
    mutable std::mutex m_mutex; // guards the maps and recent samples below
    std::map<std::string, std::uint64_t> m_failures;
    std::map<std::int64_t, std::pair<std::uint64_t, double>> m_batchStats; // rows -> (count, us)
    std::vector<double> m_stageBusyUs;
    std::vector<std::string> m_stageDevices;
    double m_successUs = 0, m_failureUs = 0, m_queueUs = 0, m_computeUs = 0;
    std::uint64_t m_failureCount = 0, m_queueCount = 0;
    struct Recent
    {
        Clock::time_point at;
        double latencyMs;
    };
    std::deque<Recent> m_recent; // successful requests
    std::deque<std::pair<Clock::time_point, std::int64_t>> m_recentBatches;
};

} // namespace sb::serve
