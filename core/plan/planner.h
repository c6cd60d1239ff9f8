// Auto-planner: split a model's topological order into contiguous stages, one
// per device, minimising the slowest stage (throughput) or the time through
// all stages (latency), under per-device memory caps and user pins.
//
// Written as numbered passes, each usable and tested alone:
//   1 collapseUnits      blocks -> planning units (contiguous runs of the
//                         topological order with one block and one pin)
//   2 buildPlannerInput  per-unit FLOPs/bytes/weights/liveness, cut bytes
//   3 solveSplit         exact dynamic programme over contiguous splits
//   4 lowerBound         what no plan can beat, for the reported gap
//   5 emitPlan           units + split -> Plan (assignment, pins, devices)
//   6 tensorParallelPlan  the same passes over groups of consecutive devices
//                         acting as one (a stage on a group is split across it,
//                         proposeSplits), checked by the validator's ledger
// autoPlan() runs 1-5, then 6 when the pipeline split is infeasible (a block
// larger than every device) or for the latency objective, and keeps the
// tensor-parallel plan when it is the only feasible one or when its
// validated estimate beats the pipeline's by more than 10 %.
//
// The search space (documented, and what the brute-force oracle enumerates):
// stages are contiguous ranges of planning units; stage k+1 runs on a device
// that comes LATER in the device list than stage k's device (devices keep the
// order the user gave; a device may be left unused). A segment may hold a
// pinned unit only on the device it is pinned to.
//
// Cost model the DP optimises, per stage s on device d covering units [i, j):
//   compute(s)  = sum FLOPs / rate(d) + sum bytes / bandwidth(d)
//   transfer(s) = cut(i) / linkBandwidth(prev, d) + linkLatency(prev, d)
//                 (0 for the first stage); cut(i) is every activation produced
//                 before unit i and read at or after it, i.e. all traffic
//                 entering the stage, even values routed from older stages.
//   time(s)     = compute(s) + transfer(s)
//   memory(s)   = weights(i..j) + max live bytes in [i, j) + max workspace
//                 + kTransferBuffersCharged * cut(i) + kTransferQueueDepth * cut(j)
//                 <= capacity(d)
//   throughput objective = max_s time(s); latency objective = sum_s time(s).
// The memory model is conservative: it never under-counts the validator's
// per-device ledger, so an emitted plan always passes the memory check.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/devices.h"
#include "core/plan/model_facts.h"
#include "core/plan/plan_file.h"
#include "core/runtime/pipeline_transport.h"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

namespace sb::plan {

enum class Objective
{
    Throughput,
    Latency
};
const char *objectiveName(Objective objective);
Result<Objective> parseObjective(const std::string &text);

// The ledger charges what the runtime lets a link hold, so the two cannot
// drift: a stage's inbound bytes kTransferBuffersCharged times (the transfer
// buffers of its links: runtime::transferBuffersPerLink at 3 or more
// micro-batches), its outbound bytes kTransferQueueDepth times (messages
// queued in their own tensors: the transports' back-pressure bound). Bytes
// are transfer-buffer bytes (each value 64-byte aligned).
inline constexpr int kTransferQueueDepth = runtime::kPipelineQueueDepth;
inline constexpr int kTransferBuffersCharged = runtime::kPipelineQueueDepth + 1;

// ---- pass 1

struct PlanningUnit
{
    graph::NodeId firstNode = 0; // range [firstNode, endNode) of the topological order
    graph::NodeId endNode = 0;
    std::int32_t block = -1;
    int pinnedDevice = -1; // index into the device list, -1 when free
};

// nodePins: NodeId -> device index (-1 free), one entry per node.
std::vector<PlanningUnit> collapseUnits(const graph::Graph &graph,
                                        const std::vector<int> &nodePins);

// ---- pass 2

struct PlannerInput
{
    struct Device
    {
        std::string id;
        double flops = 1;
        double bandwidth = 1;
        std::uint64_t memoryBytes = 0;
    };
    std::vector<Device> devices;
    std::vector<std::vector<double>> linkBandwidth; // [from][to] bytes/s
    std::vector<std::vector<double>> linkLatency;   // [from][to] seconds

    // Per planning unit (size U).
    std::vector<double> flops;
    std::vector<double> bytes;
    std::vector<std::uint64_t> weights;
    std::vector<std::uint64_t> peakLive;
    std::vector<std::uint64_t> workspace;
    std::vector<int> pin;           // device index or -1
    std::vector<std::uint64_t> cut; // size U + 1; cut[0] = cut[U] = 0
    // Optional (with PlannerOptions::nodeWeightBytes): the weight bytes the
    // unit's GEMM nodes read per run, and what each costs for a stage whose
    // GEMMs read `set` bytes in all (plan::KernelRates::weightStream): a
    // stage of units [i, j) computes streamSecondsPerByte(S) * S more, S =
    // the units' streamBytes summed (non-decreasing in S, so a longer stage
    // never costs less).
    std::vector<double> streamBytes;
    std::function<double(double set)> streamSecondsPerByte;

    std::size_t unitCount() const { return flops.size(); }
    // Prefix sums, filled by finalize().
    std::vector<double> flopsPrefix, bytesPrefix, streamBytesPrefix;
    std::vector<std::uint64_t> weightsPrefix;
    void finalize();
};

PlannerInput buildPlannerInput(const graph::Graph &graph, const ModelFacts &facts,
                               const DeviceSet &devices, const std::vector<PlanningUnit> &units);

// The cost model above, shared by the DP and the brute-force oracle.
double segmentComputeSeconds(const PlannerInput &input, int device, std::size_t begin,
                             std::size_t end);
double segmentTransferSeconds(const PlannerInput &input, int previousDevice, int device,
                              std::size_t begin);
std::uint64_t segmentMemoryBytes(const PlannerInput &input, std::size_t begin, std::size_t end);
bool segmentAllowed(const PlannerInput &input, int device, std::size_t begin, std::size_t end);

// ---- pass 3

struct SplitStage
{
    int device = 0; // index into PlannerInput::devices
    std::size_t beginUnit = 0;
    std::size_t endUnit = 0;
    double computeSeconds = 0;
    double transferSeconds = 0;
    std::uint64_t memoryBytes = 0;
};

struct Split
{
    std::vector<SplitStage> stages;
    double objectiveValue = std::numeric_limits<double>::infinity();
};

// Exact over the search space above. Errors: no feasible split (memory caps
// or pins that contradict the device order), naming the reason; Cancelled.
Result<Split> solveSplit(const PlannerInput &input, Objective objective,
                         const CancelToken *cancel = nullptr);
// Test oracle: enumerates every split. Exponential; small inputs only.
Result<Split> bruteForceSplit(const PlannerInput &input, Objective objective);

// ---- pass 4

// Throughput: max(largest single unit on its best allowed device, total FLOPs
// / sum of rates, total bytes / sum of bandwidths). Latency: sum over units of
// the unit's time on its best allowed device. Ignores memory and transfers.
double lowerBound(const PlannerInput &input, Objective objective);

// ---- pass 5

Plan emitPlan(const graph::Graph &graph, const std::vector<PlanningUnit> &units, const Split &split,
              const DeviceSet &devices, const std::vector<int> &nodePins);

// ---- pass 6

// Devices grouped `groupSize` at a time in list order (a trailing remainder
// stays single), each group planned as one device (capacity, rate and
// bandwidth summed; the validator then checks the real per-shard ledger), and
// stages on a group split across it. Errors: infeasible, a pin on a device
// that is not its group's first, nothing to split, or a plan the validator
// rejects (its first problem).
struct TensorParallelOptions
{
    int groupSize = 2;
    double capacityScale = 1.0; // of the summed capacity the DP may use
};
Result<Plan> tensorParallelPlan(const graph::Graph &graph, const ModelFacts &facts,
                                const DeviceSet &devices, const std::vector<PlanningUnit> &units,
                                const std::vector<int> &nodePins, Objective objective,
                                const TensorParallelOptions &options,
                                const CancelToken *cancel = nullptr);

// ---- all passes

struct PlannerOptions
{
    Objective objective = Objective::Throughput;
    std::int64_t batch = 1;
    int microbatches = 1;
    std::map<std::string, std::string> pins;  // node name -> device id
    std::map<std::string, std::int64_t> dims; // other symbolic dims ("seq" -> 64)
    std::string modelSha256;
    const CancelToken *cancel = nullptr;
    bool tensorParallel = true; // pass 6 may split blocks across device groups
    // Optional, per NodeId: the cost model's predicted seconds of each node
    // for one micro-batch (plan::usePredictedCosts) on devices that are
    // alike (the local CPU devices). When set, pass 2's compute cost of a
    // unit is the sum of its nodes' predictions instead of FLOPs / rate +
    // bytes / bandwidth.
    std::vector<double> nodeSeconds;
    // Optional, per NodeId beside nodeSeconds (which then price the nodes
    // with their weights in cache): the weight bytes each node's GEMMs read
    // per run, and the seconds per such byte for a stage whose GEMMs read
    // `set` bytes in all (plan::usePredictedCosts fills all three).
    std::vector<double> nodeWeightBytes;
    std::function<double(double set)> streamSecondsPerByte;
};

struct PlannerResult
{
    Plan plan;
    Split split;
    std::size_t unitCount = 0;
    double objectiveValue = 0; // seconds (per micro-batch)
    double lowerBound = 0;     // seconds
    double gap = 0;            // (objective - bound) / bound
    double planSeconds = 0;    // wall time spent planning
};

Result<PlannerResult> autoPlan(const graph::Graph &graph, const DeviceSet &devices,
                               const PlannerOptions &options);

} // namespace sb::plan
