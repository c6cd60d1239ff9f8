// planner_bench: times the auto-planner on a generated 10,000-node
// transformer-like graph over 8 heterogeneous devices (both objectives), and
// prints the figure against the 200 ms budget from the issue.
//
//   build/bench/planner_bench [--layers N] [--repeats R]
#include "core/plan/planner.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

using namespace sb;
using namespace sb::graph;

namespace {

// One decoder layer = 26 nodes in one block (LayerNorm pieces, QKV MatMuls,
// attention, MLP, two residual Adds); the residual stream crosses every layer.
std::shared_ptr<Graph> makeDecoder(int layers, std::int64_t width)
{
    auto graph = std::make_shared<Graph>();
    graph->opsets[""] = 17;
    auto activation = [&](const std::string &name, std::int64_t columns) {
        Value value;
        value.name = name;
        value.info.type = ElementType::Float32;
        value.info.shape.rankKnown = true;
        value.info.shape.dims = {Dim::symbolic("batch"), Dim::known(columns)};
        return graph->addValue(value);
    };
    auto weight = [&](const std::string &name, std::int64_t rows, std::int64_t columns) {
        Value value;
        value.name = name;
        value.info.type = ElementType::Float32;
        value.info.shape.rankKnown = true;
        value.info.shape.dims = {Dim::known(rows), Dim::known(columns)};
        value.initializer = TensorData::fromBytes(
            ElementType::Float32, {rows, columns},
            std::vector<std::uint8_t>(static_cast<std::size_t>(rows * columns * 4), 0));
        return graph->addValue(value);
    };
    ValueId stream = activation("x", width);
    graph->mutableInputs().push_back(stream);
    for (int k = 0; k < layers; ++k) {
        const std::string prefix = "/layers." + std::to_string(k) + "/";
        const auto block = static_cast<std::int32_t>(k);
        Block info{prefix, {}};
        auto add = [&](const std::string &op, std::vector<ValueId> inputs, std::int64_t columns) {
            const std::string name = prefix + op + std::to_string(graph->nodes().size());
            ValueId out = activation(name + "_out", columns);
            Node node;
            node.name = name;
            node.opType = op;
            node.inputs = std::move(inputs);
            node.outputs = {out};
            node.block = block;
            info.nodes.push_back(static_cast<NodeId>(graph->mutableNodes().size()));
            graph->mutableNodes().push_back(node);
            return out;
        };
        ValueId h = stream;
        for (int part = 0; part < 2; ++part) {
            ValueId mean = add("ReduceMean", {h}, 1);
            ValueId centred = add("Sub", {h, mean}, width);
            ValueId squared = add("Mul", {centred, centred}, width);
            ValueId variance = add("ReduceMean", {squared}, 1);
            ValueId norm = add("Div", {centred, add("Sqrt", {variance}, 1)}, width);
            ValueId up = add(
                "MatMul", {norm, weight(prefix + "w" + std::to_string(part * 2), width, 2 * width)},
                2 * width);
            ValueId act = add("Tanh", {up}, 2 * width);
            ValueId gate = add("Mul", {act, up}, 2 * width);
            ValueId scaled = add("Mul", {gate, gate}, 2 * width);
            ValueId down =
                add("MatMul",
                    {scaled, weight(prefix + "w" + std::to_string(part * 2 + 1), 2 * width, width)},
                    width);
            ValueId residual = add("Add", {h, down}, width);
            h = add("Relu", {residual}, width);
        }
        stream = h;
        graph->mutableBlocks().push_back(info);
    }
    graph->mutableOutputs().push_back(stream);
    graph->rebuildIndex();
    return graph;
}

} // namespace

int main(int argc, char **argv)
{
    int layers = 417; // 417 x 26 = 10,842 nodes
    int repeats = 5;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--layers"))
            layers = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[++i]);
    }
    auto graph = makeDecoder(layers, 256);
    plan::DeviceSet devices;
    const double rates[] = {20e12, 20e12, 60e12, 60e12, 8e12, 8e12, 30e12, 30e12};
    for (int d = 0; d < 8; ++d) {
        plan::DeviceSpec spec;
        spec.id = "dev:" + std::to_string(d);
        spec.kind = "cuda";
        spec.flops = rates[d];
        spec.memoryBandwidth = 1e12;
        // Caps force a real split: each device holds about 1/5 of the weights.
        spec.memoryBytes = graph->parameterBytes() / 5;
        devices.devices.push_back(spec);
    }
    devices.defaultLink = plan::LinkSpec{"", "", "pcie4x16", 31.5e9, 5e-6};
    std::printf("planner_bench: %zu nodes, %zu blocks, %zu devices\n", graph->nodes().size(),
                graph->blocks().size(), devices.devices.size());
    bool ok = true;
    for (plan::Objective objective : {plan::Objective::Throughput, plan::Objective::Latency}) {
        plan::PlannerOptions options;
        options.objective = objective;
        options.batch = 32;
        options.microbatches = 8;
        std::vector<double> times;
        plan::PlannerResult last;
        for (int r = 0; r < repeats; ++r) {
            auto started = std::chrono::steady_clock::now();
            auto result = plan::autoPlan(*graph, devices, options);
            times.push_back(std::chrono::duration<double, std::milli>(
                                std::chrono::steady_clock::now() - started)
                                .count());
            if (!result) {
                std::fprintf(stderr, "planning failed: %s\n", result.error().message.c_str());
                return 1;
            }
            last = std::move(result).value();
        }
        std::sort(times.begin(), times.end());
        const double median = times[times.size() / 2];
        std::printf("  %-10s median %7.1f ms (min %.1f) over %d runs, %zu units, %zu stages, "
                    "gap to lower bound %.1f%%; budget 200 ms -> %.2fx of budget\n",
                    plan::objectiveName(objective), median, times.front(), repeats, last.unitCount,
                    last.split.stages.size(), last.gap * 100, median / 200.0);
        ok = ok && median < 200.0;
    }
    std::printf("%s\n", ok ? "PASS: under 200 ms" : "FAIL: over 200 ms");
    return ok ? 0 : 1;
}
