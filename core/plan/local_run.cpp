#include "core/plan/local_run.h"

#include "core/cost/cost_model.h"
#include "core/plan/tensor_parallel.h"
#include "core/plan/validate.h"
#include "core/runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <ctime>
#include <unistd.h>

namespace sb::plan {

using graph::Graph;

runtime::Device *LocalDevices::find(const std::string &id) const
{
    for (const auto &device : m_devices)
        if (device->id() == id)
            return device.get();
    return nullptr;
}

void LocalDevices::add(std::unique_ptr<runtime::Device> device)
{
    m_devices.push_back(std::move(device));
}

Result<LocalDevices> createLocalDevices(const std::vector<DeviceSpec> &devices,
                                        const runtime::KernelRegistry &registry)
{
    LocalDevices local;
    const runtime::DeviceFactory &factory = runtime::DeviceFactory::instance();
    for (const DeviceSpec &spec : devices) {
        auto address = runtime::parseDeviceId(spec.id);
        if (address && !address->isRemote() && !factory.hasKind(address->kind))
            address = makeError(ErrorCode::InvalidInput, "");
        if (!address)
            return makeError(ErrorCode::InvalidInput,
                             "device " + spec.id +
                                 " is a what-if catalogue device: plans for it can be validated "
                                 "and estimated but not run here");
        runtime::DeviceConfig config;
        config.id = spec.id;
        config.threads = std::max(1, spec.threads);
        config.memoryBytes = spec.memoryBytes;
        SB_ASSIGN_OR_RETURN(auto device, factory.create(config, registry));
        local.add(std::move(device));
    }
    return local;
}

Result<std::vector<runtime::PipelineStageSpec>> pipelineStages(const Graph &graph, const Plan &plan,
                                                               const LocalDevices &devices)
{
    SB_ASSIGN_OR_RETURN(StageGraph stageGraph, buildStageGraph(graph, plan));
    std::vector<TensorParallelProblem> problems;
    const std::vector<TensorParallelGroup> groups = tensorParallelGroups(graph, plan, &problems);
    if (!problems.empty())
        return makeError(ErrorCode::InvalidInput, problems.front().message);
    std::vector<runtime::PipelineStageSpec> stages;
    for (const Stage &stage : stageGraph.stages) {
        runtime::Device *device = devices.find(stage.device);
        if (!device)
            return makeError(ErrorCode::InvalidInput,
                             "device " + stage.device + " is not available on this machine");
        stages.push_back(runtime::PipelineStageSpec{device, stage.nodes});
        for (const TensorParallelGroup &group : groups) {
            if (group.stageDevice != stage.device)
                continue;
            SB_ASSIGN_OR_RETURN(ShardedStage sharded, shardStage(graph, stage.nodes, group));
            for (std::size_t i = 0; i < group.devices.size(); ++i) {
                runtime::Device *shardDevice = devices.find(group.devices[i]);
                if (!shardDevice)
                    return makeError(ErrorCode::InvalidInput,
                                     "device " + group.devices[i] +
                                         " is not available on this machine");
                stages.back().shards.push_back(
                    {shardDevice, sharded.shards[i].graph, sharded.shards[i].nodes});
            }
        }
    }
    return stages;
}

Result<std::unique_ptr<LocalPipeline>> openLocalPipeline(std::shared_ptr<const graph::Graph> graph,
                                                         const Plan &plan,
                                                         const runtime::KernelRegistry &registry)
{
    auto pipeline = std::make_unique<LocalPipeline>();
    SB_ASSIGN_OR_RETURN(pipeline->devices, createLocalDevices(plan.devices.devices, registry));
    SB_ASSIGN_OR_RETURN(auto stages, pipelineStages(*graph, plan, pipeline->devices));
    SB_ASSIGN_OR_RETURN(pipeline->runner,
                        runtime::PipelineRunner::create(std::move(graph), std::move(stages)));
    return pipeline;
}

std::map<std::string, std::int64_t> symbolicDimsFromInputs(const Graph &graph,
                                                           const runtime::TensorMap &inputs)
{
    std::map<std::string, std::int64_t> dims;
    const std::vector<std::string> batch = cost::batchSymbols(graph);
    for (graph::ValueId id : graph.inputs()) {
        const graph::Value &value = graph.value(id);
        auto it = inputs.find(value.name);
        if (it == inputs.end() || !value.info.shape.rankKnown)
            continue;
        const auto &declared = value.info.shape.dims;
        for (std::size_t i = 0; i < declared.size() && i < it->second.rank(); ++i)
            if (declared[i].isSymbolic() &&
                std::find(batch.begin(), batch.end(), declared[i].symbol) == batch.end())
                dims[declared[i].symbol] = it->second.dim(i);
    }
    return dims;
}

namespace {

std::shared_ptr<Graph> matmulGraph(std::int64_t n)
{
    auto graph = std::make_shared<Graph>();
    graph->opsets[""] = 17;
    auto square = [&](const std::string &name) {
        graph::Value value;
        value.name = name;
        value.info.type = graph::ElementType::Float32;
        value.info.shape.rankKnown = true;
        value.info.shape.dims = {graph::Dim::known(n), graph::Dim::known(n)};
        return graph->addValue(value);
    };
    graph::ValueId a = square("a"), b = square("b"), c = square("c");
    graph->mutableInputs() = {a, b};
    graph->mutableOutputs() = {c};
    graph::Node node;
    node.name = "calibrate/MatMul";
    node.opType = "MatMul";
    node.inputs = {a, b};
    node.outputs = {c};
    graph->mutableNodes().push_back(node);
    graph->rebuildIndex();
    return graph;
}

std::string utcNow()
{
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buffer[32];
    std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buffer;
}

} // namespace

Result<Calibration> measureCalibration(const runtime::KernelRegistry &registry,
                                       const CalibrationOptions &options)
{
    using Clock = std::chrono::steady_clock;
    Calibration calibration;
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    calibration.host = host;
    calibration.measuredAt = utcNow();
    calibration.hardwareThreads = hardwareThreads();
    const int maxThreads = options.maxThreads > 0 ? options.maxThreads : hardwareThreads();
    const std::int64_t n = options.gemmSize;
    auto graph = matmulGraph(n);
    std::vector<float> values(static_cast<std::size_t>(n * n));
    for (std::size_t i = 0; i < values.size(); ++i)
        values[i] = static_cast<float>((i * 7919) % 1000) / 1000.0f - 0.5f;
    runtime::TensorMap inputs;
    inputs["a"] = runtime::Tensor::fromVector(graph::ElementType::Float32, {n, n}, values);
    inputs["b"] = runtime::Tensor::fromVector(graph::ElementType::Float32, {n, n}, values);
    const double flops =
        2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);

    const int steps = maxThreads + 1;
    for (int threads = 1; threads <= maxThreads; ++threads) {
        if (options.cancel && options.cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "calibration cancelled");
        if (options.progress)
            options.progress(static_cast<double>(threads - 1) / steps,
                             "GEMM " + std::to_string(n) + "x" + std::to_string(n) + " on " +
                                 std::to_string(threads) + " thread(s)");
        runtime::CpuDevice device("cpu:calibrate", threads, 0, registry);
        SB_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(graph, device));
        runtime::RunOptions runOptions;
        runOptions.cancel = options.cancel;
        SB_TRY(executor->run(inputs, runOptions)); // warm-up (plans memory)
        double best = 1e300;
        for (int r = 0; r < options.repeats; ++r) {
            const auto started = Clock::now();
            SB_TRY(executor->run(inputs, runOptions));
            best = std::min(best, std::chrono::duration<double>(Clock::now() - started).count());
        }
        calibration.gemmFlopsByThreads[threads] = flops / best;
    }

    if (options.progress)
        options.progress(static_cast<double>(maxThreads) / steps, "copy bandwidth");
    const std::size_t bytes = 64u << 20;
    std::vector<char> source(bytes, 1), target(bytes, 0);
    double best = 1e300;
    for (int r = 0; r < options.repeats; ++r) {
        const auto started = Clock::now();
        std::memcpy(target.data(), source.data(), bytes);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - started).count());
        source[static_cast<std::size_t>(r)] = target[bytes - 1 - static_cast<std::size_t>(r)];
    }
    calibration.copyBandwidth = static_cast<double>(bytes) / best;

    // GPUs: a float32 GEMM through the CUDA kernels and host -> device copies.
    for (const runtime::DeviceInfo &gpu : runtime::DeviceFactory::instance().enumerate("cuda")) {
        if (options.cancel && options.cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "calibration cancelled");
        runtime::DeviceConfig config;
        config.id = "cuda:" + std::to_string(gpu.index);
        if (options.progress)
            options.progress(static_cast<double>(maxThreads) / steps, "GEMM on " + config.id);
        SB_ASSIGN_OR_RETURN(auto device,
                            runtime::DeviceFactory::instance().create(config, registry));
        const std::int64_t gpuN = std::max<std::int64_t>(n, 2048);
        auto gpuGraph = matmulGraph(gpuN);
        std::vector<float> gpuValues(static_cast<std::size_t>(gpuN * gpuN), 0.5f);
        runtime::TensorMap gpuInputs;
        gpuInputs["a"] =
            runtime::Tensor::fromVector(graph::ElementType::Float32, {gpuN, gpuN}, gpuValues);
        gpuInputs["b"] = gpuInputs["a"];
        Calibration::GpuRates rates;
        {
            SB_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(gpuGraph, *device));
            SB_TRY(executor->run(gpuInputs)); // warm-up (plans memory)
            double gpuBest = 1e300;
            for (int r = 0; r < options.repeats; ++r) {
                const auto started = Clock::now();
                SB_TRY(executor->run(gpuInputs)); // includes the input/output copies
                gpuBest = std::min(gpuBest,
                                   std::chrono::duration<double>(Clock::now() - started).count());
            }
            const double gpuFlops = 2.0 * static_cast<double>(gpuN) * static_cast<double>(gpuN) *
                                    static_cast<double>(gpuN);
            rates.gemmFlops = gpuFlops / gpuBest;
        }
        runtime::Tensor host = runtime::Tensor::zeros(graph::ElementType::Float32,
                                                      {static_cast<std::int64_t>(bytes / 4)});
        double copyBest = 1e300;
        for (int r = 0; r < options.repeats; ++r) {
            const auto started = Clock::now();
            SB_ASSIGN_OR_RETURN(runtime::Tensor onDevice, device->fromHost(host));
            copyBest =
                std::min(copyBest, std::chrono::duration<double>(Clock::now() - started).count());
        }
        rates.hostToDevice = static_cast<double>(bytes) / copyBest;
        calibration.gpus[config.id] = rates;
    }
    if (options.progress)
        options.progress(1.0, "done");
    return calibration;
}

} // namespace sb::plan
