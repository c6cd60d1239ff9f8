// PipelineRunner: runs one model split into stages, each stage on its own
// device and thread with its own Executor, micro-batches streaming through.
//
// Contract:
//  - Stages are given as node sets in stage order (every value a stage reads
//    is produced by an earlier stage, a graph input or a constant); the plan
//    module turns a plan file into this list (plan::pipelineStages).
//  - Every value crossing stages goes straight from its producer stage to
//    EVERY stage that reads it (not hop by hop), through the Transport.
//    Graph inputs are fed to each stage that reads them by the runner.
//  - Micro-batching splits every graph input whose dim 0 is the symbolic
//    batch into M equal slices along dim 0 and concatenates the graph outputs
//    back. It needs the batch to be symbolic all through the graph: when it is
//    baked in (cost::batchIsSymbolicThroughout false), when the batch does not
//    divide by M, or when a graph output has no batch axis, the run uses ONE
//    micro-batch and says why in PipelineMetrics::microbatchNote. Results
//    never depend on the split.
//  - Cancel: the caller's token is polled between nodes and while waiting on
//    the transport -> ErrorCode::Cancelled. An error or exception in one stage
//    stops every stage (transport shutdown) and run() returns that error.
//  - run() may be called repeatedly (benchmarks); not concurrently.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/device.h"
#include "core/runtime/executor.h"
#include "core/runtime/pipeline_transport.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sb::runtime {

struct PipelineStageSpec
{
    Device *device = nullptr;           // not owned; outlives the runner
    std::vector<graph::NodeId> nodes;   // ids in the runner's graph
};

struct PipelineRunOptions
{
    int microbatches = 1;
    const CancelToken *cancel = nullptr;
    // Called on the stage's thread before each (stage, micro-batch) computes.
    // For progress and fault injection in tests; an exception thrown here is
    // reported as that stage's error.
    std::function<void(int stage, int microbatch)> onStageStart;
};

struct StageMetrics
{
    std::string device;
    std::size_t nodes = 0;
    double computeMs = 0;        // sum of executor runs
    double idleMs = 0;           // wall - compute: waiting for inputs, sending, bubbles
    std::uint64_t peakMemoryBytes = 0;  // measured: activations + queued inbound tensors
    std::uint64_t sentBytes = 0;
};

struct LinkMetrics
{
    int fromStage = 0;
    int toStage = 0;
    std::string from;  // device ids
    std::string to;
    std::uint64_t bytes = 0;
    int messages = 0;
    double ms = 0;  // time spent in send() on this link (hand-over + back-pressure)
};

struct TimelineEvent
{
    int stage = 0;
    int microbatch = 0;
    std::string kind;  // "compute", "receive", "send"
    double startMs = 0;  // since the run started
    double endMs = 0;
};

struct PipelineMetrics
{
    int microbatches = 1;         // used
    std::string microbatchNote;   // why fewer than requested, else empty
    // From the first stage starting to the last stage ending. The caller's
    // per-run latency also counts splitting the batch into micro-batches and
    // joining the outputs, so it is a little larger.
    double wallMs = 0;
    double bubbleFraction = 0;    // measured: sum idle / (stages * wall)
    double idealBubbleFraction = 0;  // (p-1) / (M+p-1)
    std::vector<double> microbatchLatencyMs;  // first stage start -> last stage end
    std::vector<StageMetrics> stages;
    std::vector<LinkMetrics> links;
    std::vector<TimelineEvent> timeline;
};

struct PipelineResult
{
    TensorMap outputs;
    PipelineMetrics metrics;
};

class PipelineRunner
{
public:
    // Creates one Executor per stage. Errors: an empty stage, a node in two
    // stages or in none, a stage reading a value produced by a later stage.
    static Result<std::unique_ptr<PipelineRunner>>
    create(std::shared_ptr<const graph::Graph> graph, std::vector<PipelineStageSpec> stages,
           ExecutorOptions executorOptions = {},
           std::shared_ptr<Transport> transport = std::make_shared<InProcessTransport>());
    ~PipelineRunner();

    std::size_t stageCount() const;
    const Executor &stageExecutor(std::size_t stage) const;
    // Stages reading each stage's outputs, for the GUI and tests.
    std::vector<std::vector<int>> stageConsumers() const;

    // The micro-batch count a run with `requested` would really use, and why not more.
    int effectiveMicrobatches(const TensorMap &inputs, int requested, std::string *note) const;

    Result<PipelineResult> run(const TensorMap &inputs, const PipelineRunOptions &options) const;

private:
    struct Impl;
    PipelineRunner();
    std::unique_ptr<Impl> m_impl;
};

// Timeline as Chrome trace JSON (opens in Perfetto / chrome://tracing): one
// thread per stage, "X" events per (stage, micro-batch, kind), times in us.
nlohmann::json chromeTraceJson(const PipelineMetrics &metrics);
// The GUI's timeline: {"version":1, "wall_ms", "microbatches", "stages":[{index, device,
// nodes, compute_ms, idle_ms}], "events":[{stage, microbatch, kind, start_ms, end_ms}],
// "links":[{from_stage, to_stage, from, to, bytes, ms}]}.
nlohmann::json timelineJson(const PipelineMetrics &metrics);
// Writes the Chrome trace to `path` and the GUI timeline next to it
// (<stem>.timeline.json).
Status writeTrace(const PipelineMetrics &metrics, const std::filesystem::path &path);

} // namespace sb::runtime
