// Tensor parallelism in plans: the "tensor_parallel" key, the groups it
// makes and the shard graphs each device of a group runs.
//
// Plan key (public interface):
//   "tensor_parallel": [{"nodes": ["/blocks.0/mlp/mlp.0/MatMul"],
//                        "devices": ["cpu:0", "cpu:1"], "mode": "column"}, ...]
//  - `column` splits a MatMul/Gemm weight's output features: shard i holds
//    1/G of the columns (1/G of every part when a Split on the last axis
//    follows, e.g. a fused QKV projection: Q/K/V split by heads). The output
//    stays sharded through the ops that can work on shards (bias, activation,
//    Reshape/Transpose of heads, batched MatMul over heads, Softmax over
//    another axis) and is gathered where a value must be whole.
//  - `row` splits a MatMul/Gemm weight's input features: the input is the
//    sharded value (or is sliced), partial sums are all-reduced (Megatron's
//    MLP: column then row, one all-reduce per block).
//
// Semantics: a group is a pipeline stage. Listed nodes are assigned (by
// "assignment") to one device of the group, the stage's device; every node
// of that stage runs on every device of the group (ops that are not split run
// replicated on each shard). All entries of one stage list the same devices.
//
// Contract: shardStage() is deterministic (every MPI rank computes the same
// shard graphs); errors name the node and the reason (split dimension not
// divisible by the group size, not a MatMul/Gemm, weight not a constant...).
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/plan_file.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sb::plan {

struct TensorParallelEntry
{
    std::vector<std::string> nodes;
    std::vector<std::string> devices;
    std::string mode; // "column" | "row"
};

// Errors name the source and the entry ("plan.json: tensor_parallel[1]: ...").
Result<std::vector<TensorParallelEntry>> parseTensorParallel(const nlohmann::json &list,
                                                             const std::string &source);
nlohmann::json tensorParallelToJson(const std::vector<TensorParallelEntry> &entries);

// One stage split across a group of devices.
struct TensorParallelGroup
{
    std::string stageDevice;                    // the assigned device of its nodes
    std::vector<std::string> devices;           // shard order: the stage device first
    std::map<graph::NodeId, std::string> modes; // split nodes -> "column" | "row"
};

struct TensorParallelProblem
{
    std::string message;
    std::vector<std::string> nodes;
    std::vector<std::string> devices;
};

// The groups of `plan` (one per stage device), checked against the graph and
// the plan's devices; every bad entry is listed in `problems` (and left out).
std::vector<TensorParallelGroup> tensorParallelGroups(const graph::Graph &graph, const Plan &plan,
                                                      std::vector<TensorParallelProblem> *problems);

// Without the graph (launchers): stage device -> the group's devices in shard
// order, from the entries whose nodes are assigned to a device of their group.
// Agrees with tensorParallelGroups() on valid plans.
std::map<std::string, std::vector<std::string>> tensorParallelDevices(const Plan &plan);

struct ShardGraph
{
    std::shared_ptr<graph::Graph> graph; // a private copy of the model with this shard's changes
    std::vector<graph::NodeId> nodes;    // the stage's nodes in `graph`
    std::uint64_t weightBytes = 0;       // initializer bytes the shard's nodes read
};

struct ShardedStage
{
    std::vector<ShardGraph> shards;                // one per device (empty unless built)
    std::uint64_t shardWeightBytes = 0;            // initializer bytes each shard holds
    std::vector<graph::NodeId> dividedNodes;       // original ids whose work is split G ways
    std::vector<graph::ValueId> allReducedValues;  // original ids, one all-reduce each per run
    std::vector<graph::ValueId> allGatheredValues; // original ids, one all-gather each per run
};

// The planner's proposal for a stage split `parts` ways: every MatMul/Gemm
// with a 2-D constant weight whose split dimension divides becomes `row`
// when its input arrives sharded on the features (Megatron: column then row),
// else `column`. Empty when nothing can be split.
std::map<graph::NodeId, std::string>
proposeSplits(const graph::Graph &graph, const std::vector<graph::NodeId> &stageNodes, int parts);

// `stageNodes` are the stage's node ids in `graph` (topological order).
// buildGraphs false: the analysis only (validation, estimates).
Result<ShardedStage> shardStage(const graph::Graph &graph,
                                const std::vector<graph::NodeId> &stageNodes,
                                const TensorParallelGroup &group, bool buildGraphs = true);

} // namespace sb::plan
