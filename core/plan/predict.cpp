#include "core/plan/predict.h"

#include "core/common/stats.h"
#include "core/plan/local_run.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <set>
#include <thread>

namespace sb::plan {

using graph::Graph;
using graph::NodeId;
using graph::ValueId;
using runtime::KernelProfile;
using runtime::Shape;

namespace {

constexpr std::size_t kAllocatorAlignment = 64; // the executor's RunAllocator

std::uint64_t alignUp(std::uint64_t bytes)
{
    return (bytes + kAllocatorAlignment - 1) / kAllocatorAlignment * kAllocatorAlignment;
}

std::uint64_t elementsOf(const Shape &shape)
{
    std::uint64_t count = 1;
    for (std::int64_t dim : shape)
        count *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
    return count;
}

// ---- probes: small graphs built in memory, one class each

struct ProbeGraph
{
    std::shared_ptr<Graph> graph;
    runtime::TensorMap inputs;
};

class ProbeBuilder
{
public:
    ProbeBuilder()
    {
        m_graph = std::make_shared<Graph>();
        m_graph->opsets[""] = 17;
        m_graph->opsets["sb"] = 1;
    }
    ValueId input(const std::string &name, const Shape &shape)
    {
        ValueId id = value(name, shape);
        m_graph->mutableInputs().push_back(id);
        std::vector<float> data(elementsOf(shape));
        for (std::size_t i = 0; i < data.size(); ++i)
            data[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
        m_inputs[name] = runtime::Tensor::fromVector(graph::ElementType::Float32, shape, data);
        return id;
    }
    ValueId weight(const std::string &name, const Shape &shape)
    {
        ValueId id = value(name, shape);
        std::vector<std::uint8_t> bytes(elementsOf(shape) * sizeof(float));
        auto *floats = reinterpret_cast<float *>(bytes.data());
        for (std::size_t i = 0; i < elementsOf(shape); ++i)
            floats[i] = static_cast<float>((i * 104729) % 1000) / 4000.0f - 0.125f;
        m_graph->mutableValues()[static_cast<std::size_t>(id)].initializer =
            graph::TensorData::fromBytes(graph::ElementType::Float32, shape, std::move(bytes));
        return id;
    }
    ValueId int64Weight(const std::string &name, const std::vector<std::int64_t> &data)
    {
        ValueId id = value(name, {static_cast<std::int64_t>(data.size())});
        auto &v = m_graph->mutableValues()[static_cast<std::size_t>(id)];
        v.info.type = graph::ElementType::Int64;
        std::vector<std::uint8_t> bytes(data.size() * sizeof(std::int64_t));
        std::memcpy(bytes.data(), data.data(), bytes.size());
        v.initializer = graph::TensorData::fromBytes(
            graph::ElementType::Int64, {static_cast<std::int64_t>(data.size())}, std::move(bytes));
        return id;
    }
    ValueId node(const std::string &op, const std::string &domain, std::vector<ValueId> inputs,
                 std::map<std::string, graph::Attribute> attributes = {})
    {
        ValueId out = value("v" + std::to_string(m_graph->values().size()), {});
        m_graph->mutableValues()[static_cast<std::size_t>(out)].info.shape.rankKnown = false;
        graph::Node node;
        node.name = "probe/" + op + std::to_string(m_graph->nodes().size());
        node.opType = op;
        node.domain = domain;
        node.inputs = std::move(inputs);
        node.outputs = {out};
        node.attributes = std::move(attributes);
        m_graph->mutableNodes().push_back(node);
        return out;
    }
    ProbeGraph finish(ValueId output)
    {
        m_graph->mutableOutputs() = {output};
        m_graph->rebuildIndex();
        return {m_graph, m_inputs};
    }

private:
    ValueId value(const std::string &name, const Shape &shape)
    {
        graph::Value v;
        v.name = name;
        v.info.type = graph::ElementType::Float32;
        v.info.shape.rankKnown = true;
        for (std::int64_t d : shape)
            v.info.shape.dims.push_back(graph::Dim::known(d));
        return m_graph->addValue(v);
    }
    std::shared_ptr<Graph> m_graph;
    runtime::TensorMap m_inputs;
};

graph::Attribute ints(std::vector<std::int64_t> values)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Ints;
    a.ints = std::move(values);
    return a;
}
graph::Attribute integer(std::int64_t value)
{
    graph::Attribute a;
    a.kind = graph::Attribute::Kind::Int;
    a.i = value;
    return a;
}

ProbeGraph matmulProbe(std::int64_t m, std::int64_t k, std::int64_t n)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {m, k});
    return b.finish(b.node("MatMul", "", {x, b.weight("w", {k, n})}));
}
ProbeGraph batchedMatmulProbe(std::int64_t batch, std::int64_t m, std::int64_t k, std::int64_t n)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {batch, m, k});
    ValueId y = b.input("y", {batch, k, n});
    return b.finish(b.node("MatMul", "", {x, y}));
}
ProbeGraph convProbe(std::int64_t cin, std::int64_t cout, std::int64_t size, std::int64_t kernel,
                     std::int64_t stride, std::int64_t group)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {1, cin, size, size});
    ValueId w = b.weight("w", {cout, cin / group, kernel, kernel});
    const std::int64_t pad = kernel / 2;
    return b.finish(b.node("Conv", "", {x, w, b.weight("b", {cout})},
                           {{"kernel_shape", ints({kernel, kernel})},
                            {"strides", ints({stride, stride})},
                            {"pads", ints({pad, pad, pad, pad})},
                            {"group", integer(group)}}));
}
ProbeGraph pointwiseDepthwiseProbe(std::int64_t cin, std::int64_t channels, std::int64_t size)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {1, cin, size, size});
    ValueId expanded =
        b.node("Conv", "", {x, b.weight("w1", {channels, cin, 1, 1}), b.weight("b1", {channels})},
               {{"kernel_shape", ints({1, 1})}});
    return b.finish(b.node(
        "Conv", "", {expanded, b.weight("w2", {channels, 1, 3, 3}), b.weight("b2", {channels})},
        {{"kernel_shape", ints({3, 3})},
         {"pads", ints({1, 1, 1, 1})},
         {"group", integer(channels)}}));
}
ProbeGraph unaryProbe(const std::string &op, const std::string &domain, const Shape &shape,
                      std::map<std::string, graph::Attribute> attributes = {})
{
    ProbeBuilder b;
    ValueId x = b.input("x", shape);
    return b.finish(b.node(op, domain, {x}, std::move(attributes)));
}
ProbeGraph addProbe(std::int64_t elements)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {elements});
    ValueId y = b.input("y", {elements});
    return b.finish(b.node("Add", "", {x, y}));
}
ProbeGraph reshapeProbe(std::int64_t rows)
{
    ProbeBuilder b;
    ValueId x = b.input("x", {rows * 64});
    return b.finish(b.node("Reshape", "", {x, b.int64Weight("shape", {rows, 64})}));
}
ProbeGraph reluChain(int length)
{
    ProbeBuilder b;
    ValueId v = b.input("x", {16});
    for (int i = 0; i < length; ++i)
        v = b.node("Relu", "", {v});
    return b.finish(v);
}

struct Probe
{
    std::string rateClass;
    std::function<ProbeGraph(int size)> build; // sizes 0..kProbeSizes-1, small to large
};
constexpr int kProbeSizes = 3;

ProbeGraph globalPoolProbe(std::int64_t batch, std::int64_t channels, std::int64_t size)
{
    return unaryProbe("GlobalAveragePool", "", {batch, channels, size, size});
}

// Sizes span what the benchmark models run per node at batch 1..8: from
// cache-resident to memory-bound.
std::vector<Probe> probes()
{
    return {
        {"gemm.small_m",
         [](int i) {
             const std::int64_t k[] = {256, 512, 1024};
             return matmulProbe(i == 2 ? 8 : 4, k[i], k[i]);
         }},
        {"gemm.square",
         [](int i) {
             const std::int64_t m[] = {64, 256, 512}, n[] = {256, 256, 1024};
             return matmulProbe(m[i], 256, n[i]);
         }},
        {"gemm.tall",
         [](int i) {
             const std::int64_t m[] = {1024, 4096, 16384};
             return matmulProbe(m[i], i == 0 ? 64 : 128, 64);
         }},
        {"gemm.batched",
         [](int i) {
             const std::int64_t b[] = {8, 32, 64};
             return batchedMatmulProbe(b[i], 64, 64, 64);
         }},
        {"conv.im2col",
         [](int i) {
             if (i == 0)
                 return convProbe(128, 256, 28, 3, 2, 1);
             if (i == 1)
                 return convProbe(64, 128, 56, 3, 2, 1);
             return convProbe(3, 64, 224, 7, 2, 1);
         }},
        {"conv.pointwise",
         [](int i) {
             const std::int64_t c[] = {16, 64, 256}, size[] = {28, 56, 14};
             return convProbe(c[i], 2 * c[i], size[i], 1, 1, 1);
         }},
        {"conv.winograd",
         [](int i) {
             const std::int64_t c[] = {64, 128, 64}, size[] = {28, 28, 56};
             return convProbe(c[i], c[i], size[i], 3, 1, 1);
         }},
        {"conv.depthwise",
         [](int i) {
             const std::int64_t c[] = {32, 144, 96}, size[] = {28, 56, 112};
             return convProbe(c[i], c[i], size[i], 3, i == 2 ? 2 : 1, c[i]);
         }},
        {"conv.pointwise_depthwise",
         [](int i) {
             const std::int64_t cin[] = {8, 24, 16}, c[] = {48, 144, 96}, size[] = {28, 56, 112};
             return pointwiseDepthwiseProbe(cin[i], c[i], size[i]);
         }},
        {"pool",
         [](int i) {
             const std::int64_t size[] = {28, 56, 112};
             return unaryProbe("MaxPool", "", {1, 64, size[i], size[i]},
                               {{"kernel_shape", ints({3, 3})},
                                {"strides", ints({2, 2})},
                                {"pads", ints({1, 1, 1, 1})}});
         }},
        {"pool.global",
         [](int i) {
             const std::int64_t b[] = {1, 8, 8}, c[] = {256, 512, 256}, size[] = {14, 7, 28};
             return globalPoolProbe(b[i], c[i], size[i]);
         }},
        {"mem.elementwise", [](int i) { return addProbe(std::int64_t{1} << (14 + 3 * i)); }},
        {"mem.normalization",
         [](int i) {
             return unaryProbe("Softmax", "", {std::int64_t{64} << (3 * i), 256});
         }},
        {"mem.transpose",
         [](int i) {
             return unaryProbe("Transpose", "", {8, std::int64_t{16} << (2 * i), 8, 64},
                               {{"perm", ints({0, 2, 1, 3})}});
         }},
        {"mem.gelu",
         [](int i) { return unaryProbe("Gelu", "sb", {std::int64_t{1} << (14 + 3 * i)}); }},
        {"mem.copy", [](int i) { return reshapeProbe(std::int64_t{256} << (3 * i)); }},
        {"reduce",
         [](int i) {
             return unaryProbe("ReduceMean", "", {std::int64_t{64} << (3 * i), 256},
                               {{"axes", ints({-1})}});
         }},
    };
}

// time = overhead + work / rate, fitted to the probe points by least squares
// on relative error (weights 1 / t^2), so small and large nodes count alike.
ClassRate fitRate(const std::vector<double> &work, const std::vector<double> &seconds)
{
    double sw = 0, sx = 0, sxx = 0, sy = 0, sxy = 0;
    for (std::size_t i = 0; i < work.size(); ++i) {
        const double weight = 1.0 / (seconds[i] * seconds[i]);
        sw += weight;
        sx += weight * work[i];
        sxx += weight * work[i] * work[i];
        sy += weight * seconds[i];
        sxy += weight * work[i] * seconds[i];
    }
    const double det = sw * sxx - sx * sx;
    double overhead = det != 0 ? (sy * sxx - sx * sxy) / det : 0;
    double slope = det != 0 ? (sw * sxy - sx * sy) / det : 0;
    if (overhead < 0 || slope <= 0) { // through the origin
        overhead = 0;
        slope = sxx > 0 ? sxy / sxx : 0;
    }
    ClassRate rate;
    rate.overheadSeconds = overhead;
    rate.unitsPerSecond = slope > 0 ? 1.0 / slope : 0;
    return rate;
}

// Median seconds of `repeats` runs after one warm-up (which plans memory).
Result<double> timeRuns(const runtime::Executor &executor, const runtime::TensorMap &inputs,
                        int repeats, const CancelToken *cancel)
{
    using Clock = std::chrono::steady_clock;
    runtime::RunOptions options;
    options.cancel = cancel;
    SB_TRY(executor.run(inputs, options));
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r) {
        const auto started = Clock::now();
        SB_TRY(executor.run(inputs, options));
        seconds.push_back(std::chrono::duration<double>(Clock::now() - started).count());
    }
    return percentile(seconds, 50);
}

// Kernels without a profile: memory-bound, by the bytes they move: their
// outputs, their computed inputs, and of a constant input (a table, a bias)
// no more than the output's size (a Gather reads rows, not the table).
KernelProfile defaultProfile(const std::vector<Shape> &in, const std::vector<bool> &constant,
                             const std::vector<Shape> &out)
{
    double outBytes = 0, bytes = 0;
    for (const Shape &s : out)
        outBytes += static_cast<double>(elementsOf(s)) * 4.0;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const double inBytes = static_cast<double>(elementsOf(in[i])) * 4.0;
        bytes += constant[i] ? std::min(inBytes, outBytes) : inBytes;
    }
    return {kDefaultRateClass, bytes + outBytes, 0};
}

struct PricedNode
{
    KernelProfile profile;
    std::vector<Shape> outputs;
    bool exact = true;
};

PricedNode profileNode(const runtime::Executor &executor,
                       const runtime::Executor::ExecutedStep &step, const ValueShapes &shapes,
                       int threads)
{
    const Graph &g = executor.executedGraph();
    const graph::Node &node = g.node(step.node);
    PricedNode priced;
    auto shapeOf = [&](ValueId id) -> Shape {
        if (auto constant = executor.constantShape(id))
            return *constant;
        auto it = shapes.find(g.value(id).name);
        if (it != shapes.end())
            return it->second;
        priced.exact = false;
        return {};
    };
    std::vector<Shape> in;
    std::vector<bool> constant;
    for (ValueId id : node.inputs) {
        in.push_back(id == graph::kNoValue ? Shape{} : shapeOf(id));
        constant.push_back(id != graph::kNoValue && executor.constantShape(id).has_value());
    }
    for (ValueId id : node.outputs)
        priced.outputs.push_back(id == graph::kNoValue ? Shape{} : shapeOf(id));
    priced.profile = step.kernel && step.kernel->profile
                         ? step.kernel->profile(node, in, priced.outputs, threads)
                         : defaultProfile(in, constant, priced.outputs);
    // A kernel that chose another implementation for these shapes (oneDNN's,
    // on an earlier run) takes that one's declared scratch.
    if (step.state) {
        std::vector<const Shape *> present;
        for (std::size_t i = 0; i < in.size(); ++i)
            present.push_back(node.inputs[i] == graph::kNoValue ? nullptr : &in[i]);
        if (auto chosen = step.state->chosenScratch(runtime::inputShapesKey(present)))
            priced.profile.scratchBytes = *chosen;
    }
    return priced;
}

} // namespace

Result<ValueShapes> valueShapesByName(const Graph &graph, const cost::DimBindings &bindings)
{
    SB_ASSIGN_OR_RETURN(cost::GraphCost cost, cost::computeCost(graph, bindings));
    ValueShapes shapes;
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        if (v < cost.valueShapes.size() && cost.valueShapes[v])
            shapes[graph.values()[v].name] = *cost.valueShapes[v];
        else if (graph.values()[v].initializer)
            shapes[graph.values()[v].name] = graph.values()[v].initializer->dims();
    }
    return shapes;
}

namespace {

// Spins until this thread has had `ms` of CPU time: a stage's compute that,
// like real compute, takes longer while the thread waits for a core.
void spinThreadCpu(double ms)
{
    auto cpuMs = [] {
        timespec now{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
        return static_cast<double>(now.tv_sec) * 1e3 + static_cast<double>(now.tv_nsec) / 1e6;
    };
    const double start = cpuMs();
    while (cpuMs() - start < ms) {
    }
}

} // namespace

namespace {

// calibrate's probe pipeline: `stages` 1-thread CPU stages of one Relu each
// over a batch of `microbatches` rows (symbolic batch axis, so the runner
// splits it).
struct ScheduleProbe
{
    ProbeGraph probe;
    std::vector<std::unique_ptr<runtime::CpuDevice>> devices; // the runner's stages run on them
    std::unique_ptr<runtime::PipelineRunner> runner;
};

Result<ScheduleProbe> makeScheduleProbe(const runtime::KernelRegistry &registry, int stages,
                                        int microbatches)
{
    ScheduleProbe out;
    ProbeBuilder builder;
    ValueId value = builder.input("x", {microbatches, 16});
    for (int s = 0; s < stages; ++s)
        value = builder.node("Relu", "", {value});
    out.probe = builder.finish(value);
    for (graph::Value &v : out.probe.graph->mutableValues()) {
        v.info.shape.rankKnown = true;
        v.info.shape.dims = {graph::Dim::symbolic("N"), graph::Dim::known(16)};
    }
    std::vector<runtime::PipelineStageSpec> specs(static_cast<std::size_t>(stages));
    for (int s = 0; s < stages; ++s) {
        out.devices.push_back(std::make_unique<runtime::CpuDevice>(
            "cpu:schedule" + std::to_string(s), 1, 0, registry));
        specs[static_cast<std::size_t>(s)].device = out.devices.back().get();
        specs[static_cast<std::size_t>(s)].nodes.push_back(static_cast<graph::NodeId>(s));
    }
    SB_ASSIGN_OR_RETURN(out.runner, runtime::PipelineRunner::create(out.probe.graph, specs));
    std::string note;
    if (out.runner->effectiveMicrobatches(out.probe.inputs, microbatches, &note) != microbatches)
        return makeError(ErrorCode::Internal, "schedule probe: " + note);
    return out;
}

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// KernelRates::coRunSpeed of one probe: its largest graph on one thread,
// alone vs with a copy running on each of the other `cores` - 1 cores, in
// three rounds (alone, then together), the median of the rounds' ratios: a
// moment the machine stalls in one block does not decide it (one block read
// 0.06 once). At worst the copies take turns, so no lower than 1 / cores.
Result<double> measureCoRunSpeed(const runtime::KernelRegistry &registry, const Probe &probe,
                                 int cores, int repeats, const CancelToken *cancel)
{
    constexpr int kRounds = 3;
    ProbeGraph timed = probe.build(kProbeSizes - 1);
    runtime::CpuDevice device("cpu:calibrate", 1, 0, registry);
    SB_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(timed.graph, device));
    struct Copy
    {
        ProbeGraph graph;
        std::unique_ptr<runtime::CpuDevice> device;
        std::unique_ptr<runtime::Executor> executor;
    };
    std::vector<Copy> copies;
    for (int c = 1; c < cores; ++c) {
        Copy copy{probe.build(kProbeSizes - 1),
                  std::make_unique<runtime::CpuDevice>("cpu:calibrate-co-run", 1, 0, registry),
                  nullptr};
        SB_ASSIGN_OR_RETURN(copy.executor,
                            runtime::Executor::create(copy.graph.graph, *copy.device));
        copies.push_back(std::move(copy));
    }
    // The copies run while `running`; `busy` counts the ones inside a run,
    // `runs` the runs they finished.
    std::atomic<bool> stop{false}, running{false};
    std::atomic<int> busy{0};
    std::atomic<long> runs{0};
    std::vector<std::thread> threads;
    for (Copy &copy : copies)
        threads.emplace_back([&, &copy = copy] {
            while (!stop.load()) {
                if (!running.load()) {
                    std::this_thread::sleep_for(std::chrono::microseconds(50));
                    continue;
                }
                busy.fetch_add(1);
                const bool ok = static_cast<bool>(copy.executor->run(copy.graph.inputs));
                busy.fetch_sub(1);
                runs.fetch_add(1);
                if (!ok) { // the timed run fails the same way and says why
                    stop = true;
                    break;
                }
            }
        });
    auto setRunning = [&](bool on) {
        running = on;
        if (on) { // every copy under way: each has finished a run since
            const long from = runs.load();
            while (runs.load() < from + 2 * static_cast<long>(copies.size()) && !stop.load())
                std::this_thread::yield();
        } else {
            while (busy.load() > 0)
                std::this_thread::yield();
        }
    };
    std::vector<double> ratios;
    Status failed;
    for (int round = 0; round < kRounds && failed.ok(); ++round) {
        setRunning(false);
        Result<double> alone = timeRuns(*executor, timed.inputs, repeats, cancel);
        setRunning(true);
        Result<double> together = timeRuns(*executor, timed.inputs, repeats, cancel);
        if (!alone || !together)
            failed = alone ? together.error() : alone.error();
        else if (*together > 0)
            ratios.push_back(*alone / *together);
    }
    stop = true;
    for (std::thread &thread : threads)
        thread.join();
    if (!failed.ok())
        return failed.error();
    if (ratios.empty())
        return 1.0;
    return std::clamp(percentile(ratios, 50), 1.0 / static_cast<double>(cores), 1.0);
}

} // namespace

Result<double> measureScheduleFactor(const runtime::KernelRegistry &registry, int stages, int cores,
                                     const CancelToken *cancel)
{
    constexpr int kMicrobatches = 8;
    constexpr double kScheduleProbeCpuMs = 1.5;
    constexpr int kRuns = 9;
    SB_ASSIGN_OR_RETURN(ScheduleProbe probe, makeScheduleProbe(registry, stages, kMicrobatches));
    runtime::PipelineRunOptions options;
    options.microbatches = kMicrobatches;
    options.cancel = cancel;
    options.onStageStart = [](int, int) { spinThreadCpu(kScheduleProbeCpuMs); };
    std::vector<double> walls;
    for (int r = 0; r <= kRuns; ++r) {
        const auto started = std::chrono::steady_clock::now();
        SB_ASSIGN_OR_RETURN(runtime::PipelineResult result,
                            probe.runner->run(probe.probe.inputs, options));
        if (r > 0)
            walls.push_back(msSince(started));
    }
    std::vector<runtime::ScheduleStage> model(static_cast<std::size_t>(stages));
    for (int s = 0; s < stages; ++s) {
        model[static_cast<std::size_t>(s)].computeMs = kScheduleProbeCpuMs;
        if (s + 1 < stages)
            model[static_cast<std::size_t>(s)].sendBytes[s + 1] = 2 * 16 * sizeof(float);
    }
    runtime::ScheduleOptions scheduleOptions;
    scheduleOptions.microbatches = kMicrobatches;
    scheduleOptions.cores = cores;
    scheduleOptions.timeSliceMs = runtime::kSchedulerTimeSliceMs; // as predictPipeline models it
    scheduleOptions.coreSlots = probe.runner->coreSlots();
    const double predicted = runtime::simulateSchedule(model, scheduleOptions).wallMs;
    if (predicted <= 0)
        return makeError(ErrorCode::Internal, "schedule probe: no predicted wall time");
    return std::clamp(percentile(walls, 50) / predicted, 0.5, 2.0);
}

Result<KernelRates::PipelineOverhead>
measurePipelineOverhead(const runtime::KernelRegistry &registry, int stages,
                        const CancelToken *cancel)
{
    constexpr int kRuns = 15;
    SB_ASSIGN_OR_RETURN(ScheduleProbe probe, makeScheduleProbe(registry, stages, 1));
    runtime::PipelineRunOptions options;
    options.microbatches = 1;
    options.cancel = cancel;
    std::vector<double> walls, latencies;
    for (int r = 0; r <= kRuns; ++r) {
        const auto started = std::chrono::steady_clock::now();
        SB_ASSIGN_OR_RETURN(runtime::PipelineResult result,
                            probe.runner->run(probe.probe.inputs, options));
        if (r == 0)
            continue;
        walls.push_back(msSince(started));
        latencies.push_back(result.metrics.microbatchLatencyMs.empty()
                                ? 0.0
                                : result.metrics.microbatchLatencyMs.front());
    }
    const double wall = percentile(walls, 50), latency = percentile(latencies, 50);
    KernelRates::PipelineOverhead overhead;
    overhead.runMs = std::max(0.0, wall - latency);
    overhead.handoffMs = stages > 1 ? latency / static_cast<double>(stages - 1) : 0.0;
    return overhead;
}

// A chain of `count` MatMuls of 64 rows through n x n weights of 1 MiB each:
// what a transformer stage does per micro-batch, with `count` MiB of weights.
ProbeGraph weightChain(int count)
{
    constexpr std::int64_t kRows = 64, kWidth = 512; // 512 x 512 floats = 1 MiB
    ProbeBuilder b;
    ValueId v = b.input("x", {kRows, kWidth});
    for (int i = 0; i < count; ++i) {
        char name[16];
        std::snprintf(name, sizeof name, "w%d", i);
        v = b.node("MatMul", "", {v, b.weight(name, {kWidth, kWidth})});
    }
    return b.finish(v);
}

Result<std::vector<KernelRates::WeightStreamPoint>>
measureWeightStreamCost(const runtime::KernelRegistry &registry, int repeats,
                        const CancelToken *cancel)
{
    constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
    const int counts[] = {1, 2, 4, 8, 12, 16, 24, 32, 48};
    runtime::CpuDevice device("cpu:calibrate", 1, 0, registry);
    struct Chain
    {
        int count = 0;
        ProbeGraph graph;
        std::unique_ptr<runtime::Executor> executor;
        std::vector<double> secondsPerMiB;
    };
    std::vector<Chain> chains;
    for (int count : counts) {
        Chain chain{count, weightChain(count), nullptr, {}};
        SB_ASSIGN_OR_RETURN(chain.executor, runtime::Executor::create(chain.graph.graph, device));
        chains.push_back(std::move(chain));
    }
    // Rounds over every chain, so that the host's drift falls on all alike;
    // in each, a chain runs 8 times back to back (a stage's micro-batches),
    // after one untimed run that brings its weights in as far as they fit.
    constexpr int kRunsPerRound = 8;
    runtime::RunOptions options;
    options.cancel = cancel;
    for (int round = 0; round < std::max(3, repeats / 2); ++round)
        for (Chain &chain : chains) {
            SB_TRY(chain.executor->run(chain.graph.inputs, options));
            const auto started = std::chrono::steady_clock::now();
            for (int r = 0; r < kRunsPerRound; ++r)
                SB_TRY(chain.executor->run(chain.graph.inputs, options));
            const double seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            chain.secondsPerMiB.push_back(seconds / kRunsPerRound / chain.count);
        }
    // Each size's cost per MiB beyond the smallest's (weights in the core's
    // own cache, as the class probes have them), never less than a smaller
    // size's: a set that outgrows the caches does not get cheaper.
    std::vector<KernelRates::WeightStreamPoint> points;
    const double base = percentile(chains.front().secondsPerMiB, 50);
    double extra = 0;
    for (const Chain &chain : chains) {
        extra = std::max(extra, percentile(chain.secondsPerMiB, 50) - base);
        points.push_back(
            {static_cast<std::uint64_t>(chain.count) * kMiB, extra / static_cast<double>(kMiB)});
    }
    return points;
}

Result<KernelRates> measureKernelRates(const runtime::KernelRegistry &registry,
                                       const KernelProbeOptions &options)
{
    KernelRates rates;
    const int maxThreads = options.maxThreads > 0 ? options.maxThreads : hardwareThreads();
    const std::vector<Probe> list = probes();
    const double steps = static_cast<double>(maxThreads) * static_cast<double>(list.size() + 1);
    int done = 0;
    // The schedule probes (as many 1-thread stages as cores, and one more)
    // in three blocks spread over the calibration, the median of the three
    // kept: a whole 9-run block once read 1.84 (and another 1.41) for the
    // stages that outnumber the cores, where the plans then measured about 1.1.
    std::vector<double> fits, oversubscribed;
    auto scheduleBlock = [&]() -> Status {
        SB_ASSIGN_OR_RETURN(
            double fit, measureScheduleFactor(registry, maxThreads, maxThreads, options.cancel));
        SB_ASSIGN_OR_RETURN(double over, measureScheduleFactor(registry, maxThreads + 1, maxThreads,
                                                               options.cancel));
        fits.push_back(fit);
        oversubscribed.push_back(over);
        return Status::success();
    };
    SB_TRY(scheduleBlock());
    for (int threads = 1; threads <= maxThreads; ++threads) {
        runtime::CpuDevice device("cpu:calibrate", threads, 0, registry);
        auto cancelled = [&] { return options.cancel && options.cancel->isCancelled(); };
        // Per-run overhead: a 1-node vs a 9-node chain of tiny nodes.
        {
            if (options.progress)
                options.progress(done++ / steps,
                                 "run overhead, " + std::to_string(threads) + " thread(s)");
            ProbeGraph one = reluChain(1), nine = reluChain(9);
            SB_ASSIGN_OR_RETURN(auto e1, runtime::Executor::create(one.graph, device));
            SB_ASSIGN_OR_RETURN(auto e9, runtime::Executor::create(nine.graph, device));
            SB_ASSIGN_OR_RETURN(double t1, timeRuns(*e1, one.inputs, 25, options.cancel));
            SB_ASSIGN_OR_RETURN(double t9, timeRuns(*e9, nine.inputs, 25, options.cancel));
            const double perNode = std::max(0.0, (t9 - t1) / 8.0);
            rates.runOverheadSeconds[threads] = std::max(0.0, t1 - perNode);
            rates.nodeOverheadSeconds[threads] = perNode;
        }
        for (const Probe &probe : list) {
            if (cancelled())
                return makeError(ErrorCode::Cancelled, "calibration cancelled");
            if (options.progress)
                options.progress(done++ / steps,
                                 probe.rateClass + ", " + std::to_string(threads) + " thread(s)");
            std::vector<double> work, seconds;
            bool matches = true;
            for (int size = 0; size < kProbeSizes; ++size) {
                ProbeGraph probeGraph = probe.build(size);
                SB_ASSIGN_OR_RETURN(auto executor,
                                    runtime::Executor::create(probeGraph.graph, device));
                cost::DimBindings none;
                SB_ASSIGN_OR_RETURN(ValueShapes shapes, valueShapesByName(*probeGraph.graph, none));
                for (const auto &[name, tensor] : probeGraph.inputs)
                    shapes[name] = tensor.shape();
                // Output shapes: one untimed run tells them (probe graphs
                // leave outputs unshaped).
                SB_ASSIGN_OR_RETURN(auto ran, executor->run(probeGraph.inputs));
                for (const auto &[name, tensor] : ran.outputs)
                    shapes[name] = tensor.shape();
                double classWork = 0, otherNodes = 0;
                for (const auto &step : executor->executedSteps()) {
                    PricedNode priced = profileNode(*executor, step, shapes, threads);
                    if (priced.profile.rateClass == probe.rateClass)
                        classWork += priced.profile.work;
                    else
                        otherNodes += 1;
                }
                matches = matches && classWork > 0 && otherNodes == 0;
                SB_ASSIGN_OR_RETURN(double t, timeRuns(*executor, probeGraph.inputs,
                                                       options.repeats, options.cancel));
                work.push_back(classWork);
                // The class's own time: without the run's and its nodes'
                // dispatch, which every node is priced with apart.
                const double dispatch = rates.runOverheadSeconds[threads] +
                                        static_cast<double>(executor->executedSteps().size()) *
                                            rates.nodeOverheadSeconds[threads];
                seconds.push_back(std::max(1e-9, t - dispatch));
            }
            // Every size must run this path (Winograd needs >= 64 tiles, ...);
            // a class whose probes the kernels no longer run that way is skipped.
            if (!matches)
                continue;
            const ClassRate rate = fitRate(work, seconds);
            if (rate.unitsPerSecond <= 0)
                continue;
            rates.classes[probe.rateClass][threads] = rate;
            if (threads == 1 && maxThreads > 1) {
                SB_ASSIGN_OR_RETURN(rates.coRunSpeed[probe.rateClass],
                                    measureCoRunSpeed(registry, probe, maxThreads, options.repeats,
                                                      options.cancel));
                rates.coRunCores = maxThreads;
            }
        }
        if (threads == 1)
            SB_TRY(scheduleBlock());
    }
    if (options.progress)
        options.progress(done / steps, "weights beyond the cache");
    SB_ASSIGN_OR_RETURN(rates.weightStream,
                        measureWeightStreamCost(registry, options.repeats, options.cancel));
    if (options.progress)
        options.progress(done / steps, "pipeline schedule");
    SB_TRY(scheduleBlock());
    rates.scheduleFactorFits = percentile(fits, 50);
    rates.scheduleFactorOversubscribed = percentile(oversubscribed, 50);
    // Up to 9 stages: plans of more take the 9-stage figures (pipelineOverheadFor).
    for (int stages = 1; stages <= std::min(maxThreads + 1, 9); ++stages) {
        SB_ASSIGN_OR_RETURN(rates.pipelineOverhead[stages],
                            measurePipelineOverhead(registry, stages, options.cancel));
    }
    if (options.progress)
        options.progress(1.0, "kernel rates done");
    return rates;
}

namespace {

// Each executed step priced once (profileNode), in the executor's order.
std::vector<PricedNode> profileSteps(const runtime::Executor &executor, const ValueShapes &shapes,
                                     int threads)
{
    std::vector<PricedNode> priced;
    for (const auto &step : executor.executedSteps())
        priced.push_back(profileNode(executor, step, shapes, threads));
    return priced;
}

// Per executed step (`priced` from profileSteps), the bytes of the constant
// inputs of a GEMM node (0 for other nodes); *setBytes: those constants,
// each counted once: the weights the executor's GEMMs stream through the
// caches per run.
std::vector<std::uint64_t> gemmWeightBytes(const runtime::Executor &executor,
                                           const std::vector<PricedNode> &priced,
                                           std::uint64_t *setBytes)
{
    const Graph &g = executor.executedGraph();
    const auto steps = executor.executedSteps();
    std::vector<std::uint64_t> bytesOfStep(steps.size(), 0);
    std::vector<bool> counted(g.values().size(), false);
    std::uint64_t set = 0;
    for (std::size_t s = 0; s < steps.size() && s < priced.size(); ++s) {
        if (priced[s].profile.rateClass.rfind("gemm", 0) != 0)
            continue;
        for (ValueId in : g.node(steps[s].node).inputs) {
            if (in == graph::kNoValue)
                continue;
            auto constant = executor.constantShape(in);
            if (!constant)
                continue;
            const std::size_t element = graph::elementSize(g.value(in).info.type) > 0
                                            ? graph::elementSize(g.value(in).info.type)
                                            : sizeof(float);
            const std::uint64_t bytes = elementsOf(*constant) * element;
            bytesOfStep[s] += bytes;
            if (!counted[static_cast<std::size_t>(in)]) {
                counted[static_cast<std::size_t>(in)] = true;
                set += bytes;
            }
        }
    }
    if (setBytes)
        *setBytes = set;
    return bytesOfStep;
}

// StagePrediction::contention: the stage's time with every calibrated core
// busy, node by node at its class's co-run speed (else its layout base's,
// else the mean of the measured classes; the output copy at mem.copy's and
// the dispatch overheads at the mean), spread evenly over the other cores.
double stageContention(const StagePrediction &stage, const KernelRates &rates,
                       std::uint64_t coRunSetBytes)
{
    if (rates.coRunSpeed.empty() || rates.coRunCores < 2 || stage.seconds <= 0)
        return 0;
    double mean = 0;
    for (const auto &[rateClass, speed] : rates.coRunSpeed)
        mean += speed;
    mean /= static_cast<double>(rates.coRunSpeed.size());
    auto speedOf = [&](const std::string &rateClass) {
        auto it = rates.coRunSpeed.find(rateClass);
        if (it == rates.coRunSpeed.end())
            it = rates.coRunSpeed.find(layoutVariantBase(rateClass));
        return it == rates.coRunSpeed.end() ? mean : it->second;
    };
    // Its GEMMs' weights share the caches with the other cores' stages'.
    const double coRunStream = rates.weightStreamSecondsPerByte(coRunSetBytes);
    double attributed = 0, busy = 0; // seconds, alone and with every core busy
    for (const NodePrediction &node : stage.nodes) {
        attributed += node.seconds;
        busy += (node.seconds - node.streamSeconds) / speedOf(node.rateClass) +
                std::max(node.streamSeconds, static_cast<double>(node.weightBytes) * coRunStream);
    }
    attributed += stage.outputCopySeconds;
    busy += stage.outputCopySeconds / speedOf("mem.copy");
    const double rest = std::max(0.0, stage.seconds - attributed);
    busy += rest / mean;
    const double slowdown = busy / stage.seconds; // >= 1 at coRunCores busy
    return std::max(0.0, slowdown - 1.0) / static_cast<double>(rates.coRunCores - 1);
}

} // namespace

StagePrediction predictStage(const runtime::Executor &executor, const ValueShapes &shapes,
                             const KernelRates &rates, int threads, double cacheShare,
                             std::uint64_t coRunWeightBytes)
{
    StagePrediction stage;
    const Graph &g = executor.executedGraph();
    const auto steps = executor.executedSteps();
    // Liveness as the executor frees: after a value's last reader; stage
    // outputs live to the end; values never read are freed right away.
    std::vector<int> lastUse(g.values().size(), -1), producedAt(g.values().size(), -1);
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const graph::Node &node = g.node(steps[s].node);
        for (ValueId in : node.inputs)
            if (in != graph::kNoValue)
                lastUse[static_cast<std::size_t>(in)] = static_cast<int>(s);
        for (ValueId out : node.outputs)
            if (out != graph::kNoValue)
                producedAt[static_cast<std::size_t>(out)] = static_cast<int>(s);
    }
    for (const std::string &name : executor.outputNames())
        if (auto id = g.findValue(name))
            lastUse[static_cast<std::size_t>(*id)] = static_cast<int>(steps.size());
    const std::vector<PricedNode> pricedSteps = profileSteps(executor, shapes, threads);
    const std::vector<std::uint64_t> weightBytesOfStep =
        gemmWeightBytes(executor, pricedSteps, &stage.weightSetBytes);
    const auto effectiveSet = static_cast<std::uint64_t>(static_cast<double>(stage.weightSetBytes) *
                                                         std::max(1.0, cacheShare));
    std::vector<std::uint64_t> held(g.values().size(), 0);
    std::uint64_t live = 0;
    for (std::size_t s = 0; s < steps.size(); ++s) {
        const graph::Node &node = g.node(steps[s].node);
        const PricedNode &priced = pricedSteps[s];
        stage.exact = stage.exact && priced.exact;
        NodePrediction prediction;
        prediction.node = node.name;
        prediction.opType = node.domain.empty() ? node.opType : node.domain + "." + node.opType;
        prediction.rateClass = priced.profile.rateClass;
        prediction.work = priced.profile.work;
        prediction.scratchBytes = priced.profile.scratchBytes;
        std::optional<ClassRate> rate = rates.find(prediction.rateClass, threads);
        // A layout variant ("conv.pointwise.nhwc") has no probe of its own:
        // its path's rate, corrected by the factor runs teach the variant.
        const std::string layoutBase = layoutVariantBase(prediction.rateClass);
        if (rate) {
            prediction.rateSource = "calibrated " + prediction.rateClass;
        } else if (!layoutBase.empty() && (rate = rates.find(layoutBase, threads))) {
            prediction.rateSource =
                "calibrated " + layoutBase + " (no " + prediction.rateClass + " rate)";
        } else if ((rate = rates.find(kDefaultRateClass, threads))) {
            prediction.rateSource = "calibrated " + std::string(kDefaultRateClass) + " (no " +
                                    prediction.rateClass + " rate)";
        } else {
            // Never calibrated: the documented defaults.
            const bool compute = prediction.rateClass.rfind("gemm", 0) == 0 ||
                                 prediction.rateClass.rfind("conv", 0) == 0;
            rate = ClassRate{5e-6, compute ? kDefaultCpuFlopsPerThread * threads
                                           : kDefaultCpuCopyBandwidth};
            prediction.rateSource = "default (not calibrated)";
        }
        prediction.seconds = rate->overheadSeconds + prediction.work / rate->unitsPerSecond;
        // A factor learned for this size of work and thread count
        // ("gemm.square@1/w9") wins over the thread count's ("gemm.square@1"),
        // which wins over the class's ("gemm.square").
        auto learned =
            rates.learned.find(learnedSizeKey(prediction.rateClass, threads, prediction.work));
        if (learned == rates.learned.end())
            learned = rates.learned.find(prediction.rateClass + "@" + std::to_string(threads));
        if (learned == rates.learned.end())
            learned = rates.learned.find(prediction.rateClass);
        if (learned != rates.learned.end() && learned->second != 1.0) {
            prediction.seconds *= learned->second;
            char factor[32];
            std::snprintf(factor, sizeof factor, " x%.3f learned", learned->second);
            prediction.rateSource += factor;
        }
        if (prediction.rateClass.rfind("gemm", 0) == 0 && weightBytesOfStep[s] > 0) {
            // Its weights come from beyond the core's cache when the stage's
            // set does not stay there between runs (not scaled by the learned
            // factor: that corrects the class's rate).
            prediction.weightBytes = weightBytesOfStep[s];
            prediction.streamSeconds = static_cast<double>(prediction.weightBytes) *
                                       rates.weightStreamSecondsPerByte(effectiveSet);
            if (prediction.streamSeconds > 0) {
                prediction.seconds += prediction.streamSeconds;
                char text[96];
                std::snprintf(text, sizeof text, " + %.0f us for %.1f MiB of weights",
                              prediction.streamSeconds * 1e6,
                              static_cast<double>(prediction.weightBytes) / 1048576.0);
                prediction.rateSource += text;
            }
        }
        prediction.seconds += rates.nodeOverhead(threads);
        stage.seconds += prediction.seconds;
        stage.peakScratchBytes = std::max(stage.peakScratchBytes, prediction.scratchBytes);
        // Allocator replay: outputs allocated, then unread outputs and
        // inputs at their last use freed.
        for (std::size_t o = 0; o < node.outputs.size(); ++o) {
            ValueId out = node.outputs[o];
            if (out == graph::kNoValue)
                continue;
            const auto index = static_cast<std::size_t>(out);
            const graph::ElementType type = g.value(out).info.type;
            const std::size_t element =
                graph::elementSize(type) > 0 ? graph::elementSize(type) : sizeof(float);
            live -= held[index];
            held[index] = alignUp(elementsOf(priced.outputs[o]) * element);
            live += held[index];
            stage.peakActivationBytes = std::max<std::uint64_t>(stage.peakActivationBytes, live);
        }
        // The kernel's scratch lives with its outputs until the node ends.
        if (prediction.scratchBytes > 0)
            stage.peakActivationBytes = std::max<std::uint64_t>(
                stage.peakActivationBytes, live + alignUp(prediction.scratchBytes));
        for (ValueId out : node.outputs)
            if (out != graph::kNoValue &&
                lastUse[static_cast<std::size_t>(out)] < static_cast<int>(s)) {
                live -= held[static_cast<std::size_t>(out)];
                held[static_cast<std::size_t>(out)] = 0;
            }
        for (ValueId in : node.inputs) {
            if (in == graph::kNoValue)
                continue;
            const auto index = static_cast<std::size_t>(in);
            if (lastUse[index] == static_cast<int>(s) && producedAt[index] >= 0) {
                live -= held[index];
                held[index] = 0;
            }
        }
        stage.nodes.push_back(std::move(prediction));
    }
    // Executor::run hands its outputs back as copies out of the arena, on the
    // calling thread: as many bytes read and written as a one-thread Identity,
    // or a one-thread Transpose for an output its producer stored
    // channels-last (handed back planar).
    double outputBytes = 0, channelsLastOutputBytes = 0;
    for (const std::string &name : executor.outputNames())
        if (auto id = g.findValue(name)) {
            const double bytes = static_cast<double>(held[static_cast<std::size_t>(*id)]);
            const graph::NodeId producer = g.value(*id).producer;
            if (producer != graph::kNoNode &&
                g.node(producer).intAttr("channels_last_output", 0) == 1)
                channelsLastOutputBytes += bytes;
            else
                outputBytes += bytes;
        }
    auto copySeconds = [&](const char *rateClass, double bytes) {
        if (bytes <= 0)
            return 0.0;
        std::optional<ClassRate> copy = rates.find(rateClass, 1);
        if (!copy)
            copy = ClassRate{0, kDefaultCpuCopyBandwidth};
        return copy->overheadSeconds + 2 * bytes / copy->unitsPerSecond;
    };
    stage.outputCopySeconds = copySeconds("mem.copy", outputBytes) +
                              copySeconds("mem.transpose", channelsLastOutputBytes);
    stage.seconds += stage.outputCopySeconds;
    stage.seconds += rates.runOverhead(threads);
    stage.contention = stageContention(stage, rates, effectiveSet + coRunWeightBytes);
    return stage;
}

Result<PipelinePrediction> predictPipeline(const Graph &graph,
                                           const runtime::PipelineRunner &runner,
                                           const KernelRates &rates,
                                           const PipelinePredictOptions &options)
{
    PipelinePrediction prediction;
    const int microbatches = std::max(1, options.microbatches);
    prediction.microbatches = microbatches;
    cost::DimBindings bindings;
    bindings.batch = std::max<std::int64_t>(1, options.batch / microbatches);
    bindings.dims = options.dims;
    SB_ASSIGN_OR_RETURN(ValueShapes shapes, valueShapesByName(graph, bindings));
    const runtime::PipelineRouting &routing = runner.routing();
    std::vector<runtime::ScheduleStage> schedule;
    // Per stage: destination -> bytes of one message in a transfer buffer.
    std::vector<std::map<int, std::uint64_t>> transferBytes(runner.stageCount());
    // A run of one micro-batch pays the runner's start and end and a wake-up
    // per hand-off, as calibrate's probe measured them; in runs of more the
    // schedule factor below covers them.
    const KernelRates::PipelineOverhead overhead =
        microbatches == 1 ? rates.pipelineOverheadFor(static_cast<int>(runner.stageCount()))
                          : KernelRates::PipelineOverhead{};
    const int cores = options.cores > 0 ? options.cores : hardwareThreads();
    // CPU stages whose threads outnumber the cores take turns on them, and
    // their weights in the cores' caches.
    int cpuStageThreads = 0;
    for (std::size_t s = 0; s < runner.stageCount(); ++s)
        if (auto *cpu = dynamic_cast<const runtime::CpuDevice *>(&runner.stageExecutor(s).device()))
            cpuStageThreads += std::max(1, cpu->threads());
    const double cacheShare = cacheShareOf(cpuStageThreads, cores);
    // The weight sets of the CPU stages: while one computes, the stages on
    // the other cores stream theirs through the shared caches (on average
    // min(1, (cores - 1) / (stages - 1)) of the others' sets).
    std::vector<std::uint64_t> weightSets(runner.stageCount(), 0);
    std::uint64_t allSets = 0;
    int cpuStages = 0;
    for (std::size_t s = 0; s < runner.stageCount(); ++s)
        if (auto *cpu =
                dynamic_cast<const runtime::CpuDevice *>(&runner.stageExecutor(s).device())) {
            (void)gemmWeightBytes(runner.stageExecutor(s),
                                  profileSteps(runner.stageExecutor(s), shapes, cpu->threads()),
                                  &weightSets[s]);
            allSets += weightSets[s];
            ++cpuStages;
        }
    const double otherShare =
        cpuStages > 1 ? std::min(1.0, static_cast<double>(cores - 1) / (cpuStages - 1)) : 0.0;
    for (std::size_t s = 0; s < runner.stageCount(); ++s) {
        const runtime::Executor &executor = runner.stageExecutor(s);
        int threads = 1;
        if (auto *cpu = dynamic_cast<const runtime::CpuDevice *>(&executor.device()))
            threads = cpu->threads();
        const auto coRunWeights =
            static_cast<std::uint64_t>(static_cast<double>(allSets - weightSets[s]) * otherShare);
        prediction.stages.push_back(
            predictStage(executor, shapes, rates, threads, cacheShare, coRunWeights));
        runtime::ScheduleStage stage;
        stage.computeMs = prediction.stages.back().seconds * 1e3;
        stage.threads = threads;
        stage.contention = prediction.stages.back().contention;
        for (const auto &[to, names] : routing.stages[s].toStage) {
            std::uint64_t bytes = 0;
            std::uint64_t buffered = 0; // in a transfer buffer: each tensor aligned
            for (const std::string &name : names)
                if (auto it = shapes.find(name); it != shapes.end()) {
                    auto id = graph.findValue(name);
                    const std::size_t element =
                        id ? std::max<std::size_t>(1,
                                                   graph::elementSize(graph.value(*id).info.type))
                           : sizeof(float);
                    bytes += elementsOf(it->second) * element;
                    buffered += runtime::transferBufferBytes(elementsOf(it->second) * element);
                }
            stage.sendBytes[to] = bytes;
            transferBytes[s][to] = buffered;
            double ms = 0;
            if (options.links && to < static_cast<int>(runner.stageCount())) {
                const std::string &from = executor.device().id();
                const std::string &dest =
                    runner.stageExecutor(static_cast<std::size_t>(to)).device().id();
                const LinkSpec link = options.links->link(from, dest);
                // In-process stages hand over through shared memory (a copy
                // into a transfer buffer, not priced).
                if (link.name != "shared-memory" && link.name != "default")
                    ms = options.links->transferSeconds(from, dest, static_cast<double>(bytes)) *
                         1e3;
            }
            if (ms == 0 && to < static_cast<int>(runner.stageCount()))
                ms = overhead.handoffMs;
            stage.sendMs[to] = ms;
        }
        schedule.push_back(stage);
    }
    runtime::ScheduleOptions scheduleOptions;
    scheduleOptions.microbatches = microbatches;
    scheduleOptions.cores = cores;
    scheduleOptions.timeSliceMs = runtime::kSchedulerTimeSliceMs;
    scheduleOptions.coreSlots = runner.coreSlots();
    scheduleOptions.iterationOverheadMs = overhead.runMs;
    scheduleOptions.batch = options.batch;
    scheduleOptions.iterations = options.iterations;
    prediction.schedule = runtime::simulateSchedule(schedule, scheduleOptions);
    // What the core-sharing model and free hand-offs leave out (the runner's
    // start, wake-ups, the OS scheduler's turns when 1-thread stages
    // outnumber the cores), as calibrate's schedule probe measured it.
    int stageThreads = 0;
    for (const runtime::ScheduleStage &stage : schedule)
        stageThreads += std::max(1, stage.threads);
    if (microbatches > 1)
        runtime::stretchSchedule(prediction.schedule,
                                 stageThreads > scheduleOptions.cores
                                     ? rates.scheduleFactorOversubscribed
                                     : rates.scheduleFactorFits,
                                 scheduleOptions);
    // Inbound bytes: the runner gives every stage -> stage link its transfer
    // buffers (runtime::transferBuffersPerLink), each holding one message,
    // however the stages' timing falls.
    const int buffers = runtime::transferBuffersPerLink(microbatches);
    prediction.schedule.peakQueuedBytes.assign(schedule.size(), 0);
    for (std::size_t s = 0; s < schedule.size(); ++s)
        for (const auto &[to, bytes] : transferBytes[s])
            if (to < static_cast<int>(schedule.size()))
                prediction.schedule.peakQueuedBytes[static_cast<std::size_t>(to)] +=
                    static_cast<std::uint64_t>(buffers) * bytes;
    for (std::size_t s = 0; s < prediction.stages.size(); ++s) {
        const std::uint64_t bytes =
            prediction.stages[s].peakActivationBytes + prediction.schedule.peakQueuedBytes[s];
        prediction.stagePeakMemoryBytes.push_back(bytes);
        prediction.peakMemoryBytes += bytes;
    }
    return prediction;
}

nlohmann::json predictionJson(const PipelinePrediction &prediction)
{
    const runtime::SchedulePrediction &s = prediction.schedule;
    nlohmann::json stages = nlohmann::json::array();
    for (std::size_t i = 0; i < prediction.stages.size(); ++i)
        stages.push_back({{"compute_ms", i < s.stageComputeMs.size() ? s.stageComputeMs[i] : 0.0},
                          {"compute_ms_per_microbatch", prediction.stages[i].seconds * 1e3},
                          {"peak_memory_bytes", prediction.stagePeakMemoryBytes[i]},
                          {"scratch_bytes", prediction.stages[i].peakScratchBytes},
                          {"exact", prediction.stages[i].exact}});
    nlohmann::json byClass = nlohmann::json::object();
    for (const auto &[rateClass, ms] : evidenceOf(prediction, {}).predictedByClass)
        byClass[rateClass] = ms;
    return {{"throughput", s.summary.throughput},
            {"by_class_ms", byClass},
            {"latency_ms", {{"p50", s.summary.latencyP50Ms}, {"p90", s.summary.latencyP90Ms}}},
            {"wall_ms", s.summary.totalMs},
            {"bubble_fraction", s.bubbleFraction},
            {"microbatches", prediction.microbatches},
            {"peak_memory_bytes", prediction.peakMemoryBytes},
            {"stages", stages}};
}

Result<std::vector<NodePrediction>>
predictSourceNodes(std::shared_ptr<const Graph> graph, const runtime::KernelRegistry &registry,
                   const KernelRates &rates, int threads, std::int64_t microbatchSize,
                   const std::map<std::string, std::int64_t> &dims)
{
    runtime::CpuDevice device("cpu:predict", threads, 0, registry);
    SB_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(graph, device));
    cost::DimBindings bindings;
    bindings.batch = microbatchSize;
    bindings.dims = dims;
    SB_ASSIGN_OR_RETURN(ValueShapes shapes, valueShapesByName(*graph, bindings));
    StagePrediction stage = predictStage(*executor, shapes, rates, threads);
    std::vector<NodePrediction> nodes(graph->nodes().size());
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        nodes[n].node = graph->nodes()[n].name;
        nodes[n].opType = graph->nodes()[n].opType;
        nodes[n].rateSource = "runs inside a fused node or folded at load";
    }
    for (NodePrediction &node : stage.nodes)
        if (auto id = graph->findNode(node.node)) {
            NodePrediction &target = nodes[static_cast<std::size_t>(*id)];
            const std::string original = target.opType;
            if (target.rateClass.empty()) {
                target = std::move(node);
            } else { // two executed nodes keep one name: add up
                target.seconds += node.seconds;
                target.work += node.work;
                target.weightBytes += node.weightBytes;
                target.streamSeconds += node.streamSeconds;
            }
            if (target.opType != original)
                target.rateSource += " (runs as " + target.opType + ")";
        }
    return nodes;
}

double cacheShareOf(int cpuStageThreads, int cores)
{
    return cores > 0 && cpuStageThreads > cores
               ? static_cast<double>(cpuStageThreads) / static_cast<double>(cores)
               : 1.0;
}

Status usePredictedCosts(PlannerOptions &options, std::shared_ptr<const Graph> graph,
                         const runtime::KernelRegistry &registry, const KernelRates &rates,
                         int threads, double cacheShare)
{
    const std::int64_t microbatchSize =
        std::max<std::int64_t>(1, options.batch / std::max(1, options.microbatches));
    SB_ASSIGN_OR_RETURN(auto nodes, predictSourceNodes(std::move(graph), registry, rates, threads,
                                                       microbatchSize, options.dims));
    options.nodeSeconds.clear();
    options.nodeWeightBytes.clear();
    for (const NodePrediction &node : nodes) {
        // With its weights in cache: the stage's set decides the rest.
        options.nodeSeconds.push_back(node.seconds - node.streamSeconds);
        options.nodeWeightBytes.push_back(static_cast<double>(node.weightBytes));
    }
    options.streamSecondsPerByte = nullptr;
    if (!rates.weightStream.empty()) {
        KernelRates stream;
        stream.weightStream = rates.weightStream;
        options.streamSecondsPerByte = [stream, share = std::max(1.0, cacheShare)](double set) {
            return stream.weightStreamSecondsPerByte(
                static_cast<std::uint64_t>(std::max(0.0, set) * share));
        };
    }
    return Status::success();
}

KernelRates storedKernelRates(const std::filesystem::path &path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return {};
    auto calibration = loadCalibration(path);
    return calibration ? calibration->cpuKernels : KernelRates{};
}

Result<nlohmann::json> predictPlan(std::shared_ptr<const Graph> graph, const Plan &plan,
                                   const runtime::KernelRegistry &registry,
                                   const KernelRates &rates, std::int64_t batch, int microbatches,
                                   const std::map<std::string, std::int64_t> &dims)
{
    SB_ASSIGN_OR_RETURN(auto pipeline, openLocalPipeline(graph, plan, registry));
    PipelinePredictOptions options;
    options.batch = batch;
    options.microbatches = microbatches;
    options.dims = dims;
    options.links = &plan.devices;
    SB_ASSIGN_OR_RETURN(PipelinePrediction prediction,
                        predictPipeline(*graph, *pipeline->runner, rates, options));
    nlohmann::json doc = predictionJson(prediction);
    doc["rates"] = rates.empty() ? "default (run `calibrate`)" : "calibrated";
    return doc;
}

bool usePredictedCosts(PlannerOptions &options, std::shared_ptr<const Graph> graph,
                       const DeviceSet &devices, const runtime::KernelRegistry &registry,
                       const KernelRates &rates)
{
    if (rates.empty() || devices.devices.empty())
        return false;
    const int threads = devices.devices.front().threads;
    for (const DeviceSpec &device : devices.devices)
        if (device.kind != "cpu" || device.threads != threads || device.id.rfind("cpu:", 0) != 0)
            return false;
    const int stageThreads = static_cast<int>(devices.devices.size()) * std::max(1, threads);
    PlannerOptions priced = options;
    if (!usePredictedCosts(priced, std::move(graph), registry, rates, std::max(1, threads),
                           cacheShareOf(stageThreads, hardwareThreads()))
             .ok())
        return false;
    options = std::move(priced);
    return true;
}

std::string layoutVariantBase(const std::string &rateClass)
{
    constexpr std::string_view suffix = ".nhwc";
    if (rateClass.size() > suffix.size() &&
        rateClass.compare(rateClass.size() - suffix.size(), suffix.size(), suffix) == 0)
        return rateClass.substr(0, rateClass.size() - suffix.size());
    return {};
}

std::string learnedSizeKey(const std::string &rateClass, int threads, double work)
{
    const int bucket = work > 1.0 ? static_cast<int>(std::floor(std::log2(work) / 2.0)) : 0;
    return rateClass + "@" + std::to_string(threads) + "/w" + std::to_string(bucket);
}

RunEvidence evidenceOf(const PipelinePrediction &prediction,
                       const runtime::PipelineMetrics &measured)
{
    RunEvidence evidence;
    const double microbatches = static_cast<double>(prediction.microbatches);
    for (std::size_t s = 0; s < prediction.stages.size(); ++s) {
        if (s < measured.stages.size())
            evidence.measuredMs += measured.stages[s].computeMs;
        for (const NodePrediction &node : prediction.stages[s].nodes) {
            evidence.predictedByClass[node.rateClass] += node.seconds * 1e3 * microbatches;
            evidence.predictedMs += node.seconds * 1e3 * microbatches;
        }
    }
    return evidence;
}

std::optional<RunEvidence> evidenceFromRecord(const nlohmann::json &timings)
{
    if (!timings.is_object() || !timings.contains("predicted") ||
        !timings["predicted"].is_object() || !timings.contains("stages") ||
        !timings["stages"].is_array())
        return std::nullopt;
    const nlohmann::json &predicted = timings["predicted"];
    if (!predicted.contains("by_class_ms") || !predicted["by_class_ms"].is_object())
        return std::nullopt;
    RunEvidence evidence;
    for (const auto &[rateClass, ms] : predicted["by_class_ms"].items())
        if (ms.is_number() && ms.get<double>() > 0) {
            evidence.predictedByClass[rateClass] = ms.get<double>();
            evidence.predictedMs += ms.get<double>();
        }
    for (const nlohmann::json &stage : timings["stages"])
        if (stage.is_object() && stage.contains("compute_ms") && stage["compute_ms"].is_number())
            evidence.measuredMs += stage["compute_ms"].get<double>();
    if (evidence.predictedMs <= 0 || evidence.measuredMs <= 0)
        return std::nullopt;
    return evidence;
}

std::map<std::string, std::pair<double, double>> learnFromRuns(KernelRates &rates,
                                                               const std::vector<RunEvidence> &runs)
{
    // Each run's ratio is shared by its classes in proportion to their
    // predicted time; a class's factor is the time-weighted mean ratio.
    std::map<std::string, std::pair<double, double>> weighted; // class -> (sum w*ratio, sum w)
    for (const RunEvidence &run : runs) {
        if (run.predictedMs <= 0 || run.measuredMs <= 0)
            continue;
        const double ratio = run.measuredMs / run.predictedMs;
        for (const auto &[rateClass, ms] : run.predictedByClass) {
            const double old = rates.learned.count(rateClass) ? rates.learned[rateClass] : 1.0;
            weighted[rateClass].first += ms * ratio * old;
            weighted[rateClass].second += ms;
        }
    }
    std::map<std::string, std::pair<double, double>> changes;
    for (const auto &[rateClass, sums] : weighted) {
        if (sums.second <= 0)
            continue;
        const double old = rates.learned.count(rateClass) ? rates.learned[rateClass] : 1.0;
        const double factor =
            std::clamp(sums.first / sums.second, kLearnedFactorMin, kLearnedFactorMax);
        rates.learned[rateClass] = factor;
        changes[rateClass] = {old, factor};
    }
    return changes;
}

} // namespace sb::plan
