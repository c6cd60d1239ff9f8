// Executor: runs a whole graph, or a subgraph (a pipeline stage: a set of
// NodeIds), on one Device.
//
// Contract:
//  - Stage inputs are the non-constant values the stage's nodes consume but
//    do not produce; stage outputs are the values they produce that a node
//    outside the stage or the graph's outputs need. For a whole graph these
//    are the graph's inputs and outputs. Names are the graph's value names.
//  - Creation copies the selected nodes into a private graph, folds constant
//    subexpressions and applies the fusion passes (ExecutorOptions::fuse);
//    the caller's graph is never modified.
//  - Shapes are resolved at run time from the actual inputs: shape
//    arithmetic (Shape/Gather/Unsqueeze/Concat/Cast...) really executes.
//  - Memory: the first run for an input-shape signature (types + dims of all
//    inputs) allocates from the heap and records every activation's size;
//    from these and the liveness the planner computes one arena layout,
//    cached per signature (like ONNX Runtime's memory patterns). plan() does
//    that ahead of a run with zero-filled inputs. Later runs with the same
//    signature use the arena (arenas are pooled, one per concurrent run).
//  - run() is thread-safe: several threads may run one Executor at once
//    (micro-batches of different sizes included). Kernels use the device's
//    thread pool.
//  - Errors: wrong/missing inputs -> InvalidInput naming the input; an op,
//    attribute or type not implemented -> Unsupported naming it; a cancel ->
//    Cancelled (checked between nodes).
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/device.h"
#include "core/runtime/tensor.h"

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace sb::runtime {

using TensorMap = std::map<std::string, Tensor>;

struct ExecutorOptions
{
    KernelVariant variant = KernelVariant::Fast; // Reference = run the oracle kernels
    bool fuse = true;          // bias+activation, LayerNorm, GELU, residual-add fusion passes
    bool foldConstants = true; // evaluate constant-only nodes once at creation
    bool planMemory = true;    // arena with liveness reuse (false: heap per tensor)
    // With fuse: int8 values between int8 kernels stored channels-last
    // (FusionOptions::int8ChannelsLast); SHARDBENCH_INT8_CHANNELS_LAST=0 in
    // the environment also turns it off (A/B timing).
    bool int8ChannelsLast = true;
    // With fuse, on CPU devices with the fast kernels: float32 values between
    // convolutions and pools stored channels-last
    // (FusionOptions::floatChannelsLast); SHARDBENCH_FLOAT_CHANNELS_LAST=0
    // turns it off the same way.
    bool floatChannelsLast = true;
};

// One executed node, for timing hooks and traces.
struct NodeEvent
{
    graph::NodeId node = graph::kNoNode; // id in the executor's private graph
    const std::string *name = nullptr;   // node name (fused nodes keep the first name)
    const std::string *opType = nullptr;
    // The implementation that ran when the kernel names it (KernelState), e.g.
    // "oneDNN brg:avx512_core"; null otherwise.
    const char *kernel = nullptr;
    double startMs = 0; // since the run started
    double endMs = 0;
};

struct RunOptions
{
    const CancelToken *cancel = nullptr;
    std::function<void(const NodeEvent &)> onNode; // called after each node, on the run's thread
};

struct RunStats
{
    double wallMs = 0;
    // Activation bytes (excludes weights and caller-owned inputs).
    std::uint64_t peakMemoryBytes = 0;        // measured: most bytes held at once by the allocator
    std::uint64_t plannedPeakMemoryBytes = 0; // the plan's arena size for this signature
    bool usedArena = false;                   // false on the first (recording) run of a signature
    // Non-CPU devices: nodes without a kernel there ran on the CPU, and the
    // bytes copied between host and device for them, for the inputs, outputs
    // and host-side shape arithmetic.
    int fallbackNodes = 0;
    std::uint64_t fallbackCopyBytes = 0;
    std::uint64_t transferBytes = 0; // all host<->device bytes of the run
};

struct RunResult
{
    TensorMap outputs;
    RunStats stats;
};

struct ValueSignature
{
    std::string name;
    ElementType type = ElementType::Undefined;
    Shape shape;
};

struct PlanSummary
{
    std::uint64_t plannedPeakMemoryBytes = 0; // arena size
    std::uint64_t lowerBoundBytes = 0;        // most bytes live at one step
    std::size_t buffers = 0;
};

class Executor
{
public:
    // Whole graph.
    static Result<std::unique_ptr<Executor>> create(std::shared_ptr<const graph::Graph> graph,
                                                    Device &device, ExecutorOptions options = {});
    // A stage: `nodes` are ids in `graph` (any order; executed topologically).
    static Result<std::unique_ptr<Executor>> create(std::shared_ptr<const graph::Graph> graph,
                                                    const std::vector<graph::NodeId> &nodes,
                                                    Device &device, ExecutorOptions options = {});
    ~Executor();

    const std::vector<std::string> &inputNames() const { return m_inputNames; }
    const std::vector<std::string> &outputNames() const { return m_outputNames; }
    // Declared info of an input/output (from the source graph; may be symbolic).
    const graph::TensorInfo &valueInfo(const std::string &name) const;
    Device &device() const { return m_device; }
    // The graph actually executed (after folding and fusion).
    const graph::Graph &executedGraph() const { return *m_graph; }
    std::size_t executedNodeCount() const;
    // The nodes that run (folded constants excluded), in order, with the
    // kernel each runs: what the cost model prices (core/plan/predict.h).
    struct ExecutedStep
    {
        graph::NodeId node = graph::kNoNode; // id in executedGraph()
        const KernelInfo *kernel = nullptr;
        // The kernel's per-session state: which implementation it chose and
        // that one's scratch, once a run made the choice (KernelState).
        const KernelState *state = nullptr;
    };
    std::vector<ExecutedStep> executedSteps() const;
    // The shape of a value of executedGraph() that is a constant (an
    // initializer or folded at creation); nullopt for values computed per run.
    std::optional<Shape> constantShape(graph::ValueId value) const;
    // Bytes the kernels keep for the session besides the graph's weights
    // (weights reordered into oneDNN's blocked layouts; KernelState).
    std::uint64_t kernelStateBytes() const;

    // Checks every node against the device's registry; the first problems found.
    std::vector<std::string> unsupportedReasons() const;

    // Outputs come back planar: one its producer stored channels-last
    // (kernels/cpu/channels_last.h) is transposed into a new tensor.
    Result<RunResult> run(const TensorMap &inputs, const RunOptions &options = {}) const;
    // Plans memory for these input shapes (runs once on zero inputs if the
    // signature is new). Cached.
    Result<PlanSummary> plan(const std::vector<ValueSignature> &inputs) const;

private:
    struct Impl;
    explicit Executor(Device &device);
    Device &m_device;
    std::shared_ptr<graph::Graph> m_graph;
    std::vector<std::string> m_inputNames;
    std::vector<std::string> m_outputNames;
    std::unique_ptr<Impl> m_impl;
};

} // namespace sb::runtime
