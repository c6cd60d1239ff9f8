// Cost model: what each node and block costs for one binding of the symbolic
// dims. Used by inspect, the planner's ledger and the GUI.
//
// Contract: FLOPs count a multiply-add as 2 (MatMul/Gemm/Conv exact from
// shapes); elementwise and other ops count one FLOP per output element.
// Bytes are for the node's own outputs (activations) and the initializers it
// reads (parameters; a weight shared by several nodes is charged to the first).
//
// Per op, precisely:
//  - MatMul (+MatMulInteger, QLinearMatMul): 2*K*elements(output); batch dims
//    broadcast as the output shape says.
//  - Gemm: 2*M*N*K, plus M*N for the bias C when present.
//  - Conv: 2*elements(output)*(C_in/group)*prod(kernel), plus elements(output)
//    with a bias. ConvTranspose: 2*elements(input)*(C_out/group)*prod(kernel)
//    (+ bias as above).
//  - RNN/GRU/LSTM: 2*seq*batch*directions*gates*hidden*(input + hidden) (the
//    gate matrix products; the elementwise gate math is not counted).
//  - Reductions (Reduce*, ArgMax/ArgMin), Softmax/LogSoftmax/Hardmax and the
//    normalizations (Batch/Instance/Layer/Group/LpNormalization,
//    MeanVarianceNormalization, Global*Pool): elements(input 0).
//  - AveragePool/MaxPool/LpPool: elements(output)*prod(kernel_shape).
//  - Metadata-only ops (Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze,
//    Identity, Constant, Dropout): 0.
//  - Everything else (elementwise, Transpose, Gather, custom ops, If/Loop
//    bodies not included): the element count of all its outputs.
// Parameters are the initializers graph::Graph::isParameter() accepts;
// initializers read by no node are counted in GraphCost::total only.
// A cost whose shapes could not be fully resolved has exact = false and
// counts only what could be resolved.
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
    std::map<std::string, std::int64_t> dims; // symbol -> value, wins over batch
};

// Parses "name=value" (the CLI's --dim); errors name the bad text.
Result<std::pair<std::string, std::int64_t>> parseDimBinding(const std::string &text);

// The symbols that DimBindings::batch binds for this graph (e.g. {"batch"}).
std::vector<std::string> batchSymbols(const graph::Graph &graph);

// Concrete dims for a shape under bindings; unbound symbols/unknown dims -> nullopt.
std::optional<std::vector<std::int64_t>>
resolveShape(const graph::Shape &shape, const graph::Graph &graph, const DimBindings &bindings);

struct Cost
{
    double flops = 0;
    std::uint64_t paramBytes = 0;
    std::uint64_t paramCount = 0;
    std::uint64_t activationBytes = 0; // bytes of outputs produced
    bool exact = true;                 // false when some shape could not be resolved (estimate)

    Cost &operator+=(const Cost &other);
};

struct GraphCost
{
    std::vector<Cost> nodes;  // indexed by NodeId
    std::vector<Cost> blocks; // indexed by block index
    Cost total;
    // Concrete shape of every value under the bindings (indexed by ValueId;
    // nullopt when unknown): the symbolic shapes resolved with the bindings,
    // completed by graph::inferBoundShapes for data-dependent shapes.
    std::vector<std::optional<std::vector<std::int64_t>>> valueShapes;
};

Result<GraphCost> computeCost(const graph::Graph &graph, const DimBindings &bindings);

// Whether the batch size can really vary: false when a graph input has a fixed
// batch dim (dim 0 known) or a constant shape bakes a batch size into the
// graph (a Reshape/Expand whose constant target shape starts with a positive
// number while its data input's dim 0 is a batch symbol), or when the graph
// has no inputs with a batch dim. `reason` (optional) names the input or node.
bool batchIsSymbolicThroughout(const graph::Graph &graph, std::string *reason = nullptr);

} // namespace sb::cost
