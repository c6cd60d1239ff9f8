#include "app/cli/planned_run.h"

#include "core/plan/predict.h"

#include "app/cli/command.h"
#include "app/cli/store_cli.h"

#include "core/plan/local_run.h"
#include "core/plan/mpi_run.h"
#include "core/plan/validate.h"
#include "core/runtime/run_summary.h"
#include "core/runtime/session.h"
#include "core/runtime/tensor_io.h"
#include "core/workflows/run_record.h"
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
                         "--launcher, --dry-run and --db go with a plan: give --plan PLAN.json");
    SB_ASSIGN_OR_RETURN(run.plan, plan::readPlanFile(parsed.get("plan")));
    if (parsed.has("microbatches")) {
        SB_ASSIGN_OR_RETURN(long long m, parsed.getInt("microbatches", run.plan.microbatches));
        if (m < 1)
            return makeError(ErrorCode::InvalidInput, "--microbatches must be >= 1");
        run.plan.microbatches = static_cast<int>(m);
    }
    workflows::PlanRunRequest request;
    request.graph = graph;
    request.modelPath = modelPath;
    request.planLabel = parsed.get("plan");
    request.plan = run.plan;
    request.inputs = inputs;
    request.warmup = warmup;
    request.iterations = iterations;
    request.kernels = &kernels::defaultRegistry();
    request.cancel = &interruptToken();
    if (parsed.has("trace"))
        request.tracePath = parsed.get("trace");
    const std::string launcher = parsed.get("launcher", "local");
    if (launcher != "local" && launcher != "mpi")
        return makeError(ErrorCode::InvalidInput,
                         "--launcher '" + launcher + "': expected local or mpi");
    if (launcher == "mpi") {
        plan::MpiRunRequest mpi;
        if (parsed.has("hosts") && parsed.has("hostfile"))
            return makeError(ErrorCode::InvalidInput, "give --hosts or --hostfile, not both");
        if (parsed.has("hosts")) {
            SB_ASSIGN_OR_RETURN(mpi.hosts, plan::parseHostList(parsed.get("hosts")));
        }
        if (parsed.has("hostfile"))
            mpi.hostfile = parsed.get("hostfile");
        if (parsed.has("worker"))
            mpi.worker = parsed.get("worker");
        SB_ASSIGN_OR_RETURN(mpi.heartbeatTimeoutSeconds, parsed.getDouble("heartbeat-timeout", 10));
        if (mpi.heartbeatTimeoutSeconds <= 0)
            return makeError(ErrorCode::InvalidInput, "--heartbeat-timeout must be > 0");
        mpi.fuse = !parsed.flag("no-fusion");
        mpi.reference = parsed.flag("reference");
        mpi.dryRun = parsed.flag("dry-run");
        mpi.onLine = [](const std::string &line) { std::cerr << line << "\n"; };
        request.mpi = std::move(mpi);
    } else if (parsed.flag("dry-run")) {
        return makeError(ErrorCode::InvalidInput, "--dry-run goes with --launcher mpi");
    }
    return workflows::runPlan(request);
}

nlohmann::json plannedRunJson(const PlannedRun &run)
{
    return workflows::planRunJson(run);
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
    const runtime::RunSummary summary = run.summary();
    std::snprintf(line, sizeof line,
                  "micro-batches %d, wall %.2f ms, bubble %.1f%% (ideal %.1f%%), throughput "
                  "%.1f samples/s, micro-batch latency p50 %.2f / p90 %.2f / p95 %.2f / p99 %.2f "
                  "ms\n",
                  metrics.microbatches, summary.totalMs, metrics.bubbleFraction * 100,
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

// --db: the run stored by core's one run-record writer (the GUI's too).
int storeIfAsked(const std::string &command, const ParsedArgs &parsed, const PlannedRun &run,
                 const std::string &startedAt)
{
    if (!parsed.has("db"))
        return kExitOk;
    workflows::RunRecordFacts facts = workflows::runRecordFacts(run);
    const std::vector<std::string> inputs = parsed.all("input");
    facts.inputs = inputs.empty() ? "synthetic" : "npy";
    if (inputs.size() == 1)
        facts.inputPath = inputs.front().substr(inputs.front().find('=') + 1);
    facts.model = std::filesystem::absolute(parsed.positional[0]).string();
    facts.source = "cli";
    if (parsed.has("trace"))
        facts.tracePath = parsed.get("trace");
    facts.startedAt = startedAt;
    facts.finishedAt = store::utcNowIso8601();
    int exitCode = kExitOk;
    auto database = openStoreOrReport(parsed, command, &exitCode);
    if (!database)
        return exitCode;
    auto saved = workflows::saveRunRecord(*database, workflows::runRecord(facts));
    if (!saved)
        return reportError(command, saved.error());
    std::cerr << "stored run " << saved->id << " in " << parsed.get("db") << "\n";
    return kExitOk;
}

} // namespace

int runCommandWithPlan(const std::string &command, std::shared_ptr<const graph::Graph> graph,
                       const ParsedArgs &parsed, const runtime::TensorMap &inputs)
{
    const std::string startedAt = store::utcNowIso8601();
    auto run = runPlanned(graph, parsed.positional[0], parsed, inputs, 1, 0);
    if (!run)
        return plannedError(command, run.error());
    if (!run->dryRunCommand.empty()) {
        std::cout << run->dryRunCommand << "\n";
        return kExitOk;
    }
    for (const std::string &warning : run->warnings)
        std::cerr << "shardbench-cli " << command << ": warning: " << warning << "\n";
    if (int stored = storeIfAsked(command, parsed, *run, startedAt); stored != kExitOk)
        return stored;
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
    const std::string startedAt = store::utcNowIso8601();
    auto run = runPlanned(graph, parsed.positional[0], parsed, inputs, iterations, warmup);
    if (!run)
        return plannedError(command, run.error());
    if (!run->dryRunCommand.empty()) {
        std::cout << run->dryRunCommand << "\n";
        return kExitOk;
    }
    for (const std::string &warning : run->warnings)
        std::cerr << "shardbench-cli " << command << ": warning: " << warning << "\n";
    if (int stored = storeIfAsked(command, parsed, *run, startedAt); stored != kExitOk)
        return stored;
    nlohmann::json out = plannedRunJson(*run);
    out.update(runtime::iterationSummaryJson(run->summary()));
    out["peak_memory_bytes"] = peakOfStages(run->lastMetrics);
    if (parsed.flag("json"))
        printJson(out);
    else
        std::cout << formatPlannedRun(*run);
    return kExitOk;
}

} // namespace sb::cli
