// Plan validation, the stage graph and the per-device memory ledger.
//
// Contract: validatePlan() never stops at the first problem; it lists every
// problem it finds, each naming the nodes (and devices) involved. Memory is
// checked over the assigned nodes even when some nodes lack a device or the
// devices form a cycle. When the plan is structurally sound (every node
// assigned to a known device, no device cycle) the report also carries the
// estimate: memory ledger per device, estimated stage and transfer times,
// bottleneck, throughput, latency, bubble fraction and cost per 1,000
// inferences.
//
// Validation is two steps: analysePlan() works out what does not depend on
// the placement (the model's facts for the plan's micro-batch size and dims,
// whether the batch is baked in); validatePlan() with that analysis checks a
// placement in O(nodes + edges). An editor keeps the analysis and validates
// every edit with it; this is the one validator for the CLI and the GUI.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/model_facts.h"
#include "core/plan/plan_file.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::plan {

struct Problem
{
    // Stable codes (public interface): unassigned_node, unknown_node,
    // unknown_device, device_cycle, memory_over_capacity, model_hash_mismatch,
    // batch_not_divisible, baked_batch (warning), unknown_pinned_node,
    // tensor_parallel_invalid, estimate_failed.
    std::string code;
    bool warning = false; // warnings do not make a plan invalid
    std::string message;
    std::vector<std::string> nodes;
    std::vector<std::string> devices;
};

// One pipeline stage: the nodes a device runs, in topological order.
struct Stage
{
    std::string device;
    std::vector<graph::NodeId> nodes;
};

// A value that moves between stages: produced in `fromStage`, needed by each
// stage in `toStages` (all later in stage order).
struct StageTransfer
{
    graph::ValueId value = graph::kNoValue;
    int fromStage = 0;
    std::vector<int> toStages;
};

struct StageGraph
{
    std::vector<Stage> stages;    // topological order of the device DAG
    std::vector<int> stageOfNode; // per NodeId
    std::vector<StageTransfer> transfers;
};

// Errors: unassigned/unknown nodes or devices, or a device cycle (message
// names devices and edges). validatePlan() reports the same things as Problems.
Result<StageGraph> buildStageGraph(const graph::Graph &graph, const Plan &plan);

struct DeviceLedger
{
    std::string device;
    int stage = -1; // the stage whose nodes (or tensor-parallel shard) it holds
    std::uint64_t weights = 0;
    std::uint64_t activations = 0; // planned peak for one micro-batch
    // kTransferBuffersCharged x received + kTransferQueueDepth x sent (planner.h)
    std::uint64_t transferBuffers = 0;
    std::uint64_t workspace = 0;
    std::uint64_t capacity = 0;
    std::uint64_t total() const { return weights + activations + transferBuffers + workspace; }
};

struct StageEstimate
{
    std::string device;
    std::size_t nodeCount = 0;
    double flops = 0;
    double computeSeconds = 0;    // one micro-batch (a tensor-parallel stage: per shard)
    double transferInSeconds = 0; // receiving its inputs, one micro-batch
    // Tensor-parallel stage: the devices of its group (this stage's first)
    // and the all-reduce / all-gather time per micro-batch.
    std::vector<std::string> group;
    double collectiveSeconds = 0;
    int allReduces = 0;
    int allGathers = 0;
    double seconds() const { return computeSeconds + transferInSeconds + collectiveSeconds; }
};

struct LinkEstimate
{
    std::string from;
    std::string to;
    std::string name;
    std::uint64_t bytes = 0; // per micro-batch
    double seconds = 0;
    std::vector<std::string> values;
};

struct PlanEstimate
{
    std::int64_t microbatchSize = 1;
    int microbatches = 1; // effective (1 when the batch is baked in)
    std::vector<DeviceLedger> ledger;
    std::vector<StageEstimate> stages;
    std::vector<LinkEstimate> links;
    int bottleneck = 0;                // stage index
    double stageSecondsMax = 0;        // per micro-batch
    double throughput = 0;             // samples/s in steady state
    double latencySeconds = 0;         // one whole batch: sum(stages) + (M-1) * max
    double bubbleFraction = 0;         // runtime::idealBubbleFraction: (p-1) / (M+p-1)
    std::optional<double> costPer1000; // USD, when every used device has a price
    bool exact = true;
};

struct ValidationReport
{
    std::vector<Problem> problems;
    std::optional<PlanEstimate> estimate;
    // The ledger and stage figures over the assigned nodes, set whenever costs
    // could be estimated, also when `estimate` is not (nodes without a device,
    // a device cycle: then stages are ordered by their first node and the
    // timing figures describe no runnable pipeline). Editors show it per device.
    std::optional<PlanEstimate> assignedEstimate;
    bool bakedBatch = false;
    int effectiveMicrobatches = 1;
    bool ok() const; // no errors (warnings allowed)
};

struct ValidateOptions
{
    std::string modelSha256; // the model file's hash; empty skips the check
};

// What validation needs that does not depend on the placement.
struct PlanAnalysis
{
    // The plan settings it was made for.
    std::int64_t batch = 1;
    int microbatches = 1;
    std::map<std::string, std::int64_t> dims;

    bool bakedBatch = false;
    std::string bakedReason; // the node (or reason) that bakes the batch in
    int effectiveMicrobatches = 1;
    // The model's facts for batch / effectiveMicrobatches samples; empty with
    // `factsError` when costs cannot be estimated.
    std::optional<ModelFacts> facts;
    std::string factsError;

    // Whether this is the analysis for `plan` (same batch, micro-batches, dims).
    bool fits(const Plan &plan) const;
};

// The placement-independent step (cost analysis of the whole model): run it
// off the GUI thread and again only when batch, micro-batches or dims change.
PlanAnalysis analysePlan(const graph::Graph &graph, const Plan &plan);

ValidationReport validatePlan(const graph::Graph &graph, const Plan &plan,
                              const ValidateOptions &options);
// The same check with a kept analysis (re-analysed when it does not fit `plan`).
ValidationReport validatePlan(const graph::Graph &graph, const Plan &plan,
                              const ValidateOptions &options, const PlanAnalysis &analysis);

// The check before running `plan` on the model file `modelPath`: the plan is
// validated with the file's sha256 (none when `modelPath` is empty: an
// in-memory graph has no file to hash; a micro-batch count that does not divide
// the batch is left for the runner to explain, so it is validated as 1).
// Errors: InvalidInput "<planLabel>: invalid plan" with one "code: message"
// line per problem. Warnings are appended to `warnings` when given.
[[nodiscard]] Status checkPlanForRun(const graph::Graph &graph, Plan plan,
                                     const std::filesystem::path &modelPath,
                                     const std::string &planLabel,
                                     std::vector<std::string> *warnings = nullptr);

// Ledger and estimate for a stage graph (used by validatePlan and the planner CLI).
PlanEstimate estimatePlan(const graph::Graph &graph, const Plan &plan, const StageGraph &stages,
                          const ModelFacts &facts, int effectiveMicrobatches);

nlohmann::json estimateToJson(const PlanEstimate &estimate);
nlohmann::json reportToJson(const ValidationReport &report);
// Human-readable stage table and ledger.
std::string formatEstimate(const PlanEstimate &estimate);

} // namespace sb::plan
