#include "core/runtime/run_summary.h"

#include "core/common/stats.h"

#include <algorithm>
#include <numeric>

namespace sb::runtime {

double idealBubbleFraction(int stages, int microbatches)
{
    if (stages <= 0 || microbatches <= 0)
        return 0;
    return static_cast<double>(stages - 1) / static_cast<double>(microbatches + stages - 1);
}

double bubbleFraction(const std::vector<double> &stageBusyMs, double wallMs)
{
    if (stageBusyMs.empty() || wallMs <= 0)
        return 0;
    double idle = 0;
    for (double busy : stageBusyMs)
        idle += std::max(0.0, wallMs - busy);
    return idle / (static_cast<double>(stageBusyMs.size()) * wallMs);
}

RunSummary summarizeRuns(std::int64_t batch, const std::vector<double> &iterationMs,
                         const std::vector<double> &latencyMs)
{
    RunSummary summary;
    summary.batch = batch;
    summary.iterations = static_cast<int>(iterationMs.size());
    if (iterationMs.empty())
        return summary;
    summary.totalMs = std::accumulate(iterationMs.begin(), iterationMs.end(), 0.0);
    summary.throughput = summary.totalMs > 0
                             ? static_cast<double>(batch) *
                                   static_cast<double>(summary.iterations) / (summary.totalMs / 1e3)
                             : 0.0;
    summary.iterationMedianMs = percentile(iterationMs, 50);
    summary.iterationP90Ms = percentile(iterationMs, 90);
    summary.iterationMinMs = *std::min_element(iterationMs.begin(), iterationMs.end());
    summary.iterationMeanMs = summary.totalMs / static_cast<double>(summary.iterations);
    const std::vector<double> &latencies = latencyMs.empty() ? iterationMs : latencyMs;
    summary.latencyP50Ms = percentile(latencies, 50);
    summary.latencyP90Ms = percentile(latencies, 90);
    summary.latencyP95Ms = percentile(latencies, 95);
    summary.latencyP99Ms = percentile(latencies, 99);
    return summary;
}

nlohmann::json iterationSummaryJson(const RunSummary &summary)
{
    return {{"median_ms", summary.iterationMedianMs},
            {"p90_ms", summary.iterationP90Ms},
            {"min_ms", summary.iterationMinMs},
            {"throughput", summary.throughput},
            {"wall_ms", summary.totalMs},
            {"iters", summary.iterations},
            {"batch", summary.batch}};
}

} // namespace sb::runtime
