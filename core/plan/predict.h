// The cost model that predicts what the engine measures.
//
//  - Calibration (measureKernelRates): each kernel rate class
//    (runtime::KernelProfile, declared by the kernels in
//    kernels/cpu/profiles.cpp) is measured through the engine itself: a
//    one-node (or fused two-node) graph per class at two sizes, run by an
//    Executor on a CpuDevice with 1..N threads, median of several runs. The
//    two points give the class's fixed per-node time and its rate
//    (time = overhead + work / rate); a 1- and a 9-node chain of tiny nodes
//    give the executor's per-run and per-node overheads (every node is
//    priced with the latter beside its class time, which the probes are
//    fitted without). Stored in calibration.json ("cpu_kernel_rates").
//  - Per node (predictStage): the nodes the executor really runs (after
//    constant folding and fusion), each priced by the profile of the kernel
//    the executor picked for it, times the learned factor of its class; a
//    GEMM node's weights also at the calibrated cost of weights beyond the
//    cache (KernelRates::weightStream) for its stage's weight set, and, in
//    its contention, for that set together with the co-running stages'.
//  - Memory: the executor allocator's peak (outputs allocated when a node
//    runs, 64-byte aligned; the kernel's scratch (KernelProfile::scratchBytes:
//    what it takes through KernelContext::allocateScratch) held with them
//    until the node ends; inputs freed after their last reader), replayed
//    in the executor's order. The measured peak counts the same allocations.
//  - Pipeline (predictPipeline): stage times per micro-batch into the
//    schedule model (core/runtime/schedule_model.h), which gives wall time,
//    throughput, latencies and bubble as the runtime measures them; a stage's
//    peak memory is its activation peak plus the transfer buffers of its
//    inbound links (runtime::transferBuffersPerLink messages each, tensors
//    64-byte aligned: what the in-process transport allocates).
//  - Learning (learnFromRun): measured / predicted compute of stored runs,
//    attributed to the classes in proportion to their predicted time,
//    folded into KernelRates::learned (bounded; see devices.h). A factor
//    may be learned per class ("conv.winograd"), per class and thread count
//    ("conv.winograd@2") or per class, thread count and size of the node's
//    work (learnedSizeKey, "conv.winograd@2/w12": a node of a batch-1
//    micro-batch runs less efficiently than the same node at batch 8); the
//    most specific one a node matches applies.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/cost/cost_model.h"
#include "core/plan/devices.h"
#include "core/plan/plan_file.h"
#include "core/plan/planner.h"
#include "core/runtime/executor.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/schedule_model.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::plan {

// The default class of kernels without a profile.
inline constexpr const char *kDefaultRateClass = "mem.elementwise";

struct KernelProbeOptions
{
    int maxThreads = 0; // 0: every hardware thread
    int repeats = 9;    // timed runs per probe (median)
    ProgressFn progress;
    const CancelToken *cancel = nullptr;
};
Result<KernelRates> measureKernelRates(const runtime::KernelRegistry &registry,
                                       const KernelProbeOptions &options = {});

// The schedule probe of calibrate (KernelRates::scheduleFactorFits, ...):
// `stages` 1-thread CPU stages of one Relu each, every (stage, micro-batch)
// spinning 1.5 ms of its thread's CPU time, 8 micro-batches; the median wall
// of the runner's run() over 9 runs after a warm-up, divided by the schedule
// model's wall for the same stage times on `cores` cores. Bounded to 0.5..2.
// measureKernelRates keeps the median of three such blocks.
Result<double> measureScheduleFactor(const runtime::KernelRegistry &registry, int stages, int cores,
                                     const CancelToken *cancel = nullptr);

// KernelRates::pipelineOverhead of `stages` stages: the same probe pipeline
// with nothing to compute, 1 micro-batch, medians of 15 runs after a
// warm-up: runMs = wall - the micro-batch's latency, handoffMs = latency /
// (stages - 1) (0 for one stage).
Result<KernelRates::PipelineOverhead>
measurePipelineOverhead(const runtime::KernelRegistry &registry, int stages,
                        const CancelToken *cancel = nullptr);

// Concrete shapes of the graph's values under the bindings, by value name.
using ValueShapes = std::map<std::string, runtime::Shape>;
Result<ValueShapes> valueShapesByName(const graph::Graph &graph, const cost::DimBindings &bindings);

struct NodePrediction
{
    std::string node; // executed node name (a fused node keeps its first node's name)
    std::string opType;
    std::string rateClass;
    std::string rateSource; // "calibrated conv.winograd, 1 thread(s)", "+ learned x1.08", "default"
    double work = 0;
    double seconds = 0;
    std::uint64_t scratchBytes = 0;
    // Of a GEMM node: its constant inputs' bytes, and what reading them
    // costs beyond the class rate (part of `seconds`): weightBytes x
    // KernelRates::weightStreamSecondsPerByte(the stage's weight set x its
    // cache share; see predictStage). Not scaled by a learned factor.
    std::uint64_t weightBytes = 0;
    double streamSeconds = 0;
};

// The learned-factor key of a node of `rateClass` on `threads` threads
// doing `work` units: "<class>@<threads>/w<b>", b = floor(log4(work))
// (sizes within a factor of 4 share one; work <= 1 is bucket 0).
std::string learnedSizeKey(const std::string &rateClass, int threads, double work);

// The path a layout variant of a class runs ("conv.pointwise" for
// "conv.pointwise.nhwc": channels-last operands, kernels/cpu/profiles.cpp);
// empty for any other class. A variant without a rate of its own is priced
// with its path's.
std::string layoutVariantBase(const std::string &rateClass);

struct StagePrediction
{
    std::vector<NodePrediction> nodes;
    double seconds = 0; // one executor run: nodes + output copy + run overhead
    // The executor's copy of the stage's outputs out of its arena (one
    // thread, at the calibrated mem.copy rate); part of `seconds`.
    double outputCopySeconds = 0;
    // Slowdown per other busy core while it computes: with b cores busy in
    // all (its own threads included) a stage of T threads runs at
    // (1 + contention (T - 1)) / (1 + contention (b - 1)) of `seconds`' speed.
    // From KernelRates::coRunSpeed of its nodes' classes, by their time.
    double contention = 0;
    // The constant inputs of its GEMM nodes, each counted once: the weights
    // a run streams through the caches (KernelRates::weightStream).
    std::uint64_t weightSetBytes = 0;
    std::uint64_t peakActivationBytes = 0; // the allocator's peak, kernel scratch included
    std::uint64_t peakScratchBytes = 0;    // the largest scratch of one node (part of the above)
    bool exact = true;                     // false when a shape was unknown
};

// Prices one executor's run for the shapes given (the micro-batch's).
// `cacheShare`: how many stages' weights take turns in the caches of the
// cores this one runs on (cacheShareOf; 1: its own alone); its GEMM nodes'
// weights are priced for a set of weightSetBytes x cacheShare.
// `coRunWeightBytes`: the weights the stages on the other cores stream while
// this one computes; with them its GEMMs' weights are priced for a set of
// the two together, which goes into `contention` (the schedule model slows
// the stage by it only while other stages compute).
StagePrediction predictStage(const runtime::Executor &executor, const ValueShapes &shapes,
                             const KernelRates &rates, int threads, double cacheShare = 1.0,
                             std::uint64_t coRunWeightBytes = 0);

// CPU stages of `cpuStageThreads` threads in all on `cores` cores: when they
// outnumber the cores they take turns on them (the runner's core gate), and
// each stage's weights share its cores' caches with the others' in turn:
// threads / cores; else 1.
double cacheShareOf(int cpuStageThreads, int cores);

struct PipelinePrediction
{
    std::vector<StagePrediction> stages; // per micro-batch
    runtime::SchedulePrediction schedule;
    std::vector<std::uint64_t> stagePeakMemoryBytes; // activations + inbound transfer buffers
    std::uint64_t peakMemoryBytes = 0;               // sum over stages
    int microbatches = 1;
};

struct PipelinePredictOptions
{
    std::int64_t batch = 1;
    int microbatches = 1; // effective (PipelineRunner::effectiveMicrobatches)
    std::map<std::string, std::int64_t> dims;
    int cores = 0;                    // 0: hardwareThreads()
    int iterations = 1;               // for the summary
    const DeviceSet *links = nullptr; // transfer times between stage devices (null: free)
};
// The runner's stage executors priced at the micro-batch size and put through
// the schedule model.
Result<PipelinePrediction> predictPipeline(const graph::Graph &graph,
                                           const runtime::PipelineRunner &runner,
                                           const KernelRates &rates,
                                           const PipelinePredictOptions &options);

// {"throughput", "latency_ms":{p50,p90}, "wall_ms", "bubble_fraction", "peak_memory_bytes",
//  "stages":[{compute_ms, compute_ms_per_microbatch, peak_memory_bytes, scratch_bytes}]}:
// the `predicted` object beside `measured` in plan/run JSON, under the same
// definitions (run_summary.h): wall_ms is the total of the predicted timed
// iterations; stages' compute_ms are of one iteration.
nlohmann::json predictionJson(const PipelinePrediction &prediction);

// Per source-graph node (indexed by NodeId): its prediction for one
// micro-batch on one CPU device of `threads` threads. A fused node's time is
// charged to the node whose name it keeps; the other nodes of the fusion and
// folded constants get 0 s and say so in rateSource.
Result<std::vector<NodePrediction>>
predictSourceNodes(std::shared_ptr<const graph::Graph> graph,
                   const runtime::KernelRegistry &registry, const KernelRates &rates, int threads,
                   std::int64_t microbatchSize, const std::map<std::string, std::int64_t> &dims);

// The planner's cost-model fields of `options` (nodeSeconds: each node's
// predicted seconds with its weights in cache, fused nodes charged to the
// node whose name they keep; nodeWeightBytes; streamSecondsPerByte, for
// stages sharing caches by `cacheShare`) for one micro-batch of
// options.batch / options.microbatches on one CPU device of `threads`
// threads.
[[nodiscard]] Status usePredictedCosts(PlannerOptions &options,
                                       std::shared_ptr<const graph::Graph> graph,
                                       const runtime::KernelRegistry &registry,
                                       const KernelRates &rates, int threads,
                                       double cacheShare = 1.0);

// The CPU kernel rates `calibrate` stored (empty when it never ran or the
// file has none: predictions then use the documented defaults).
KernelRates storedKernelRates(const std::filesystem::path &path = defaultCalibrationPath());

// The `predicted` object (predictionJson) of a plan on this machine: its
// stages' executors are created (nothing runs) and priced. Errors when a
// device of the plan is not local.
Result<nlohmann::json> predictPlan(std::shared_ptr<const graph::Graph> graph, const Plan &plan,
                                   const runtime::KernelRegistry &registry,
                                   const KernelRates &rates, std::int64_t batch, int microbatches,
                                   const std::map<std::string, std::int64_t> &dims);

// usePredictedCosts for these devices when every one is a local CPU device
// with the same thread count and the rates are calibrated (each device a
// stage: cacheShareOf their threads on this machine's); false, `options`
// untouched, otherwise (the planner then uses FLOPs / rate).
bool usePredictedCosts(PlannerOptions &options, std::shared_ptr<const graph::Graph> graph,
                       const DeviceSet &devices, const runtime::KernelRegistry &registry,
                       const KernelRates &rates);

// One stored run's evidence for learning: per stage, predicted and measured
// compute ms and the predicted seconds per class.
struct RunEvidence
{
    double predictedMs = 0;
    double measuredMs = 0;
    std::map<std::string, double> predictedByClass; // ms
};
RunEvidence evidenceOf(const PipelinePrediction &prediction,
                       const runtime::PipelineMetrics &measured);
// The evidence of a stored run record's `timings` when it carries the
// prediction made for it ({"predicted": predictionJson(...), "stages":
// [{"compute_ms"}]}); nullopt otherwise.
std::optional<RunEvidence> evidenceFromRecord(const nlohmann::json &timings);
// Folds evidence into rates.learned: per class, the time-weighted mean of
// measured / predicted over the runs, clamped to [kLearnedFactorMin,
// kLearnedFactorMax]. Returns class -> (old factor, new factor).
std::map<std::string, std::pair<double, double>>
learnFromRuns(KernelRates &rates, const std::vector<RunEvidence> &runs);

} // namespace sb::plan
