// tp_bench: tensor parallelism on the demo decoder, batch 1.
//
//  Latency of one batch-1 run (input_ids [1, seq]) with the same number of
//  threads in total:
//   - 1 device with T threads (the whole model on cpu:0),
//   - 2-way tensor parallel: 2 devices with T/2 threads each, every block's
//     attention (QKV column-split by heads, output projection row-split) and
//     MLP (column then row) split across them, in-process (threads and the
//     in-process transport's point-to-point collectives).
//  Also printed: the all-reduce time per layer (2 all-reduces per layer:
//  attention and MLP; measured on the stage's shard from entering the
//  collective to holding the sum, so it includes waiting for the peer), the
//  bytes each all-reduce moves, and the max relative error of the split run.
//  Both runs go through the same runner (plan -> openLocalPipeline).
//
//   build/bench/tp_bench [--model FILE] [--input FILE] [--threads T] [--seq S] [--repeats R]
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/runtime/heap_policy.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor_io.h"
#include "core/runtime/tensor_parallel.h"
#include "kernels/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace sb;
using namespace sb::runtime;
using Clock = std::chrono::steady_clock;

namespace {

double median(std::vector<double> values)
{
    std::sort(values.begin(), values.end());
    return values.empty() ? 0 : values[values.size() / 2];
}

std::string cpuName()
{
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0)
            return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

plan::Plan decoderPlan(const graph::Graph &graph, int devices, int threads, std::int64_t seq)
{
    plan::Plan plan;
    plan.batch = 1;
    plan.dims["seq"] = seq;
    for (int i = 0; i < devices; ++i) {
        plan::DeviceSpec spec;
        spec.id = "cpu:" + std::to_string(i);
        spec.kind = "cpu";
        spec.threads = threads;
        spec.memoryBytes = 1ull << 30;
        plan.devices.devices.push_back(spec);
    }
    for (const graph::Node &node : graph.nodes())
        plan.assignment[node.name] = "cpu:0";
    if (devices < 2)
        return plan;
    nlohmann::json ids = nlohmann::json::array();
    for (int i = 0; i < devices; ++i)
        ids.push_back("cpu:" + std::to_string(i));
    for (std::size_t b = 0;; ++b) {
        const std::string block = "/blocks." + std::to_string(b);
        if (!graph.findNode(block + "/mlp/mlp.0/MatMul"))
            break;
        plan.tensorParallel.push_back(
            {{"nodes", {block + "/attn/qkv/MatMul", block + "/mlp/mlp.0/MatMul"}},
             {"devices", ids},
             {"mode", "column"}});
        plan.tensorParallel.push_back(
            {{"nodes", {block + "/attn/proj/MatMul", block + "/mlp/mlp.2/MatMul"}},
             {"devices", ids},
             {"mode", "row"}});
    }
    return plan;
}

struct Measured
{
    double latencyMs = 0;
    double allReducePerLayerMs = 0;
    int allReducesPerRun = 0;
    TensorMap outputs;
};

Result<Measured> measure(std::shared_ptr<graph::Graph> graph, const plan::Plan &plan,
                         const TensorMap &inputs, int repeats, int layers)
{
    SB_ASSIGN_OR_RETURN(auto pipeline,
                        plan::openLocalPipeline(graph, plan, kernels::defaultRegistry()));
    Measured measured;
    std::vector<double> latency, allReduce;
    for (int r = 0; r < repeats + 3; ++r) {
        const auto start = Clock::now();
        SB_ASSIGN_OR_RETURN(PipelineResult result, pipeline->runner->run(inputs, {}));
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        double collective = 0;
        int count = 0;
        for (const TimelineEvent &event : result.metrics.timeline)
            if (event.kind == "all-reduce" && event.stage == 0) {
                collective += event.endMs - event.startMs;
                ++count;
            }
        if (r < 3)
            continue; // warm-up (memory plans, caches)
        latency.push_back(ms);
        allReduce.push_back(collective / std::max(1, layers));
        measured.allReducesPerRun = count;
        measured.outputs = result.outputs;
    }
    measured.latencyMs = median(latency);
    measured.allReducePerLayerMs = median(allReduce);
    return measured;
}

// The collective alone: two threads all-reducing a tensor of `bytes` through
// the in-process transport, no compute between (median ms per all-reduce).
double allReduceAloneMs(std::size_t bytes, int rounds)
{
    InProcessTransport transport;
    if (!transport.open(2, {{0, 1}, {1, 0}}).ok())
        return -1;
    std::vector<double> times;
    std::thread peer([&] {
        Tensor t = Tensor::zeros(graph::ElementType::Float32,
                                 {static_cast<std::int64_t>(bytes / sizeof(float))});
        for (int r = 0; r < rounds; ++r)
            if (!transport.allReduceSum({0, 1}, 1, t, nullptr).ok())
                return;
    });
    Tensor t = Tensor::zeros(graph::ElementType::Float32,
                             {static_cast<std::int64_t>(bytes / sizeof(float))});
    for (int r = 0; r < rounds; ++r) {
        const auto start = Clock::now();
        if (!transport.allReduceSum({0, 1}, 0, t, nullptr).ok())
            break;
        times.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    peer.join();
    return median(times);
}

double relativeError(const Tensor &actual, const Tensor &expected)
{
    double maxAbs = 0, maxRef = 0;
    for (std::int64_t i = 0; i < expected.elementCount(); ++i) {
        maxAbs =
            std::max(maxAbs, std::abs(double(actual.as<float>()[i]) - expected.as<float>()[i]));
        maxRef = std::max(maxRef, std::abs(double(expected.as<float>()[i])));
    }
    return maxRef > 0 ? maxAbs / maxRef : maxAbs;
}

} // namespace

int main(int argc, char **argv)
{
    // Runs allocate the same large blocks each time: keep them mapped (heap_policy.h).
    (void)sb::runtime::keepRunBuffersMapped();
    std::string model = SB_SOURCE_DIR "/resources/demo/decoder.onnx";
    std::string inputFile = SB_SOURCE_DIR "/resources/demo/decoder_input.npy";
    int threads = 2, repeats = 20;
    std::int64_t seq = 64;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto next = [&]() -> std::string {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "tp_bench: %s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--model")
            model = next();
        else if (arg == "--input")
            inputFile = next();
        else if (arg == "--threads")
            threads = std::max(2, std::stoi(next()));
        else if (arg == "--seq")
            seq = std::stoll(next());
        else if (arg == "--repeats")
            repeats = std::max(1, std::stoi(next()));
        else {
            std::fprintf(stderr,
                         "usage: tp_bench [--model FILE] [--input FILE] [--threads T] [--seq S] "
                         "[--repeats R]\n");
            return arg == "--help" ? 0 : 2;
        }
    }
    auto graph = graph::importOnnxFile(model);
    if (!graph) {
        std::fprintf(stderr, "tp_bench: %s\n", graph.error().message.c_str());
        return 1;
    }
    auto ids = readTensorFile(inputFile);
    if (!ids) {
        std::fprintf(stderr, "tp_bench: %s\n", ids.error().message.c_str());
        return 1;
    }
    seq = std::min<std::int64_t>(seq, ids->dim(1));
    Tensor one = Tensor::empty(ids->type(), {1, seq});
    for (std::int64_t t = 0; t < seq; ++t)
        one.as<std::int64_t>()[t] = ids->as<std::int64_t>()[t];
    TensorMap inputs{{(*graph)->value((*graph)->inputs().front()).name, one}};
    int layers = 0;
    while ((*graph)->findNode("/blocks." + std::to_string(layers) + "/mlp/mlp.0/MatMul"))
        ++layers;

    std::printf("tp_bench: %s, batch 1, seq %lld, %d layers; CPU: %s (%d hardware threads)\n",
                model.c_str(), static_cast<long long>(seq), layers, cpuName().c_str(),
                plan::hardwareThreads());
    auto single = measure(*graph, decoderPlan(**graph, 1, threads, seq), inputs, repeats, layers);
    if (!single) {
        std::fprintf(stderr, "tp_bench: %s\n", single.error().message.c_str());
        return 1;
    }
    auto split =
        measure(*graph, decoderPlan(**graph, 2, threads / 2, seq), inputs, repeats, layers);
    if (!split) {
        std::fprintf(stderr, "tp_bench: %s\n", split.error().message.c_str());
        return 1;
    }
    double error = 0;
    for (const auto &[name, expected] : single->outputs)
        error = std::max(error, relativeError(split->outputs.at(name), expected));
    double hidden = 0; // d_model: the output features of a row-split projection
    if (auto proj = (*graph)->findNode("/blocks.0/mlp/mlp.2/MatMul")) {
        const auto &weight = (*graph)->value((*graph)->node(*proj).inputs.at(1));
        if (weight.initializer && weight.initializer->dims().size() == 2)
            hidden = static_cast<double>(weight.initializer->dims()[1]);
    }
    std::printf("1 device x %d threads:        latency %.2f ms (median of %d)\n", threads,
                single->latencyMs, repeats);
    std::printf("2-way tensor parallel x %d:   latency %.2f ms (median of %d), %.2fx the 1-device "
                "latency\n",
                threads / 2, split->latencyMs, repeats, split->latencyMs / single->latencyMs);
    std::printf("all-reduce: %d per run (%d per layer), %.3f ms per layer (%.3f ms each, "
                "%.0f KiB each), %.1f%% of the split run\n",
                split->allReducesPerRun, split->allReducesPerRun / std::max(1, layers),
                split->allReducePerLayerMs,
                split->allReducePerLayerMs * layers / std::max(1, split->allReducesPerRun),
                static_cast<double>(seq) * hidden * 4 / 1024,
                100.0 * split->allReducePerLayerMs * layers / split->latencyMs);
    const auto bytes = static_cast<std::size_t>(static_cast<double>(seq) * hidden * 4);
    std::printf("all-reduce alone (%.0f KiB, 2 threads, in-process transport, no compute): "
                "%.3f ms (median of 500)\n",
                static_cast<double>(bytes) / 1024, allReduceAloneMs(bytes, 500));
    std::printf("max relative error of the split run vs 1 device: %.3g\n", error);
    return error <= 1e-5 ? 0 : 1;
}
