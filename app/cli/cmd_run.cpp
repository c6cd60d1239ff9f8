// `shardbench-cli run MODEL.onnx --input NAME=FILE ... --output-dir DIR`.
// Output files: DIR/<output name>.npy in the output's dtype, where every
// character of the name outside [A-Za-z0-9._-] becomes '_' (so
// "/head/logits" -> "_head_logits.npy"); the --json "outputs" list gives
// each output's name, file, dtype and shape.
#include "app/cli/command.h"
#include "app/cli/planned_run.h"

#include "core/runtime/session.h"
#include "core/runtime/tensor_io.h"
#include "kernels/registry.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

namespace sb::cli {

namespace {

int runRun(Args &args)
{
    ArgSpec spec(
        "run MODEL.onnx --input NAME=FILE ... --output-dir DIR [--threads N] [--json]",
        "Run a model on the CPU engine and write one DIR/<output name>.npy per graph output\n"
        "(NumPy .npy, the output's own dtype; characters outside [A-Za-z0-9._-] in the\n"
        "name become '_'). Inputs are .npy or ONNX TensorProto .pb files.");
    spec.positional("MODEL.onnx", "ONNX model");
    spec.multi("input", "NAME=FILE", "a graph input from a .npy or .pb file (repeat per input)");
    spec.option("output-dir", "DIR", "folder for the output .npy files (created)");
    spec.option("threads", "N", "threads of the CPU device (0 = all cores)", "0");
    spec.flag("json", "print {outputs, wall_ms, peak_memory_bytes, planned_peak_memory_bytes}");
    spec.flag("reference", "use the reference kernels only (the oracle)");
    spec.flag("no-fusion", "switch the fusion passes off");
    addPlanOptions(spec);
    spec.epilog("Memory: the executor plans one arena per input-shape signature from liveness;\n"
                "peak_memory_bytes is the most activation bytes held at once during the run,\n"
                "planned_peak_memory_bytes the arena size planned before it (weights excluded).\n"
                "Exit: 0 ok, 2 bad input (missing input, wrong shape/dtype, corrupt file),\n"
                "4 run failed.");
    spec.required("output-dir");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto threads = parsed.getInt("threads", 0);
    if (!threads)
        return reportError(args.command, threads.error());
    runtime::ExecutorOptions options;
    options.fuse = !parsed.flag("no-fusion");
    if (parsed.flag("reference"))
        options.variant = runtime::KernelVariant::Reference;
    auto session = runtime::openSession(parsed.positional[0], kernels::defaultRegistry(),
                                        static_cast<int>(*threads), options);
    if (!session)
        return reportError(args.command, session.error());
    auto inputs = runtime::loadInputs(*session->graph, parsed.all("input"));
    if (!inputs)
        return reportError(args.command, inputs.error());
    if (wantsPlan(parsed))
        return runCommandWithPlan(args.command, session->graph, parsed, *inputs);

    // Plan memory for these shapes first (a dry run on zeros), so the run
    // itself uses the planned arena and the planned peak is known before it.
    std::vector<runtime::ValueSignature> signature;
    for (const auto &[name, tensor] : *inputs)
        signature.push_back({name, tensor.type(), tensor.shape()});
    std::uint64_t planned = 0;
    if (auto plan = session->executor->plan(signature))
        planned = plan->plannedPeakMemoryBytes;
    auto started = std::chrono::steady_clock::now();
    auto result = session->executor->run(*inputs);
    double wallMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!result) {
        return reportRunError(args.command, result.error());
    }
    if (!planned)
        planned = result->stats.plannedPeakMemoryBytes;
    auto written = runtime::writeOutputs(parsed.get("output-dir"), session->executor->outputNames(),
                                         result->outputs);
    if (!written)
        return reportError(args.command, written.error());
    if (parsed.flag("json")) {
        nlohmann::json out;
        out["outputs"] = nlohmann::json::array();
        for (const auto &w : *written)
            out["outputs"].push_back({{"name", w.name},
                                      {"file", w.file.string()},
                                      {"dtype", graph::elementTypeName(w.type)},
                                      {"shape", w.shape}});
        out["wall_ms"] = wallMs;
        out["peak_memory_bytes"] = result->stats.peakMemoryBytes;
        out["planned_peak_memory_bytes"] = planned;
        printJson(out);
    } else {
        for (const auto &w : *written)
            std::cout << w.name << " " << graph::elementTypeName(w.type)
                      << runtime::shapeToString(w.shape) << " -> " << w.file.string() << "\n";
        std::cout << "wall " << wallMs << " ms, peak activation memory "
                  << result->stats.peakMemoryBytes << " bytes (planned " << planned << ")\n";
    }
    return kExitOk;
}

const CommandRegistrar reg{"run", "Run a model on the CPU engine, write outputs as .npy", runRun};

} // namespace

} // namespace sb::cli
