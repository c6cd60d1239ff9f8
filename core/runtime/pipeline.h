// PipelineRunner: runs one model split into stages, each stage on its own
// device and thread with its own Executor, micro-batches streaming through.
//
// Structure (the same for threads and MPI ranks):
//  - PipelineRouting: which values go from the driver / a stage to which
//    stages, computed from the stages' node sets and executors' input and
//    output names. Endpoints are the stages 0..n-1 and the driver (n).
//  - StageWorker: one stage: receive (from the driver and earlier stages),
//    execute, send (to later stages and the driver), and at the end of a run
//    report its metrics to the driver as a Metrics message.
//  - PipelineDriver: feeds graph inputs (micro-batch slices) to the stages,
//    collects graph outputs and the stages' reports, and builds the
//    PipelineResult. Metrics come only from the reports, so the JSON of a run
//    is the same wherever its stages ran.
//  - PipelineRunner (in-process): the driver over in-process workers (one
//    thread each) and an InProcessTransport. MPI runs (core/plan/mpi_run.h,
//    shardbench-worker) put the same workers in ranks.
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
#include "core/runtime/thread_pool.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace sb::runtime {

// One device's part of a tensor-parallel stage: the shard graph it runs
// (core/plan/tensor_parallel.h builds them) and its stage nodes there.
struct TensorParallelShard
{
    Device *device = nullptr; // not owned
    std::shared_ptr<const graph::Graph> graph;
    std::vector<graph::NodeId> nodes; // ids in `graph`
};

struct PipelineStageSpec
{
    Device *device = nullptr;         // not owned; outlives the runner
    std::vector<graph::NodeId> nodes; // ids in the runner's graph
    // Empty: the stage runs `nodes` on `device`. Else a tensor-parallel group:
    // shards[0] runs on `device` (the stage endpoint: it receives, forwards
    // the inputs to the other shards and sends the outputs), the others on
    // helper endpoints after the driver; they meet in collectives.
    std::vector<TensorParallelShard> shards = {};
};

struct PipelineRunOptions
{
    int microbatches = 1;
    const CancelToken *cancel = nullptr;
    // Called on the stage's thread before each (stage, micro-batch) computes.
    // For progress, fault injection in tests and the synthetic stage work of
    // calibrate's schedule probe; an exception thrown here is reported as
    // that stage's error.
    std::function<void(int stage, int microbatch)> onStageStart;
    // Called on the stage's thread after each node of each (stage,
    // micro-batch): a per-node profile of a pipeline run, as the whole-graph
    // Executor's RunOptions::onNode gives one (event times are since that
    // executor run began). A tensor-parallel stage reports its own shard's
    // nodes, not its helpers'. Leave empty outside timing runs.
    std::function<void(int stage, int microbatch, const NodeEvent &event)> onNode;
};

struct StageMetrics
{
    std::string device;
    std::string host; // the host the stage ran on (gethostname; MPI: the --hosts name)
    int rank = 0;     // MPI rank (0 in-process)
    std::size_t nodes = 0;
    double computeMs = 0; // sum of executor runs
    double idleMs = 0;    // wall - compute: waiting for inputs, sending, bubbles
    // Measured: activations + inbound transfer buffers and queued tensors.
    std::uint64_t peakMemoryBytes = 0;
    std::uint64_t sentBytes = 0;
};

struct LinkMetrics
{
    int fromStage = 0;
    int toStage = 0;
    std::string from; // device ids
    std::string to;
    std::uint64_t bytes = 0;
    int messages = 0;
    double ms = 0; // time spent in send() on this link (hand-over + back-pressure)
};

struct TimelineEvent
{
    int stage = 0;
    int microbatch = 0;
    std::string kind;   // "compute", "receive", "send"
    double startMs = 0; // since the run started
    double endMs = 0;
};

struct PipelineMetrics
{
    int microbatches = 1;       // used
    std::string microbatchNote; // why fewer than requested, else empty
    // From the first stage starting to the last stage ending. The caller's
    // per-run latency also counts splitting the batch into micro-batches and
    // joining the outputs, so it is a little larger.
    double wallMs = 0;
    double bubbleFraction = 0;               // measured: sum idle / (stages * wall)
    double idealBubbleFraction = 0;          // (p-1) / (M+p-1)
    std::vector<double> microbatchLatencyMs; // first stage start -> last stage end
    std::vector<StageMetrics> stages;
    std::vector<LinkMetrics> links;
    std::vector<TimelineEvent> timeline;
};

struct PipelineResult
{
    TensorMap outputs;
    PipelineMetrics metrics;
};

// Routing of one pipeline. Stage inputs that are graph inputs come from the
// driver; graph outputs go to the driver; values crossing stages go straight
// from the producer to EVERY stage that reads them.
struct StageIo
{
    std::vector<std::string> hostInputs;               // graph inputs it reads (from the driver)
    std::map<int, std::vector<std::string>> fromStage; // source stage -> values
    std::map<int, std::vector<std::string>> toStage;   // destination stage -> values
    std::vector<std::string> graphOutputs;             // graph outputs it produces (to the driver)
};

struct PipelineRouting
{
    std::vector<StageIo> stages;
    std::vector<std::pair<int, int>> links; // endpoint pairs; the driver is endpoint stageCount()
    std::set<std::string> batchInputs;      // graph inputs split into micro-batches
    std::vector<std::string> passThroughOutputs; // graph outputs that are graph inputs
    // Tensor-parallel stages: stage -> the endpoints of its shards (the stage
    // itself first, then helper endpoints numbered after the driver).
    std::map<int, std::vector<int>> groups;
    int stageCount() const { return static_cast<int>(stages.size()); }
    int driver() const { return stageCount(); }
    int endpointCount() const; // stages, the driver, helper shards
    // The stage -> stage links micro-batches travel on (transfer buffers).
    std::vector<std::pair<int, int>> stageLinks() const;
};

// Numbers the helper endpoints of tensor-parallel stages (shardCounts[s] = 1
// for a plain stage) in stage order after the driver, and adds the links a
// group needs (stage -> helpers for the inputs, every pair for collectives).
void addTensorParallelGroups(PipelineRouting &routing, const std::vector<int> &shardCounts);

// Errors: a node in two stages or in none, a stage reading a value produced
// by a later stage. `inputNames` / `outputNames` are each stage executor's.
Result<PipelineRouting> routePipeline(const graph::Graph &graph,
                                      const std::vector<std::vector<graph::NodeId>> &stageNodes,
                                      const std::vector<std::vector<std::string>> &inputNames,
                                      const std::vector<std::vector<std::string>> &outputNames);

// The micro-batch count a run with `requested` would really use, and why not more.
int effectiveMicrobatches(const graph::Graph &graph, const PipelineRouting &routing,
                          const TensorMap &inputs, int requested, std::string *note);

// What a StageWorker reports to the driver after a run (travels as JSON text
// in a TransportMessage of kind Metrics).
struct StageReport
{
    int stage = 0;
    std::string device;
    std::string host;
    int rank = 0;
    std::size_t nodes = 0;
    double computeMs = 0;
    std::uint64_t peakActivationBytes = 0;
    std::uint64_t peakQueuedBytes = 0;
    std::uint64_t sentBytes = 0;
    std::vector<LinkMetrics> links; // to later stages
    std::vector<TimelineEvent> events;
};
nlohmann::json stageReportToJson(const StageReport &report);
Result<StageReport> stageReportFromJson(const std::string &text);

class StageWorker
{
public:
    StageWorker(int stage, const Executor &executor, StageIo io, std::size_t nodes);
    // Where the stage runs, for its report (default: this host, rank 0).
    void setPlace(std::string host, int rank);
    // A shard of a tensor-parallel stage: `group` are the shards' endpoints,
    // `index` this worker's position. Index 0 is the stage endpoint (it
    // forwards its inputs to the others); other indices are helpers, whose
    // endpoint is group[index]: they receive from group[0], compute and send
    // nothing else (their outputs equal the stage's).
    void setGroup(std::vector<int> group, int index);
    // Computes each micro-batch holding `units` of `gate` (not owned; null:
    // no gate). The wait for them is idle time, between the receive and the
    // compute events.
    void setCoreGate(ComputeGate *gate, int units);

    // One run of `microbatches` micro-batches, then the report to the driver.
    // Times are since `origin`. Errors are returned (the caller stops the
    // other endpoints); Cancelled when `stop` fires or the transport shuts down.
    Status run(Transport &transport, int driver, int microbatches, const CancelToken &stop,
               std::chrono::steady_clock::time_point origin,
               const std::function<void(int stage, int microbatch)> &onStageStart = {},
               const std::function<void(int stage, int microbatch, const NodeEvent &event)>
                   &onNode = {}) const;

private:
    int m_stage;
    const Executor &m_executor;
    StageIo m_io;
    std::size_t m_nodes;
    std::string m_host;
    int m_rank = 0;
    std::vector<int> m_group;
    int m_groupIndex = 0;
    ComputeGate *m_coreGate = nullptr;
    int m_coreUnits = 1;
};

class PipelineDriver
{
public:
    PipelineDriver(const graph::Graph &graph, const PipelineRouting &routing);
    // Feeds `inputs` split into `microbatches` (already effective) to the
    // stages and collects outputs and every stage's report. Returns when all
    // reports arrived, or the first transport error.
    Result<PipelineResult> run(Transport &transport, const TensorMap &inputs, int microbatches,
                               const CancelToken &stop,
                               std::chrono::steady_clock::time_point origin) const;

private:
    const graph::Graph &m_graph;
    const PipelineRouting &m_routing;
};

class PipelineRunner
{
public:
    // Creates one Executor per stage. Errors: an empty stage, a node in two
    // stages or in none, a stage reading a value produced by a later stage.
    // `coreCount`: the cores the stages share (coreSlots); 0: this machine's.
    static Result<std::unique_ptr<PipelineRunner>>
    create(std::shared_ptr<const graph::Graph> graph, std::vector<PipelineStageSpec> stages,
           ExecutorOptions executorOptions = {},
           std::shared_ptr<Transport> transport = std::make_shared<InProcessTransport>(),
           int coreCount = 0);
    ~PipelineRunner();

    std::size_t stageCount() const;
    const Executor &stageExecutor(std::size_t stage) const;
    const PipelineRouting &routing() const;
    // Stages reading each stage's outputs, for the GUI and tests.
    std::vector<std::vector<int>> stageConsumers() const;

    // The micro-batch count a run with `requested` would really use, and why not more.
    int effectiveMicrobatches(const TensorMap &inputs, int requested, std::string *note) const;

    // Cores the stages' threads may compute on at once: when the CPU stages'
    // threads outnumber the cores this machine offers (and no stage is
    // tensor-parallel), stages wait for a core (CoreGate, first come first
    // served) instead of time-sharing them; 0 when there is no such gate.
    int coreSlots() const;
    // Runs the batch through the stages, each on its own long-lived thread
    // (made by the first run). Runs of one runner are serialised.
    Result<PipelineResult> run(const TensorMap &inputs, const PipelineRunOptions &options) const;

private:
    struct Impl;
    PipelineRunner();
    std::unique_ptr<Impl> m_impl;
};

// Every field of the metrics, for the result file of an MPI job (rank 0 ->
// the launching CLI) and back.
nlohmann::json pipelineMetricsToJson(const PipelineMetrics &metrics);
Result<PipelineMetrics> pipelineMetricsFromJson(const nlohmann::json &doc);

// Timeline as Chrome trace JSON (opens in Perfetto / chrome://tracing): one
// thread per stage, "X" events per (stage, micro-batch, kind), times in us.
nlohmann::json chromeTraceJson(const PipelineMetrics &metrics);
// The GUI's timeline: {"version":1, "wall_ms", "microbatches", "stages":[{index, device,
// host, rank, nodes, compute_ms, idle_ms}], "events":[{stage, microbatch, kind, start_ms, end_ms}],
// "links":[{from_stage, to_stage, from, to, bytes, ms}]}.
nlohmann::json timelineJson(const PipelineMetrics &metrics);
// Writes the Chrome trace to `path` and the GUI timeline next to it
// (<stem>.timeline.json).
Status writeTrace(const PipelineMetrics &metrics, const std::filesystem::path &path);

} // namespace sb::runtime
