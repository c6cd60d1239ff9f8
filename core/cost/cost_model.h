// Cost model: what each node and block costs for one binding of the symbolic
// dims. Used by inspect, the planner's ledger and the GUI.
//
// Contract: FLOPs count a multiply-add as 2 (MatMul/Gemm/Conv exact from
// shapes); elementwise and other ops count one FLOP per output element.
// Bytes are for the node's own outputs (activations) and the initializers it
// reads (parameters; a weight shared by several nodes is charged to the first).
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::cost {

struct DimBindings
{
    // Binds the batch dim: dim 0 of every graph input whose dim 0 is symbolic
    // (and that symbol wherever it appears).
    std::optional<std::int64_t> batch;
    std::map<std::string, std::int64_t> dims;  // symbol -> value, wins over batch
};

// Parses "name=value" (the CLI's --dim); errors name the bad text.
Result<std::pair<std::string, std::int64_t>> parseDimBinding(const std::string &text);

// The symbols that DimBindings::batch binds for this graph (e.g. {"batch"}).
std::vector<std::string> batchSymbols(const graph::Graph &graph);

// Concrete dims for a shape under bindings; unbound symbols/unknown dims -> nullopt.
std::optional<std::vector<std::int64_t>> resolveShape(const graph::Shape &shape,
                                                      const graph::Graph &graph,
                                                      const DimBindings &bindings);

struct Cost
{
    double flops = 0;
    std::uint64_t paramBytes = 0;
    std::uint64_t paramCount = 0;
    std::uint64_t activationBytes = 0;  // bytes of outputs produced
    bool exact = true;  // false when some shape could not be resolved (estimate)

    Cost &operator+=(const Cost &other);
};

struct GraphCost
{
    std::vector<Cost> nodes;   // indexed by NodeId
    std::vector<Cost> blocks;  // indexed by block index
    Cost total;
};

Result<GraphCost> computeCost(const graph::Graph &graph, const DimBindings &bindings);

} // namespace sb::cost
