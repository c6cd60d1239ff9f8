#include "test_graphs.h"

#include <random>
#include <string>
#include <vector>

namespace sbtest {

using namespace sb::graph;

std::shared_ptr<Graph> makeResidualChain(int layers, std::int64_t width, std::uint32_t seed,
                                         int maxSkip)
{
    std::mt19937 random(seed);
    auto graph = std::make_shared<Graph>();
    graph->opsets[""] = 17;
    auto activation = [&](const std::string &name) {
        Value value;
        value.name = name;
        value.info.type = ElementType::Float32;
        value.info.shape.rankKnown = true;
        value.info.shape.dims = {Dim::symbolic("batch"), Dim::known(width)};
        return graph->addValue(value);
    };
    ValueId input = activation("x");
    graph->mutableInputs().push_back(input);
    std::vector<ValueId> blockOutputs{input};
    for (int k = 0; k < layers; ++k) {
        const std::string prefix = "/blocks." + std::to_string(k);
        Value weight;
        weight.name = prefix + "/W";
        weight.info.type = ElementType::Float32;
        weight.info.shape.rankKnown = true;
        weight.info.shape.dims = {Dim::known(width), Dim::known(width)};
        weight.initializer = TensorData::fromBytes(
            ElementType::Float32, {width, width},
            std::vector<std::uint8_t>(static_cast<std::size_t>(width * width * 4), 0));
        ValueId w = graph->addValue(weight);
        ValueId mm = activation(prefix + "/mm");
        ValueId relu = activation(prefix + "/relu");
        ValueId out = activation(prefix + "/out");
        int distance = static_cast<int>(random() % static_cast<unsigned>(maxSkip + 1));
        ValueId skip = blockOutputs[static_cast<std::size_t>(
            std::max(0, static_cast<int>(blockOutputs.size()) - 1 - distance))];
        const auto block = static_cast<std::int32_t>(k);
        Node matmul;
        matmul.name = prefix + "/MatMul";
        matmul.opType = "MatMul";
        matmul.inputs = {blockOutputs.back(), w};
        matmul.outputs = {mm};
        matmul.block = block;
        Node activationNode;
        activationNode.name = prefix + "/Relu";
        activationNode.opType = "Relu";
        activationNode.inputs = {mm};
        activationNode.outputs = {relu};
        activationNode.block = block;
        Node add;
        add.name = prefix + "/Add";
        add.opType = "Add";
        add.inputs = {relu, skip};
        add.outputs = {out};
        add.block = block;
        graph->mutableNodes().push_back(matmul);
        graph->mutableNodes().push_back(activationNode);
        graph->mutableNodes().push_back(add);
        graph->mutableBlocks().push_back(
            Block{prefix,
                  {static_cast<NodeId>(3 * k), static_cast<NodeId>(3 * k + 1),
                   static_cast<NodeId>(3 * k + 2)}});
        blockOutputs.push_back(out);
    }
    graph->mutableOutputs().push_back(blockOutputs.back());
    graph->rebuildIndex();
    return graph;
}

} // namespace sbtest
