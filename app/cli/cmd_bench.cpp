// `shardbench-cli bench MODEL.onnx [--input NAME=FILE | --batch N] ... --json`.
#include "app/cli/command.h"
#include "app/cli/planned_run.h"

#include "core/cost/cost_model.h"
#include "core/plan/local_run.h"
#include "core/runtime/session.h"
#include "core/runtime/tensor_io.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/onednn/onednn.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <iomanip>
#include <iostream>
#include <optional>
#include <random>

namespace sb::cli {

namespace {

// Float inputs get deterministic uniform [-1, 1) values (zeros would make
// some kernels unrealistically fast); integer inputs stay 0 (valid indices).
void randomizeFloats(runtime::TensorMap &inputs)
{
    std::mt19937 rng(42);
    std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
    for (auto &[name, tensor] : inputs)
        if (tensor.type() == graph::ElementType::Float32)
            for (std::int64_t i = 0; i < tensor.elementCount(); ++i)
                tensor.as<float>()[i] = dist(rng);
}

// {runs, wall_ms, op_types:[{op_type, nodes, ms, percent}], top_nodes:[{name, op_type, ms,
// percent}]}; ms are means per run, percent of wall_ms.
nlohmann::json profileJson(const runtime::RunProfile &profile, std::size_t top)
{
    auto percent = [&](double ms) {
        return profile.wallMsPerRun > 0 ? 100.0 * ms / profile.wallMsPerRun : 0.0;
    };
    nlohmann::json types = nlohmann::json::array(), nodes = nlohmann::json::array();
    for (const auto &t : profile.byOpType)
        types.push_back({{"op_type", t.opType},
                         {"nodes", t.nodes},
                         {"ms", t.msPerRun},
                         {"percent", percent(t.msPerRun)}});
    for (std::size_t i = 0; i < std::min(top, profile.byNode.size()); ++i) {
        const auto &n = profile.byNode[i];
        nodes.push_back({{"name", n.name},
                         {"op_type", n.opType},
                         {"kernel", n.kernel},
                         {"ms", n.msPerRun},
                         {"percent", percent(n.msPerRun)}});
    }
    return {{"runs", profile.runs},
            {"wall_ms", profile.wallMsPerRun},
            {"op_types", types},
            {"top_nodes", nodes}};
}

void printProfile(std::ostream &out, const runtime::RunProfile &profile, std::size_t top)
{
    auto percent = [&](double ms) {
        return profile.wallMsPerRun > 0 ? 100.0 * ms / profile.wallMsPerRun : 0.0;
    };
    out << "\nprofile: mean of " << profile.runs << " runs, " << profile.wallMsPerRun
        << " ms per run\n";
    out << std::left << std::setw(28) << "op type" << std::right << std::setw(7) << "nodes"
        << std::setw(11) << "ms" << std::setw(8) << "%"
        << "\n";
    for (const auto &t : profile.byOpType)
        out << std::left << std::setw(28) << t.opType << std::right << std::setw(7) << t.nodes
            << std::setw(11) << t.msPerRun << std::setw(8) << std::setprecision(1)
            << percent(t.msPerRun) << std::setprecision(3) << "\n";
    if (top == 0 || profile.byNode.empty())
        return;
    // Columns as wide as their longest entry (fused op types and kernel
    // names run long), so the node names stay aligned.
    const std::size_t shown = std::min(top, profile.byNode.size());
    int opWidth = 9, kernelWidth = 8;
    for (std::size_t i = 0; i < shown; ++i) {
        opWidth = std::max(opWidth, static_cast<int>(profile.byNode[i].opType.size()) + 2);
        kernelWidth = std::max(kernelWidth, static_cast<int>(profile.byNode[i].kernel.size()) + 2);
    }
    out << "\nslowest nodes\n"
        << std::right << std::setw(9) << "ms" << std::setw(8) << "%"
        << "  " << std::left << std::setw(opWidth) << "op type" << std::setw(kernelWidth)
        << "kernel"
        << "node\n";
    for (std::size_t i = 0; i < shown; ++i) {
        const auto &n = profile.byNode[i];
        out << std::right << std::setw(9) << n.msPerRun << std::setw(8) << std::setprecision(1)
            << percent(n.msPerRun) << std::setprecision(3) << "  " << std::left
            << std::setw(opWidth) << n.opType << std::setw(kernelWidth)
            << (n.kernel.empty() ? "-" : n.kernel) << n.name << "\n";
    }
}

int runBench(Args &args)
{
    ArgSpec spec(
        "bench MODEL.onnx [--input NAME=FILE ... | --batch N] [--iters N] [--warmup N] [--threads "
        "N] [--profile] [--json]",
        "Time a model on the CPU engine: median, p90 and min latency of --iters runs after\n"
        "--warmup untimed ones, their total time (wall_ms), throughput in samples/s\n"
        "(batch x runs / wall_ms) and peak memory. With --plan the same figures of the\n"
        "pipelined iterations, plus micro-batch latency percentiles (latency_ms).\n"
        "--profile then runs --iters more times and reports where the time goes: mean ms\n"
        "per run by op type of the executed (fused) graph and the slowest nodes, each with\n"
        "the kernel it ran (ours or oneDNN, algorithm, ISA). SHARDBENCH_MAX_CPU_ISA=avx2\n"
        "caps the ISA (ours and oneDNN; OPENBLAS_CORETYPE=Haswell caps OpenBLAS's);\n"
        "SHARDBENCH_CPU_KERNELS=ours|onednn|auto picks\n"
        "the conv/matmul kernels (auto: the faster per node, timed once per session);\n"
        "SHARDBENCH_FLOAT_CHANNELS_LAST=0 keeps float activations between convolutions\n"
        "and pools in NCHW (A/B runs; by default they are stored NHWC for oneDNN).");
    spec.positional("MODEL.onnx", "ONNX model");
    spec.multi("input", "NAME=FILE", "a graph input from a .npy or .pb file (repeat per input)");
    spec.option("batch", "N", "synthetic inputs with batch N (symbolic dims other than batch = 1)",
                "1");
    spec.multi("dim", "NAME=V", "bind a symbolic dim of synthetic inputs (e.g. seq=64)");
    spec.option("iters", "N", "timed runs", "20");
    spec.option("warmup", "N", "untimed runs first", "3");
    spec.option("threads", "N", "threads of the CPU device (0 = all cores)", "0");
    spec.option("device", "ID",
                "run on this device instead of the CPU (e.g. cuda:0; nodes without a kernel "
                "there run on the CPU with copies)");
    spec.flag("json", "print {median_ms, p90_ms, min_ms, throughput, wall_ms, peak_memory_bytes, "
                      "device, model_flops, achieved_flops, ...}");
    spec.flag("reference", "use the reference kernels only");
    spec.flag("no-fusion", "switch the fusion passes off");
    spec.flag("profile",
              "also report time per op type and the slowest nodes (--json: \"profile\")");
    spec.option("top", "N", "slowest nodes listed by --profile", "10");
    addPlanOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto threads = parsed.getInt("threads", 0);
    auto iters = parsed.getInt("iters", 20);
    auto warmup = parsed.getInt("warmup", 3);
    auto batch = parsed.getInt("batch", 1);
    auto top = parsed.getInt("top", 10);
    for (const auto *r : {&threads, &iters, &warmup, &batch, &top})
        if (!*r)
            return reportError(args.command, r->error());
    if (*iters < 1 || *warmup < 0 || *batch < 1)
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput, "--iters and --batch must be >= 1"));
    if (*top < 0)
        return reportError(args.command, makeError(ErrorCode::InvalidInput, "--top must be >= 0"));
    const bool profile = parsed.flag("profile");
    runtime::ExecutorOptions options;
    options.fuse = !parsed.flag("no-fusion");
    if (parsed.flag("reference"))
        options.variant = runtime::KernelVariant::Reference;
    auto session = runtime::openSession(parsed.positional[0], kernels::defaultRegistry(),
                                        static_cast<int>(*threads), options);
    if (!session)
        return reportError(args.command, session.error());
    runtime::TensorMap inputs;
    if (parsed.has("input")) {
        auto loaded = runtime::loadInputs(*session->graph, parsed.all("input"));
        if (!loaded)
            return reportError(args.command, loaded.error());
        inputs = std::move(*loaded);
    } else {
        std::map<std::string, std::int64_t> dims;
        for (const auto &text : parsed.all("dim")) {
            auto eq = text.find('=');
            if (eq == std::string::npos)
                return reportError(
                    args.command,
                    makeError(ErrorCode::InvalidInput, "--dim '" + text + "': expected NAME=V"));
            try {
                dims[text.substr(0, eq)] = std::stoll(text.substr(eq + 1));
            } catch (const std::exception &) {
                return reportError(args.command, makeError(ErrorCode::InvalidInput,
                                                           "--dim '" + text + "': bad value"));
            }
        }
        auto synthetic = runtime::syntheticInputs(*session->graph, *batch, dims);
        if (!synthetic)
            return reportError(args.command, synthetic.error());
        inputs = std::move(*synthetic);
        randomizeFloats(inputs);
    }
    std::int64_t samples = 1;
    if (!inputs.empty() && inputs.begin()->second.rank() > 0)
        samples = inputs.begin()->second.dim(0);
    if (wantsPlan(parsed)) {
        if (profile)
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--profile times one executor; it does not combine "
                                         "with --plan (use --trace for per-stage timing)"));
        return benchCommandWithPlan(args.command, session->graph, parsed, inputs,
                                    static_cast<int>(*iters), static_cast<int>(*warmup));
    }
    // --device: the same graph on another device (the session's CPU executor
    // stays unused).
    std::unique_ptr<runtime::Device> otherDevice;
    std::unique_ptr<runtime::Executor> otherExecutor;
    if (parsed.has("device") && parsed.get("device").rfind("cpu", 0) != 0) {
        if (profile)
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--profile times the CPU engine; drop --device"));
        runtime::DeviceConfig config;
        config.id = parsed.get("device");
        auto device = runtime::DeviceFactory::instance().create(config, kernels::defaultRegistry());
        if (!device)
            return reportError(args.command, device.error());
        otherDevice = std::move(*device);
        auto executor = runtime::Executor::create(session->graph, *otherDevice, options);
        if (!executor)
            return reportError(args.command, executor.error());
        otherExecutor = std::move(*executor);
    }
    const runtime::Executor &timed = otherExecutor ? *otherExecutor : *session->executor;
    bool json = parsed.flag("json");
    bool bar = !json && stderrIsTerminal();
    auto timing =
        runtime::timeRuns(timed, inputs, samples, static_cast<int>(*warmup),
                          static_cast<int>(*iters), [&](int done, int total) {
                              if (!bar)
                                  return;
                              int width = 30, filled = done * width / total;
                              std::cerr
                                  << "\r[" << std::string(static_cast<std::size_t>(filled), '#')
                                  << std::string(static_cast<std::size_t>(width - filled), ' ')
                                  << "] " << done << "/" << total << std::flush;
                          });
    if (bar)
        std::cerr << "\r" << std::string(50, ' ') << "\r";
    if (!timing) {
        return reportRunError(args.command, timing.error());
    }
    // runtime::summarizeRuns, the one definition every front end reports.
    const runtime::RunSummary &summary = timing->summary;
    std::optional<runtime::RunProfile> runProfile;
    if (profile) {
        auto profiled =
            runtime::profileRuns(*session->executor, inputs, 0, static_cast<int>(*iters));
        if (!profiled) {
            return reportRunError(args.command, profiled.error());
        }
        runProfile = std::move(*profiled);
    }
    const auto topCount = static_cast<std::size_t>(*top);
    // Model FLOPs at these input shapes (matrix products, convolutions, ...).
    cost::DimBindings bindings;
    bindings.batch = samples;
    bindings.dims = plan::symbolicDimsFromInputs(*session->graph, inputs);
    double modelFlops = 0;
    if (auto cost = cost::computeCost(*session->graph, bindings))
        modelFlops = cost->total.flops;
    const double achieved =
        summary.iterationMedianMs > 0 ? modelFlops / (summary.iterationMedianMs / 1000.0) : 0;
    const std::string deviceId = otherDevice ? otherDevice->id() : "cpu:0";
    if (json) {
        nlohmann::json out = runtime::iterationSummaryJson(summary);
        out.update({{"peak_memory_bytes", timing->peakMemoryBytes},
                    {"planned_peak_memory_bytes", timing->plannedPeakMemoryBytes},
                    {"kernel_state_bytes", timed.kernelStateBytes()},
                    {"threads", session->device->threads()},
                    {"device", deviceId},
                    {"model_flops", modelFlops},
                    {"achieved_flops", achieved},
                    {"cpu_model", kernels::cpuModelName()},
                    {"cpu_isa", kernels::cpuIsaDescription()},
                    {"onednn", kernels::oneDnnDescription()}});
        if (runProfile)
            out["profile"] = profileJson(*runProfile, topCount);
        printJson(out);
    } else {
        std::cout << std::fixed << std::setprecision(3);
        std::cout << "model       " << parsed.positional[0] << "\n"
                  << "threads     " << session->device->threads() << "\n"
                  << "batch       " << samples << "\n"
                  << "iterations  " << summary.iterations << " (+" << *warmup << " warmup), "
                  << summary.totalMs << " ms in all\n"
                  << "median      " << summary.iterationMedianMs << " ms\n"
                  << "p90         " << summary.iterationP90Ms << " ms\n"
                  << "min         " << summary.iterationMinMs << " ms\n"
                  << "throughput  " << summary.throughput << " samples/s\n"
                  << "device      " << deviceId << "\n"
                  << "cpu         " << kernels::cpuModelName() << ", ISA "
                  << kernels::cpuIsaDescription() << ", " << kernels::oneDnnDescription() << "\n"
                  << "model FLOPs " << modelFlops << " (" << achieved / 1e9 << " GFLOP/s)\n"
                  << "peak memory " << timing->peakMemoryBytes << " bytes (planned "
                  << timing->plannedPeakMemoryBytes << ")\n"
                  << "kernel state " << timed.kernelStateBytes()
                  << " bytes (weights kept reordered: oneDNN's blocked layouts, transposed 1x1 "
                     "weights)\n";
        if (runProfile)
            printProfile(std::cout, *runProfile, topCount);
    }
    return kExitOk;
}

const CommandRegistrar reg{"bench", "Time a model on the CPU engine", runBench};

} // namespace

} // namespace sb::cli
