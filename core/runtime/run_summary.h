// One summary of timed runs, shared by `bench`, `run`, the GUI's Run page and
// the store, so a plan measured in either front end reports the same figures
// under the same definitions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace sb::runtime {

// (p - 1) / (M + p - 1): the idle fraction of a p-stage GPipe-style schedule
// with M equal micro-batches and free transfers (fill and drain only).
[[nodiscard]] double idealBubbleFraction(int stages, int microbatches);

// sum over stages of max(0, wall - busy) / (stages * wall): the bubble
// fraction of a schedule whose stages computed for `stageBusyMs` within
// `wallMs` (0 when there is nothing). The runtime's measured bubble, the
// schedule model's predicted one and the GUI's timeline all use it.
[[nodiscard]] double bubbleFraction(const std::vector<double> &stageBusyMs, double wallMs);

struct RunSummary
{
    int iterations = 0;     // timed iterations (warm-up excluded)
    std::int64_t batch = 0; // samples per iteration
    // Sum of the timed iterations' wall times: JSON `wall_ms`. Every
    // iteration and micro-batch latency lies within it (min <= p50 <= p90 <=
    // wall_ms) and throughput divides by it.
    double totalMs = 0;
    // batch * iterations / totalMs (samples/s): every sample of every timed
    // iteration over the time they took together.
    double throughput = 0;
    // Iteration wall time (one whole batch through every stage).
    double iterationMedianMs = 0, iterationP90Ms = 0, iterationMinMs = 0, iterationMeanMs = 0;
    // Latency of a micro-batch (first stage starts it -> last stage ends it)
    // over every micro-batch of every timed iteration; without micro-batches
    // (one device, whole batch) a latency is an iteration's wall time.
    double latencyP50Ms = 0, latencyP90Ms = 0, latencyP95Ms = 0, latencyP99Ms = 0;
};

// Percentiles use sb::percentile (linear interpolation, NumPy's default).
// `latencyMs` empty: the iteration times are the latencies.
[[nodiscard]] RunSummary summarizeRuns(std::int64_t batch, const std::vector<double> &iterationMs,
                                       const std::vector<double> &latencyMs = {});

// {median_ms, p90_ms, min_ms, throughput, wall_ms, iters, batch}: the
// iteration statistics `bench` prints, with and without --plan (median_ms,
// p90_ms, min_ms of the iterations' wall times; wall_ms their sum).
[[nodiscard]] nlohmann::json iterationSummaryJson(const RunSummary &summary);

} // namespace sb::runtime
