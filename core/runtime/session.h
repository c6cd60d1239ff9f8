// The steps `run` and `bench` share, callable from the pipeline runner and the
// GUI too: import a model, make a CPU device and an executor, run with timing.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/device.h"
#include "core/runtime/executor.h"
#include "core/runtime/run_summary.h"

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

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
    std::vector<double> iterationMs; // wall time of each timed run
    // summarizeRuns(batch, iterationMs): the figures every front end reports.
    RunSummary summary;
    std::uint64_t peakMemoryBytes = 0;
    std::uint64_t plannedPeakMemoryBytes = 0;
};

// Runs `warmup` untimed then `iters` timed runs of `batch` samples each;
// progress(i, iters) after each.
Result<TimingSummary> timeRuns(const Executor &executor, const TensorMap &inputs,
                               std::int64_t batch, int warmup, int iters,
                               const std::function<void(int, int)> &progress = {},
                               const CancelToken *cancel = nullptr);

// Where a run's time goes: mean milliseconds per run, per op type of the
// executed graph (after folding and fusion, so fused ops appear as
// sb.FusedConv etc.) and per node, each sorted slowest first. Node times are
// the executor's per-node wall times (kernel plus its allocation), so they
// add up to a little less than wallMsPerRun.
struct OpTypeProfile
{
    std::string opType;
    int nodes = 0; // executed nodes of this type
    double msPerRun = 0;
};
struct NodeProfile
{
    std::string name; // "#<id>" when the node has no name
    std::string opType;
    // The implementation that ran, when the kernel names it: "oneDNN
    // <impl>:<isa>" or "ours <algorithm> <isa>"; empty otherwise.
    std::string kernel;
    double msPerRun = 0;
};
struct RunProfile
{
    int runs = 0;
    double wallMsPerRun = 0;
    std::vector<OpTypeProfile> byOpType;
    std::vector<NodeProfile> byNode;
};

// Runs `warmup` untimed then `iters` profiled runs.
Result<RunProfile> profileRuns(const Executor &executor, const TensorMap &inputs, int warmup,
                               int iters, const CancelToken *cancel = nullptr);

} // namespace sb::runtime
