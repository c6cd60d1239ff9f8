#include "app/cli/planned_run.h"

#include "core/plan/predict.h"

#include "app/cli/command.h"

#include "core/plan/local_run.h"
#include "core/plan/mpi_run.h"
#include "core/plan/validate.h"
#include "core/runtime/run_summary.h"
#include "core/runtime/session.h"
#include "core/runtime/tensor_io.h"
#include "kernels/registry.h"

#include <iostream>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>

namespace sb::cli {

Result<PlannedRun> runPlanned(std::shared_ptr<const graph::Graph> graph,
                              const std::filesystem::path &modelPath, const ParsedArgs &parsed,
                              const runtime::TensorMap &inputs, int iterations, int warmup)
{
    PlannedRun run;
    if (!parsed.has("plan"))
        return makeError(ErrorCode::InvalidInput,
                         "--launcher and --dry-run run a plan: give --plan PLAN.json");
    SB_ASSIGN_OR_RETURN(run.plan, plan::readPlanFile(parsed.get("plan")));
    if (parsed.has("microbatches")) {
        SB_ASSIGN_OR_RETURN(long long m, parsed.getInt("microbatches", run.plan.microbatches));
        if (m < 1)
            return makeError(ErrorCode::InvalidInput, "--microbatches must be >= 1");
        run.plan.microbatches = static_cast<int>(m);
    }
    // Validate against the actual batch of the inputs.
    std::int64_t batch = run.plan.batch;
    for (const auto &[name, tensor] : inputs)
        if (auto value = graph->findValue(name); value && tensor.rank() > 0) {
            const auto &shape = graph->value(*value).info.shape;
            if (shape.rankKnown && !shape.dims.empty() && shape.dims[0].isSymbolic()) {
                batch = tensor.dim(0);
                break;
            }
        }
    run.batch = batch;
    plan::Plan checked = run.plan;
    checked.batch = batch;
    for (const auto &[symbol, size] : plan::symbolicDimsFromInputs(*graph, inputs))
        checked.dims[symbol] = size;
    SB_TRY(plan::checkPlanForRun(*graph, std::move(checked), modelPath, parsed.get("plan"),
                                 &run.warnings));

    run.launcher = parsed.get("launcher", "local");
    if (run.launcher != "local" && run.launcher != "mpi")
        return makeError(ErrorCode::InvalidInput,
                         "--launcher '" + run.launcher + "': expected local or mpi");
    if (run.launcher == "mpi") {
        plan::MpiRunRequest request;
        request.graph = graph;
        request.model = modelPath;
        request.plan = run.plan;
        request.inputs = inputs;
        if (parsed.has("hosts") && parsed.has("hostfile"))
            return makeError(ErrorCode::InvalidInput, "give --hosts or --hostfile, not both");
        if (parsed.has("hosts")) {
            SB_ASSIGN_OR_RETURN(request.hosts, plan::parseHostList(parsed.get("hosts")));
        }
        if (parsed.has("hostfile"))
            request.hostfile = parsed.get("hostfile");
        if (parsed.has("worker"))
            request.worker = parsed.get("worker");
        SB_ASSIGN_OR_RETURN(request.heartbeatTimeoutSeconds,
                            parsed.getDouble("heartbeat-timeout", 10));
        if (request.heartbeatTimeoutSeconds <= 0)
            return makeError(ErrorCode::InvalidInput, "--heartbeat-timeout must be > 0");
        request.warmup = warmup;
        request.iterations = iterations;
        request.fuse = !parsed.flag("no-fusion");
        request.reference = parsed.flag("reference");
        request.dryRun = parsed.flag("dry-run");
        request.cancel = &interruptToken();
        request.onLine = [](const std::string &line) { std::cerr << line << "\n"; };
        SB_ASSIGN_OR_RETURN(plan::MpiRunOutput output, plan::runPlanOverMpi(request));
        if (request.dryRun) {
            run.dryRunCommand = output.command;
            return run;
        }
        run.iterationMs = std::move(output.iterationMs);
        run.latencyMs = std::move(output.latencyMs);
        run.lastOutputs = std::move(output.outputs);
        run.lastMetrics = std::move(output.metrics);
        if (!run.lastMetrics.microbatchNote.empty())
            run.warnings.push_back(run.lastMetrics.microbatchNote);
        if (parsed.has("trace"))
            SB_TRY(runtime::writeTrace(run.lastMetrics, parsed.get("trace")));
        return run;
    }
    if (parsed.flag("dry-run"))
        return makeError(ErrorCode::InvalidInput, "--dry-run goes with --launcher mpi");

    SB_ASSIGN_OR_RETURN(auto pipeline,
                        plan::openLocalPipeline(graph, run.plan, kernels::defaultRegistry()));
    const auto &runner = pipeline->runner;
    {
        // Predicted before it runs, from the executors that will run.
        std::string note;
        plan::PipelinePredictOptions predictOptions;
        predictOptions.batch = run.batch;
        predictOptions.microbatches =
            runner->effectiveMicrobatches(inputs, run.plan.microbatches, &note);
        predictOptions.dims = plan::symbolicDimsFromInputs(*graph, inputs);
        predictOptions.links = &run.plan.devices;
        predictOptions.iterations = iterations;
        auto predicted =
            plan::predictPipeline(*graph, *runner, plan::storedKernelRates(), predictOptions);
        if (predicted)
            run.predicted = plan::predictionJson(*predicted);
    }

    runtime::PipelineRunOptions options;
    options.microbatches = run.plan.microbatches;
    options.cancel = &interruptToken();
    for (int i = 0; i < warmup + iterations; ++i) {
        const auto started = std::chrono::steady_clock::now();
        SB_ASSIGN_OR_RETURN(runtime::PipelineResult result, runner->run(inputs, options));
        const double ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        if (i >= warmup) {
            run.iterationMs.push_back(ms);
            run.latencyMs.insert(run.latencyMs.end(), result.metrics.microbatchLatencyMs.begin(),
                                 result.metrics.microbatchLatencyMs.end());
        }
        run.lastOutputs = std::move(result.outputs);
        run.lastMetrics = std::move(result.metrics);
    }
    if (!run.lastMetrics.microbatchNote.empty())
        run.warnings.push_back(run.lastMetrics.microbatchNote);
    if (parsed.has("trace"))
        SB_TRY(runtime::writeTrace(run.lastMetrics, parsed.get("trace")));
    return run;
}

nlohmann::json plannedRunJson(const PlannedRun &run)
{
    using nlohmann::json;
    const runtime::PipelineMetrics &metrics = run.lastMetrics;
    json doc;
    json stages = json::array();
    for (const runtime::StageMetrics &stage : metrics.stages)
        stages.push_back({{"device", stage.device},
                          {"host", stage.host},
                          {"rank", stage.rank},
                          {"nodes", stage.nodes},
                          {"compute_ms", stage.computeMs},
                          {"idle_ms", stage.idleMs},
                          {"peak_memory_bytes", stage.peakMemoryBytes},
                          {"sent_bytes", stage.sentBytes}});
    doc["stages"] = stages;
    json links = json::array();
    for (const runtime::LinkMetrics &link : metrics.links)
        links.push_back({{"from_stage", link.fromStage},
                         {"to_stage", link.toStage},
                         {"from", link.from},
                         {"to", link.to},
                         {"bytes", link.bytes},
                         {"messages", link.messages},
                         {"ms", link.ms}});
    doc["links"] = links;
    doc["launcher"] = run.launcher;
    doc["bubble_fraction"] = metrics.bubbleFraction;
    doc["ideal_bubble_fraction"] = metrics.idealBubbleFraction;
    doc["microbatches"] = metrics.microbatches;
    doc["microbatch_note"] = metrics.microbatchNote;
    // The same definitions as the GUI's Run page and the store (run_summary.h).
    const runtime::RunSummary summary =
        runtime::summarizeRuns(run.batch, run.iterationMs, run.latencyMs);
    doc["throughput"] = summary.throughput;
    doc["latency_ms"] = {{"p50", summary.latencyP50Ms},
                         {"p90", summary.latencyP90Ms},
                         {"p95", summary.latencyP95Ms},
                         {"p99", summary.latencyP99Ms}};
    doc["wall_ms"] = metrics.wallMs;
    doc["warnings"] = run.warnings;
    // The cost model's figures beside the measured ones, under the same keys.
    json measuredStages = json::array();
    std::uint64_t peak = 0;
    for (const runtime::StageMetrics &stage : metrics.stages) {
        measuredStages.push_back(
            {{"compute_ms", stage.computeMs}, {"peak_memory_bytes", stage.peakMemoryBytes}});
        peak += stage.peakMemoryBytes;
    }
    doc["measured"] = {
        {"throughput", summary.throughput},
        {"latency_ms", {{"p50", summary.latencyP50Ms}, {"p90", summary.latencyP90Ms}}},
        {"wall_ms", metrics.wallMs},
        {"bubble_fraction", metrics.bubbleFraction},
        {"microbatches", metrics.microbatches},
        {"peak_memory_bytes", peak},
        {"stages", measuredStages}};
    doc["predicted"] = run.predicted;
    return doc;
}

std::string formatPlannedRun(const PlannedRun &run)
{
    const runtime::PipelineMetrics &metrics = run.lastMetrics;
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-10s %6s %12s %10s %14s %12s\n", "stage", "device",
                  "nodes", "compute ms", "idle ms", "peak memory", "sent");
    out << line;
    for (std::size_t s = 0; s < metrics.stages.size(); ++s) {
        const runtime::StageMetrics &stage = metrics.stages[s];
        std::snprintf(line, sizeof line, "%-5zu %-10s %6zu %12.2f %10.2f %14s %12s\n", s,
                      stage.device.c_str(), stage.nodes, stage.computeMs, stage.idleMs,
                      plan::formatBytes(stage.peakMemoryBytes).c_str(),
                      plan::formatBytes(stage.sentBytes).c_str());
        out << line;
    }
    const runtime::RunSummary summary =
        runtime::summarizeRuns(run.batch, run.iterationMs, run.latencyMs);
    std::snprintf(line, sizeof line,
                  "micro-batches %d, wall %.2f ms, bubble %.1f%% (ideal %.1f%%), throughput "
                  "%.1f samples/s, micro-batch latency p50 %.2f / p90 %.2f / p95 %.2f / p99 %.2f "
                  "ms\n",
                  metrics.microbatches, metrics.wallMs, metrics.bubbleFraction * 100,
                  metrics.idealBubbleFraction * 100, summary.throughput, summary.latencyP50Ms,
                  summary.latencyP90Ms, summary.latencyP95Ms, summary.latencyP99Ms);
    out << line;
    return out.str();
}

namespace {

int plannedError(const std::string &command, Error error)
{
    return reportRunError(command, std::move(error));
}

std::uint64_t peakOfStages(const runtime::PipelineMetrics &metrics)
{
    std::uint64_t peak = 0;
    for (const auto &stage : metrics.stages)
        peak = std::max(peak, stage.peakMemoryBytes);
    return peak;
}

} // namespace

int runCommandWithPlan(const std::string &command, std::shared_ptr<const graph::Graph> graph,
                       const ParsedArgs &parsed, const runtime::TensorMap &inputs)
{
    auto run = runPlanned(graph, parsed.positional[0], parsed, inputs, 1, 0);
    if (!run)
        return plannedError(command, run.error());
    if (!run->dryRunCommand.empty()) {
        std::cout << run->dryRunCommand << "\n";
        return kExitOk;
    }
    for (const std::string &warning : run->warnings)
        std::cerr << "shardbench-cli " << command << ": warning: " << warning << "\n";
    std::vector<std::string> names;
    for (graph::ValueId out : graph->outputs())
        names.push_back(graph->value(out).name);
    auto written = runtime::writeOutputs(parsed.get("output-dir"), names, run->lastOutputs);
    if (!written)
        return reportError(command, written.error());
    if (parsed.flag("json")) {
        nlohmann::json out = plannedRunJson(*run);
        out["outputs"] = nlohmann::json::array();
        for (const auto &w : *written)
            out["outputs"].push_back({{"name", w.name},
                                      {"file", w.file.string()},
                                      {"dtype", graph::elementTypeName(w.type)},
                                      {"shape", w.shape}});
        out["peak_memory_bytes"] = peakOfStages(run->lastMetrics);
        printJson(out);
    } else {
        for (const auto &w : *written)
            std::cout << w.name << " " << graph::elementTypeName(w.type)
                      << runtime::shapeToString(w.shape) << " -> " << w.file.string() << "\n";
        std::cout << formatPlannedRun(*run);
    }
    return kExitOk;
}

int benchCommandWithPlan(const std::string &command, std::shared_ptr<const graph::Graph> graph,
                         const ParsedArgs &parsed, const runtime::TensorMap &inputs, int iterations,
                         int warmup)
{
    auto run = runPlanned(graph, parsed.positional[0], parsed, inputs, iterations, warmup);
    if (!run)
        return plannedError(command, run.error());
    if (!run->dryRunCommand.empty()) {
        std::cout << run->dryRunCommand << "\n";
        return kExitOk;
    }
    for (const std::string &warning : run->warnings)
        std::cerr << "shardbench-cli " << command << ": warning: " << warning << "\n";
    nlohmann::json out = plannedRunJson(*run);
    const runtime::RunSummary summary =
        runtime::summarizeRuns(run->batch, run->iterationMs, run->latencyMs);
    out["median_ms"] = summary.iterationMedianMs;
    out["p90_ms"] = summary.iterationP90Ms;
    out["min_ms"] = summary.iterationMinMs;
    out["peak_memory_bytes"] = peakOfStages(run->lastMetrics);
    out["iters"] = iterations;
    out["batch"] = run->batch;
    if (parsed.flag("json"))
        printJson(out);
    else
        std::cout << formatPlannedRun(*run);
    return kExitOk;
}

} // namespace sb::cli
