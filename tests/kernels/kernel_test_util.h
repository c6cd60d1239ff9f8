// Helpers of the kernel tests: attributes, random tensors, one-node graphs
// and running them on a device.
#pragma once

#include "core/runtime/executor.h"
#include "kernels/registry.h"

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace sb::kernel_tests {

using namespace sb::runtime;

inline graph::Attribute ints(std::vector<std::int64_t> v)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Ints;
    a.ints = std::move(v);
    return a;
}
inline graph::Attribute integer(std::int64_t v)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = v;
    return a;
}
inline graph::Attribute real(double v)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Float;
    a.f = static_cast<float>(v);
    return a;
}
inline graph::Attribute text(std::string s)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::String;
    a.s = std::move(s);
    return a;
}

inline Tensor randomTensor(Shape shape, unsigned seed)
{
    std::mt19937 rng(seed);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    Tensor t = Tensor::empty(ElementType::Float32, std::move(shape));
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        t.as<float>()[i] = dist(rng);
    return t;
}

// An int64 tensor (1-D of the values unless `shape` is given).
inline Tensor int64Tensor(std::vector<std::int64_t> values, Shape shape = {})
{
    if (shape.empty())
        shape = {static_cast<std::int64_t>(values.size())};
    return Tensor::fromVector(ElementType::Int64, shape, values);
}

// One-node graph whose `inputs` are graph inputs (no folding), followed by
// `constants` as initializers (the node's later inputs, read as constants).
inline std::shared_ptr<graph::Graph> singleNode(const std::string &op, const std::string &domain,
                                                const std::vector<Tensor> &inputs,
                                                std::map<std::string, graph::Attribute> attributes,
                                                const std::vector<Tensor> &constants = {},
                                                int opset = 17)
{
    auto g = std::make_shared<graph::Graph>();
    g->opsets[""] = opset;
    graph::Node node;
    node.name = "n";
    node.opType = op;
    node.domain = domain;
    node.attributes = std::move(attributes);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        graph::Value v;
        v.name = "in" + std::to_string(i);
        v.info.type = inputs[i].type();
        node.inputs.push_back(g->addValue(v));
        g->mutableInputs().push_back(node.inputs.back());
    }
    for (std::size_t i = 0; i < constants.size(); ++i) {
        const Tensor &c = constants[i];
        graph::Value v;
        v.name = std::string("c") + std::to_string(i);
        v.info.type = c.type();
        const auto *bytes = static_cast<const std::uint8_t *>(c.data());
        v.initializer = graph::TensorData::fromBytes(
            c.type(), c.shape(), std::vector<std::uint8_t>(bytes, bytes + c.byteSize()));
        node.inputs.push_back(g->addValue(v));
    }
    graph::Value out;
    out.name = "out";
    node.outputs.push_back(g->addValue(out));
    g->mutableOutputs() = {node.outputs[0]};
    g->mutableNodes().push_back(node);
    g->rebuildIndex();
    return g;
}

inline Result<Tensor> runOn(Device &device, const std::shared_ptr<graph::Graph> &g,
                            const std::vector<Tensor> &inputs, KernelVariant variant)
{
    ExecutorOptions options;
    options.variant = variant;
    options.fuse = false;
    SB_ASSIGN_OR_RETURN(auto executor, Executor::create(g, device, options));
    TensorMap map;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        map["in" + std::to_string(i)] = inputs[i];
    SB_ASSIGN_OR_RETURN(RunResult result, executor->run(map));
    return result.outputs.at("out");
}

inline Result<Tensor> runVariant(const std::shared_ptr<graph::Graph> &g,
                                 const std::vector<Tensor> &inputs, KernelVariant variant,
                                 int threads)
{
    CpuDevice device("cpu:0", threads, 0, kernels::defaultRegistry());
    return runOn(device, g, inputs, variant);
}

} // namespace sb::kernel_tests
