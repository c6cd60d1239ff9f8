#include "core/serve/metrics.h"

#include "core/common/stats.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace sb::serve {

namespace {

constexpr double kRecentSeconds = 5.0;

std::vector<double> latencyBucketsUs()
{
    return {100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000};
}

std::string number(double v)
{
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "%.17g", v);
    return buffer;
}

std::string withLabels(const std::string &labels, const std::string &extra)
{
    if (labels.empty())
        return extra;
    return extra.empty() ? labels : labels + "," + extra;
}

std::string escapeLabel(const std::string &text)
{
    std::string out;
    for (char c : text) {
        if (c == '\\' || c == '"')
            out += '\\';
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        out += c;
    }
    return out;
}

} // namespace

Histogram::Histogram(std::vector<double> upperBounds)
    : m_bounds(std::move(upperBounds)), m_counts(m_bounds.size() + 1, 0)
{}

void Histogram::observe(double value)
{
    std::lock_guard lock(m_mutex);
    auto it = std::lower_bound(m_bounds.begin(), m_bounds.end(), value);
    ++m_counts[static_cast<std::size_t>(it - m_bounds.begin())];
    m_sum += value;
    ++m_count;
}

std::uint64_t Histogram::count() const
{
    std::lock_guard lock(m_mutex);
    return m_count;
}

double Histogram::sum() const
{
    std::lock_guard lock(m_mutex);
    return m_sum;
}

void Histogram::render(std::string &out, const std::string &name, const std::string &labels) const
{
    std::lock_guard lock(m_mutex);
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < m_bounds.size(); ++i) {
        cumulative += m_counts[i];
        out += name + "_bucket{" + withLabels(labels, "le=\"" + number(m_bounds[i]) + "\"") + "} " +
               std::to_string(cumulative) + "\n";
    }
    cumulative += m_counts.back();
    out += name + "_bucket{" + withLabels(labels, "le=\"+Inf\"") + "} " +
           std::to_string(cumulative) + "\n";
    out += name + "_sum{" + labels + "} " + number(m_sum) + "\n";
    out += name + "_count{" + labels + "} " + std::to_string(m_count) + "\n";
}

ServeMetrics::ServeMetrics()
    : m_request(latencyBucketsUs()), m_queue(latencyBucketsUs()), m_compute(latencyBucketsUs()),
      m_batch({1, 2, 4, 8, 16, 32, 64, 128, 256})
{}

void ServeMetrics::recordSuccess(double requestUs)
{
    ++m_success;
    m_request.observe(requestUs);
    const auto now = Clock::now();
    m_lastInferenceMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::lock_guard lock(m_mutex);
    m_successUs += requestUs;
    m_recent.push_back({now, requestUs / 1e3});
    while (!m_recent.empty() &&
           std::chrono::duration<double>(now - m_recent.front().at).count() > kRecentSeconds)
        m_recent.pop_front();
    if (m_recent.size() > 100000)
        m_recent.pop_front();
}

void ServeMetrics::recordFailure(const std::string &reason, double requestUs)
{
    std::lock_guard lock(m_mutex);
    ++m_failures[reason];
    ++m_failureCount;
    m_failureUs += requestUs;
}

void ServeMetrics::recordQueue(double queueUs)
{
    m_queue.observe(queueUs);
    std::lock_guard lock(m_mutex);
    m_queueUs += queueUs;
    ++m_queueCount;
}

void ServeMetrics::recordBatch(std::int64_t rows, double computeUs,
                               const std::vector<double> &stageBusyMs,
                               const std::vector<std::string> &stageDevices)
{
    m_inferenceCount += static_cast<std::uint64_t>(rows);
    ++m_execCount;
    m_compute.observe(computeUs);
    m_batch.observe(static_cast<double>(rows));
    const auto now = Clock::now();
    std::lock_guard lock(m_mutex);
    auto &stat = m_batchStats[rows];
    ++stat.first;
    stat.second += computeUs;
    m_computeUs += computeUs;
    if (m_stageBusyUs.size() < stageBusyMs.size())
        m_stageBusyUs.resize(stageBusyMs.size(), 0.0);
    for (std::size_t s = 0; s < stageBusyMs.size(); ++s)
        m_stageBusyUs[s] += stageBusyMs[s] * 1e3;
    m_stageDevices = stageDevices;
    m_recentBatches.emplace_back(now, rows);
    while (!m_recentBatches.empty() &&
           std::chrono::duration<double>(now - m_recentBatches.front().first).count() >
               kRecentSeconds)
        m_recentBatches.pop_front();
}

std::string ServeMetrics::prometheusText(const std::string &model, const std::string &version) const
{
    const std::string labels =
        "model=\"" + escapeLabel(model) + "\",version=\"" + escapeLabel(version) + "\"";
    std::string out;
    out += "# HELP nv_inference_request_success Number of successful inference requests\n"
           "# TYPE nv_inference_request_success counter\n";
    out += "nv_inference_request_success{" + labels + "} " + std::to_string(m_success) + "\n";
    out += "# HELP nv_inference_request_failure Number of failed inference requests by reason\n"
           "# TYPE nv_inference_request_failure counter\n";
    {
        std::lock_guard lock(m_mutex);
        std::map<std::string, std::uint64_t> failures = m_failures;
        for (const char *reason : {"REJECTED", "CANCELED", "BACKEND", "OTHER"})
            failures.try_emplace(reason, 0);
        for (const auto &[reason, count] : failures)
            out += "nv_inference_request_failure{" + labels + ",reason=\"" + reason + "\"} " +
                   std::to_string(count) + "\n";
    }
    out += "# HELP nv_inference_count Number of inferences (rows) performed\n"
           "# TYPE nv_inference_count counter\n";
    out += "nv_inference_count{" + labels + "} " + std::to_string(m_inferenceCount) + "\n";
    out += "# HELP nv_inference_exec_count Number of model executions (batches)\n"
           "# TYPE nv_inference_exec_count counter\n";
    out += "nv_inference_exec_count{" + labels + "} " + std::to_string(m_execCount) + "\n";
    out += "# HELP nv_inference_pending_request_count Requests waiting in the queue\n"
           "# TYPE nv_inference_pending_request_count gauge\n";
    out += "nv_inference_pending_request_count{" + labels + "} " +
           std::to_string(m_queueDepth.load()) + "\n";
    out += "# HELP nv_inference_request_duration_us End-to-end request duration\n"
           "# TYPE nv_inference_request_duration_us histogram\n";
    m_request.render(out, "nv_inference_request_duration_us", labels);
    out += "# HELP nv_inference_queue_duration_us Time a request waited for its batch\n"
           "# TYPE nv_inference_queue_duration_us histogram\n";
    m_queue.render(out, "nv_inference_queue_duration_us", labels);
    out += "# HELP nv_inference_compute_infer_duration_us Engine time per batch\n"
           "# TYPE nv_inference_compute_infer_duration_us histogram\n";
    m_compute.render(out, "nv_inference_compute_infer_duration_us", labels);
    out += "# HELP sb_inference_batch_size Rows per engine run (dynamic batching)\n"
           "# TYPE sb_inference_batch_size histogram\n";
    m_batch.render(out, "sb_inference_batch_size", labels);
    out += "# HELP sb_stage_busy_us_total Compute time per pipeline stage\n"
           "# TYPE sb_stage_busy_us_total counter\n";
    {
        std::lock_guard lock(m_mutex);
        for (std::size_t s = 0; s < m_stageBusyUs.size(); ++s)
            out += "sb_stage_busy_us_total{" + labels + ",stage=\"" + std::to_string(s) +
                   "\",device=\"" +
                   escapeLabel(s < m_stageDevices.size() ? m_stageDevices[s] : "") + "\"} " +
                   number(m_stageBusyUs[s]) + "\n";
    }
    out += "# HELP sb_monitor_windows_total Monitoring windows closed\n"
           "# TYPE sb_monitor_windows_total counter\n";
    out += "sb_monitor_windows_total{" + labels + "} " + std::to_string(m_windows) + "\n";
    out += "# HELP sb_monitor_alerts_total Trigger alerts raised\n"
           "# TYPE sb_monitor_alerts_total counter\n";
    out += "sb_monitor_alerts_total{" + labels + "} " + std::to_string(m_alerts) + "\n";
    return out;
}

nlohmann::json ServeMetrics::statisticsJson(const std::string &model,
                                            const std::string &version) const
{
    using nlohmann::json;
    auto stat = [](std::uint64_t count, double us) {
        return json{{"count", count}, {"ns", static_cast<std::uint64_t>(us * 1e3)}};
    };
    std::lock_guard lock(m_mutex);
    json batches = json::array();
    for (const auto &[rows, entry] : m_batchStats)
        batches.push_back(
            {{"batch_size", rows}, {"compute_infer", stat(entry.first, entry.second)}});
    json stages = json::array();
    for (std::size_t s = 0; s < m_stageBusyUs.size(); ++s)
        stages.push_back({{"stage", s},
                          {"device", s < m_stageDevices.size() ? m_stageDevices[s] : ""},
                          {"busy_ns", static_cast<std::uint64_t>(m_stageBusyUs[s] * 1e3)}});
    json model_stat = {{"name", model},
                       {"version", version},
                       {"last_inference", m_lastInferenceMs.load()},
                       {"inference_count", m_inferenceCount.load()},
                       {"execution_count", m_execCount.load()},
                       {"inference_stats",
                        {{"success", stat(m_success, m_successUs)},
                         {"fail", stat(m_failureCount, m_failureUs)},
                         {"queue", stat(m_queueCount, m_queueUs)},
                         {"compute_infer", stat(m_execCount, m_computeUs)}}},
                       {"batch_stats", batches},
                       {"stage_stats", stages}};
    return json{{"model_stats", json::array({model_stat})}};
}

MetricsSnapshot ServeMetrics::snapshot() const
{
    MetricsSnapshot snap;
    const auto now = Clock::now();
    snap.uptimeSeconds = std::chrono::duration<double>(now - m_started).count();
    snap.success = m_success;
    snap.queueDepth = m_queueDepth;
    snap.windows = m_windows;
    snap.alerts = m_alerts;
    std::lock_guard lock(m_mutex);
    snap.failure = m_failureCount;
    snap.failuresByReason = m_failures;
    std::vector<double> latencies;
    std::size_t recentCount = 0;
    for (const auto &r : m_recent)
        if (std::chrono::duration<double>(now - r.at).count() <= kRecentSeconds) {
            latencies.push_back(r.latencyMs);
            ++recentCount;
        }
    const double span = std::min(kRecentSeconds, std::max(snap.uptimeSeconds, 1e-3));
    snap.requestsPerSecond = static_cast<double>(recentCount) / span;
    if (!latencies.empty()) {
        snap.latencyP50Ms = percentile(latencies, 50);
        snap.latencyP99Ms = percentile(latencies, 99);
    }
    double rows = 0;
    std::size_t runs = 0;
    for (const auto &[at, n] : m_recentBatches)
        if (std::chrono::duration<double>(now - at).count() <= kRecentSeconds) {
            rows += static_cast<double>(n);
            ++runs;
        }
    snap.meanBatchSize = runs ? rows / static_cast<double>(runs) : 0.0;
    return snap;
}

} // namespace sb::serve
