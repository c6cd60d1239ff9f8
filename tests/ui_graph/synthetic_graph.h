// Small graphs built in memory for the GUI tests: `blocks` residual blocks of
// three nodes each (MatMul -> Relu -> Add with the block input), every tensor
// float32 [batch, width], every block named "/blocks.N"; and a chain of
// MatMuls whose activations differ in width (no blocks).
#pragma once

#include "core/graph/graph.h"

#include <memory>
#include <string>
#include <vector>

namespace sb::test {

// With `seq` the activations are [batch, seq, width] (a second symbolic dim).
inline std::shared_ptr<graph::Graph> residualChain(int blocks, int width = 8, bool seq = false)
{
    using namespace sb::graph;
    auto g = std::make_shared<Graph>();
    auto value = [](std::string name, const TensorInfo &info) {
        Value v;
        v.name = std::move(name);
        v.info = info;
        return v;
    };
    g->graphName = "residual_chain";
    TensorInfo activation;
    activation.type = ElementType::Float32;
    activation.shape.rankKnown = true;
    activation.shape.dims = {Dim::symbolic("batch"), Dim::known(width)};
    if (seq)
        activation.shape.dims.insert(activation.shape.dims.begin() + 1, Dim::symbolic("seq"));
    TensorInfo weightInfo;
    weightInfo.type = ElementType::Float32;
    weightInfo.shape.rankKnown = true;
    weightInfo.shape.dims = {Dim::known(width), Dim::known(width)};

    ValueId x = g->addValue(value("input", activation));
    g->mutableInputs().push_back(x);
    for (int b = 0; b < blocks; ++b) {
        const std::string p = "/blocks." + std::to_string(b);
        std::vector<std::uint8_t> bytes(std::size_t(width * width) * 4, 0);
        Value w = value("w" + std::to_string(b), weightInfo);
        w.initializer = TensorData::fromBytes(ElementType::Float32, {width, width}, bytes);
        ValueId wId = g->addValue(w);
        ValueId mm = g->addValue(value(p + "/MatMul_output_0", activation));
        ValueId relu = g->addValue(value(p + "/Relu_output_0", activation));
        ValueId add = g->addValue(value(p + "/Add_output_0", activation));
        Block block;
        block.name = p;
        const NodeId first = NodeId(g->nodes().size());
        Node n1;
        n1.name = p + "/MatMul";
        n1.opType = "MatMul";
        n1.inputs = {x, wId};
        n1.outputs = {mm};
        n1.block = b;
        Node n2;
        n2.name = p + "/Relu";
        n2.opType = "Relu";
        n2.inputs = {mm};
        n2.outputs = {relu};
        n2.block = b;
        Node n3;
        n3.name = p + "/Add";
        n3.opType = "Add";
        n3.inputs = {relu, x};
        n3.outputs = {add};
        n3.block = b;
        g->mutableNodes().push_back(n1);
        g->mutableNodes().push_back(n2);
        g->mutableNodes().push_back(n3);
        block.nodes = {first, first + 1, first + 2};
        g->mutableBlocks().push_back(block);
        x = add;
    }
    g->mutableOutputs().push_back(x);
    g->rebuildIndex();
    return g;
}

// MatMul i maps [batch, widths[i]] to [batch, widths[i+1]]; nodes "/mm.i".
inline std::shared_ptr<graph::Graph> widthChain(const std::vector<std::int64_t> &widths)
{
    using namespace sb::graph;
    auto g = std::make_shared<Graph>();
    g->graphName = "width_chain";
    auto activation = [](std::int64_t width) {
        TensorInfo info;
        info.type = ElementType::Float32;
        info.shape.rankKnown = true;
        info.shape.dims = {Dim::symbolic("batch"), Dim::known(width)};
        return info;
    };
    Value input;
    input.name = "input";
    input.info = activation(widths.front());
    ValueId x = g->addValue(input);
    g->mutableInputs().push_back(x);
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        const std::string name = "/mm." + std::to_string(i);
        Value w;
        w.name = name + ".weight";
        w.info.type = ElementType::Float32;
        w.info.shape.rankKnown = true;
        w.info.shape.dims = {Dim::known(widths[i]), Dim::known(widths[i + 1])};
        w.initializer = TensorData::fromBytes(
            ElementType::Float32, {widths[i], widths[i + 1]},
            std::vector<std::uint8_t>(std::size_t(widths[i] * widths[i + 1]) * 4, 0));
        const ValueId wId = g->addValue(w);
        Value out;
        out.name = name + "_output_0";
        out.info = activation(widths[i + 1]);
        const ValueId outId = g->addValue(out);
        Node node;
        node.name = name;
        node.opType = "MatMul";
        node.inputs = {x, wId};
        node.outputs = {outId};
        g->mutableNodes().push_back(node);
        x = outId;
    }
    g->mutableOutputs().push_back(x);
    g->rebuildIndex();
    return g;
}

} // namespace sb::test
