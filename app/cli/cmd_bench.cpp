// `shardbench-cli bench MODEL.onnx [--input NAME=FILE | --batch N] ... --json`.
#include "app/cli/command.h"
#include "app/cli/planned_run.h"

#include "core/runtime/session.h"
#include "core/runtime/tensor_io.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <iomanip>
#include <iostream>
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

int runBench(Args &args)
{
    ArgSpec spec(
        "bench MODEL.onnx [--input NAME=FILE ... | --batch N] [--iters N] [--warmup N] [--threads "
        "N] [--json]",
        "Time a model on the CPU engine: median, p90 and min latency of --iters runs after\n"
        "--warmup untimed ones, throughput in samples/s (batch / median) and peak memory.");
    spec.positional("MODEL.onnx", "ONNX model");
    spec.multi("input", "NAME=FILE", "a graph input from a .npy or .pb file (repeat per input)");
    spec.option("batch", "N", "synthetic inputs with batch N (symbolic dims other than batch = 1)",
                "1");
    spec.multi("dim", "NAME=V", "bind a symbolic dim of synthetic inputs (e.g. seq=64)");
    spec.option("iters", "N", "timed runs", "20");
    spec.option("warmup", "N", "untimed runs first", "3");
    spec.option("threads", "N", "threads of the CPU device (0 = all cores)", "0");
    spec.flag("json", "print {median_ms, p90_ms, min_ms, throughput, peak_memory_bytes, ...}");
    spec.flag("reference", "use the reference kernels only");
    spec.flag("no-fusion", "switch the fusion passes off");
    addPlanOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto threads = parsed.getInt("threads", 0);
    auto iters = parsed.getInt("iters", 20);
    auto warmup = parsed.getInt("warmup", 3);
    auto batch = parsed.getInt("batch", 1);
    for (const auto *r : {&threads, &iters, &warmup, &batch})
        if (!*r)
            return reportError(args.command, r->error());
    if (*iters < 1 || *warmup < 0 || *batch < 1)
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput, "--iters and --batch must be >= 1"));
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
    if (wantsPlan(parsed))
        return benchCommandWithPlan(args.command, session->graph, parsed, inputs,
                                    static_cast<int>(*iters), static_cast<int>(*warmup));
    bool json = parsed.flag("json");
    bool bar = !json && stderrIsTerminal();
    auto timing =
        runtime::timeRuns(*session->executor, inputs, static_cast<int>(*warmup),
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
        Error error = timing.error();
        if (error.code == ErrorCode::Unsupported || error.code == ErrorCode::Internal)
            error.code = ErrorCode::Runtime;
        return reportError(args.command, error);
    }
    double throughput =
        timing->medianMs > 0 ? static_cast<double>(samples) * 1000.0 / timing->medianMs : 0;
    if (json) {
        nlohmann::json out{{"median_ms", timing->medianMs},
                           {"p90_ms", timing->p90Ms},
                           {"min_ms", timing->minMs},
                           {"throughput", throughput},
                           {"peak_memory_bytes", timing->peakMemoryBytes},
                           {"planned_peak_memory_bytes", timing->plannedPeakMemoryBytes},
                           {"iters", timing->iterations},
                           {"threads", session->device->threads()},
                           {"batch", samples}};
        std::cout << out.dump() << "\n";
    } else {
        std::cout << std::fixed << std::setprecision(3);
        std::cout << "model       " << parsed.positional[0] << "\n"
                  << "threads     " << session->device->threads() << "\n"
                  << "batch       " << samples << "\n"
                  << "iterations  " << timing->iterations << " (+" << *warmup << " warmup)\n"
                  << "median      " << timing->medianMs << " ms\n"
                  << "p90         " << timing->p90Ms << " ms\n"
                  << "min         " << timing->minMs << " ms\n"
                  << "throughput  " << throughput << " samples/s\n"
                  << "peak memory " << timing->peakMemoryBytes << " bytes (planned "
                  << timing->plannedPeakMemoryBytes << ")\n";
    }
    return kExitOk;
}

const CommandRegistrar reg{"bench", "Time a model on the CPU engine", runBench};

} // namespace

} // namespace sb::cli
