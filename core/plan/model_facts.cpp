#include "core/plan/model_facts.h"

#include <algorithm>
#include <set>

namespace sb::plan {

using graph::Graph;
using graph::NodeId;
using graph::ValueId;

namespace {

// Scratch a Conv kernel needs for im2col: (C_in/group * kh * kw) x (N * H_out * W_out)
// floats. Other ops run in their output buffers.
std::uint64_t convWorkspace(const Graph &graph, const graph::Node &node,
                            const cost::DimBindings &bindings)
{
    if (node.opType != "Conv" || node.inputs.size() < 2 || node.outputs.empty())
        return 0;
    auto weight = cost::resolveShape(graph.value(node.inputs[1]).info.shape, graph, bindings);
    auto output =
        node.outputs[0] == graph::kNoValue
            ? std::nullopt
            : cost::resolveShape(graph.value(node.outputs[0]).info.shape, graph, bindings);
    if (!weight || !output || weight->size() < 3 || output->size() < 3)
        return 0;
    std::uint64_t rows = 1;
    for (std::size_t i = 1; i < weight->size(); ++i)
        rows *= static_cast<std::uint64_t>(std::max<std::int64_t>((*weight)[i], 0));
    bool pointwise = true;
    for (std::size_t i = 2; i < weight->size(); ++i)
        pointwise = pointwise && (*weight)[i] == 1;
    if (pointwise)
        return 0; // 1x1 convolutions are a plain GEMM on the input
    std::uint64_t columns = static_cast<std::uint64_t>(std::max<std::int64_t>((*output)[0], 0));
    for (std::size_t i = 2; i < output->size(); ++i)
        columns *= static_cast<std::uint64_t>(std::max<std::int64_t>((*output)[i], 0));
    return rows * columns * sizeof(float);
}

} // namespace

// Bytes a node's subgraphs (If branches, Loop/Scan bodies) hold while it
// runs: per body its initializers plus every value whose shape the importer
// knows, all counted as alive at once (an upper bound of the body's planned
// peak), nested subgraphs included; the largest body, since one runs at a time.
std::uint64_t subgraphBytes(const graph::Node &node)
{
    std::uint64_t largest = 0;
    auto body = [&](const Graph &g) {
        std::uint64_t bytes = 0;
        for (const graph::Value &value : g.values()) {
            if (value.initializer) {
                bytes += value.initializer->byteSize();
                continue;
            }
            if (value.info.kind != graph::ValueKind::Tensor ||
                (value.producer == graph::kNoNode && !value.isGraphInput))
                continue; // sequences (unknown), or outer-scope values counted outside
            if (auto count = value.info.shape.elementCount())
                bytes += static_cast<std::uint64_t>(*count) * graph::elementSize(value.info.type);
        }
        for (const graph::Node &inner : g.nodes())
            bytes += subgraphBytes(inner);
        largest = std::max(largest, bytes);
    };
    for (const auto &[name, attr] : node.attributes) {
        if (attr.graph)
            body(*attr.graph);
        for (const auto &g : attr.graphs)
            body(*g);
    }
    return largest;
}

Result<ModelFacts> analyseModel(const Graph &graph, std::int64_t microbatchSize,
                                const std::map<std::string, std::int64_t> &dims)
{
    if (microbatchSize < 1)
        return makeError(ErrorCode::InvalidInput,
                         "micro-batch size must be >= 1, got " + std::to_string(microbatchSize));
    ModelFacts facts;
    facts.microbatchSize = microbatchSize;
    facts.bindings.batch = microbatchSize;
    facts.bindings.dims = dims;
    SB_ASSIGN_OR_RETURN(facts.cost, cost::computeCost(graph, facts.bindings));
    facts.exact = facts.cost.total.exact;

    const auto &nodes = graph.nodes();
    const auto &values = graph.values();
    facts.valueBytes.assign(values.size(), 0);
    for (std::size_t v = 0; v < values.size(); ++v) {
        const graph::Value &value = values[v];
        if (value.initializer)
            continue;
        std::optional<std::vector<std::int64_t>> dims;
        if (v < facts.cost.valueShapes.size())
            dims = facts.cost.valueShapes[v];
        if (!dims)
            dims = cost::resolveShape(value.info.shape, graph, facts.bindings);
        std::size_t element = graph::elementSize(value.info.type);
        if (dims && element > 0) {
            std::uint64_t count = 1;
            for (std::int64_t dim : *dims)
                count *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
            facts.valueBytes[v] = count * element;
        } else if (value.producer != graph::kNoNode) {
            // Unknown shape: share the producer's activation bytes among its outputs.
            const graph::Node &producer = graph.node(value.producer);
            std::size_t outputs =
                std::max<std::size_t>(1, static_cast<std::size_t>(std::count_if(
                                             producer.outputs.begin(), producer.outputs.end(),
                                             [](ValueId id) { return id != graph::kNoValue; })));
            facts.valueBytes[v] =
                facts.cost.nodes[static_cast<std::size_t>(value.producer)].activationBytes /
                outputs;
            facts.exact = false;
        } else {
            facts.exact = false;
        }
    }

    facts.nodeWeights.assign(nodes.size(), 0);
    facts.nodeWorkspace.assign(nodes.size(), 0);
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        std::set<ValueId> seen;
        auto weigh = [&](ValueId in) {
            if (in != graph::kNoValue && graph.value(in).initializer && seen.insert(in).second)
                facts.nodeWeights[n] += graph.value(in).initializer->byteSize();
        };
        for (ValueId in : nodes[n].inputs)
            weigh(in);
        for (ValueId in : nodes[n].implicitInputs) // weights a subgraph reads
            weigh(in);
        // A node with subgraphs is placed as one unit: its bodies run on its
        // device, so their memory is the node's workspace.
        facts.nodeWorkspace[n] =
            std::max(convWorkspace(graph, nodes[n], facts.bindings), subgraphBytes(nodes[n]));
    }

    // Global liveness in topological order: a value is alive from its producer
    // to its last consumer (to the end for graph outputs).
    std::vector<std::int64_t> delta(nodes.size() + 1, 0);
    for (std::size_t v = 0; v < values.size(); ++v) {
        const graph::Value &value = values[v];
        if (value.initializer || value.producer == graph::kNoNode || facts.valueBytes[v] == 0)
            continue;
        NodeId last = value.producer;
        for (NodeId consumer : value.consumers)
            last = std::max(last, consumer);
        if (value.isGraphOutput)
            last = static_cast<NodeId>(nodes.size()) - 1;
        auto bytes = static_cast<std::int64_t>(facts.valueBytes[v]);
        delta[static_cast<std::size_t>(value.producer)] += bytes;
        delta[static_cast<std::size_t>(last) + 1] -= bytes;
    }
    facts.liveBytes.assign(nodes.size(), 0);
    std::int64_t running = 0;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        running += delta[n];
        facts.liveBytes[n] = static_cast<std::uint64_t>(std::max<std::int64_t>(running, 0));
    }
    return facts;
}

double deviceFlops(const DeviceSpec &device)
{
    return device.flops > 0 ? device.flops : 1e9;
}

double deviceBandwidth(const DeviceSpec &device)
{
    return device.memoryBandwidth > 0 ? device.memoryBandwidth : 1e9;
}

double nodeSeconds(const ModelFacts &facts, NodeId node, const DeviceSpec &device)
{
    const cost::Cost &cost = facts.cost.nodes[static_cast<std::size_t>(node)];
    return cost.flops / deviceFlops(device) +
           static_cast<double>(cost.paramBytes + cost.activationBytes) / deviceBandwidth(device);
}

} // namespace sb::plan
