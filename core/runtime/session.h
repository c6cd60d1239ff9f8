// The steps `run` and `bench` share, callable from the pipeline runner and the
// GUI too: import a model, make a CPU device and an executor, run with timing.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/device.h"
#include "core/runtime/executor.h"

#include <filesystem>
#include <memory>

namespace sb::runtime {

struct Session
{
    std::shared_ptr<graph::Graph> graph;
    std::unique_ptr<CpuDevice> device;
    std::unique_ptr<Executor> executor;
};

// Imports `model` (errors name the file) and builds an executor for the whole
// graph on a CPU device with `threads` threads (<= 0: every core).
Result<Session> openSession(const std::filesystem::path &model, const KernelRegistry &registry,
                            int threads, const ExecutorOptions &options = {});

struct TimingSummary
{
    double medianMs = 0, p90Ms = 0, minMs = 0, meanMs = 0;
    std::uint64_t peakMemoryBytes = 0;
    std::uint64_t plannedPeakMemoryBytes = 0;
    int iterations = 0;
};

// Runs `warmup` untimed then `iters` timed runs; progress(i, iters) after each.
Result<TimingSummary> timeRuns(const Executor &executor, const TensorMap &inputs, int warmup,
                               int iters, const std::function<void(int, int)> &progress = {},
                               const CancelToken *cancel = nullptr);

// Nearest-rank percentile of unsorted samples (p in [0, 100]).
double percentile(std::vector<double> samples, double p);

} // namespace sb::runtime
