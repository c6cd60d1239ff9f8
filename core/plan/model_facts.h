// What the planner and the validator need to know about a model for one
// micro-batch size: per-node cost, per-value bytes, liveness and workspace.
//
// Contract: computed once per (graph, micro-batch size); every figure is for
// ONE micro-batch. Sizes that cannot be resolved from shapes fall back to the
// cost model's per-node activation bytes and mark the facts inexact.
#pragma once

#include "core/common/result.h"
#include "core/cost/cost_model.h"
#include "core/graph/graph.h"
#include "core/plan/devices.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace sb::plan {

struct ModelFacts
{
    std::int64_t microbatchSize = 1;
    cost::DimBindings bindings;
    cost::GraphCost cost;
    std::vector<std::uint64_t> valueBytes;  // per ValueId; 0 for initializers
    std::vector<std::uint64_t> nodeWeights; // per NodeId: distinct initializer bytes it reads
    // Per NodeId: scratch the kernel needs (Conv im2col), or for a node with
    // subgraphs what its bodies hold while it runs (subgraphBytes).
    std::vector<std::uint64_t> nodeWorkspace;
    // Per NodeId: activation bytes alive while the node runs when the whole
    // graph runs in topological order on one device (inputs excluded).
    std::vector<std::uint64_t> liveBytes;
    bool exact = true;
};

// Bytes a node's subgraphs hold while it runs (0 without subgraphs): the
// largest body's initializers and known-shape values, nested bodies included.
std::uint64_t subgraphBytes(const graph::Node &node);

// `dims` binds other symbolic dims (e.g. {"seq": 64}); the batch symbol is
// bound to microbatchSize.
Result<ModelFacts> analyseModel(const graph::Graph &graph, std::int64_t microbatchSize,
                                const std::map<std::string, std::int64_t> &dims = {});

// Estimated seconds for a node on a device: FLOPs / rate + bytes touched /
// memory bandwidth (parameters read + activations written). Devices with an
// unknown rate (0) are treated as 1 GFLOP/s and 1 GB/s (visibly slow).
double nodeSeconds(const ModelFacts &facts, graph::NodeId node, const DeviceSpec &device);
double deviceFlops(const DeviceSpec &device);
double deviceBandwidth(const DeviceSpec &device);

} // namespace sb::plan
