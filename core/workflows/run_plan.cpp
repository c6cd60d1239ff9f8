#include "core/workflows/run_plan.h"

#include "core/plan/local_run.h"
#include "core/plan/validate.h"
#include "core/runtime/session.h"

#include <chrono>

namespace sb::workflows {

namespace {

// The batch the inputs carry: dim 0 of the first input whose batch is symbolic.
std::int64_t inputBatch(const graph::Graph &graph, const runtime::TensorMap &inputs,
                        std::int64_t fallback)
{
    for (const auto &[name, tensor] : inputs)
        if (auto value = graph.findValue(name); value && tensor.rank() > 0) {
            const auto &shape = graph.value(*value).info.shape;
            if (shape.rankKnown && !shape.dims.empty() && shape.dims[0].isSymbolic())
                return tensor.dim(0);
        }
    return fallback;
}

} // namespace

runtime::RunSummary PlanRun::summary() const
{
    return runtime::summarizeRuns(batch, iterationMs, latencyMs);
}

Result<PlanRun> runPlan(const PlanRunRequest &request)
{
    PlanRun run;
    run.plan = request.plan;
    const graph::Graph &graph = *request.graph;
    const int iterations = std::max(1, request.iterations);
    const int warmup = std::max(0, request.warmup);
    auto progress = [&](double fraction, const std::string &what) {
        if (request.progress)
            request.progress(fraction, what);
    };

    // Validated at the batch and dims the inputs carry.
    run.batch = inputBatch(graph, request.inputs, run.plan.batch);
    plan::Plan checked = run.plan;
    checked.batch = run.batch;
    for (const auto &[symbol, size] : plan::symbolicDimsFromInputs(graph, request.inputs))
        checked.dims[symbol] = size;
    if (request.modelPath.empty())
        checked.modelSha256.clear(); // an in-memory graph: no file to hash
    SB_TRY(plan::checkPlanForRun(graph, std::move(checked), request.modelPath, request.planLabel,
                                 &run.warnings));

    if (request.mpi) {
        plan::MpiRunRequest mpi = *request.mpi;
        mpi.graph = request.graph;
        mpi.model = request.modelPath;
        mpi.plan = run.plan;
        mpi.inputs = request.inputs;
        mpi.warmup = warmup;
        mpi.iterations = iterations;
        mpi.cancel = request.cancel;
        run.launcher = "mpi";
        progress(0.05, "Starting MPI ranks");
        SB_ASSIGN_OR_RETURN(plan::MpiRunOutput output, plan::runPlanOverMpi(mpi));
        if (mpi.dryRun) {
            run.dryRunCommand = output.command;
            return run;
        }
        run.iterationMs = std::move(output.iterationMs);
        run.latencyMs = std::move(output.latencyMs);
        run.lastOutputs = std::move(output.outputs);
        run.lastMetrics = std::move(output.metrics);
        if (request.onIteration)
            for (std::size_t i = 0; i < run.iterationMs.size(); ++i)
                request.onIteration(static_cast<int>(i),
                                    runtime::summarizeRuns(run.batch, {run.iterationMs[i]}),
                                    run.lastMetrics);
    } else {
        if (!request.kernels)
            return makeError(ErrorCode::InvalidInput, "no kernel registry to run the plan with");
        progress(0.02, "Creating devices");
        SB_ASSIGN_OR_RETURN(auto pipeline,
                            plan::openLocalPipeline(request.graph, run.plan, *request.kernels));
        const auto &runner = pipeline->runner;
        {
            // Predicted before it runs, from the executors that will run.
            std::string note;
            plan::PipelinePredictOptions predictOptions;
            predictOptions.batch = run.batch;
            predictOptions.microbatches =
                runner->effectiveMicrobatches(request.inputs, run.plan.microbatches, &note);
            predictOptions.dims = plan::symbolicDimsFromInputs(graph, request.inputs);
            predictOptions.links = &run.plan.devices;
            predictOptions.iterations = iterations;
            if (auto predicted = plan::predictPipeline(graph, *runner, plan::storedKernelRates(),
                                                       predictOptions))
                run.prediction = std::move(*predicted);
        }
        runtime::PipelineRunOptions options;
        options.microbatches = run.plan.microbatches;
        options.cancel = request.cancel;
        for (int i = 0; i < warmup + iterations; ++i) {
            if (request.cancel && request.cancel->isCancelled())
                return makeError(ErrorCode::Cancelled, "run cancelled");
            progress(0.1 + 0.85 * double(i) / double(warmup + iterations),
                     (i < warmup ? "Warm-up " + std::to_string(i + 1)
                                 : "Iteration " + std::to_string(i - warmup + 1)) +
                         " of " + std::to_string(i < warmup ? warmup : iterations));
            const auto started = std::chrono::steady_clock::now();
            SB_ASSIGN_OR_RETURN(runtime::PipelineResult result,
                                runner->run(request.inputs, options));
            const double ms = std::chrono::duration<double, std::milli>(
                                  std::chrono::steady_clock::now() - started)
                                  .count();
            run.lastOutputs = std::move(result.outputs);
            run.lastMetrics = std::move(result.metrics);
            if (i < warmup)
                continue;
            run.iterationMs.push_back(ms);
            run.latencyMs.insert(run.latencyMs.end(), run.lastMetrics.microbatchLatencyMs.begin(),
                                 run.lastMetrics.microbatchLatencyMs.end());
            if (request.onIteration)
                request.onIteration(
                    i - warmup,
                    runtime::summarizeRuns(run.batch, {ms}, run.lastMetrics.microbatchLatencyMs),
                    run.lastMetrics);
        }
    }
    if (!run.lastMetrics.microbatchNote.empty())
        run.warnings.push_back(run.lastMetrics.microbatchNote);
    if (!request.tracePath.empty())
        SB_TRY(runtime::writeTrace(run.lastMetrics, request.tracePath));
    progress(1.0, "Done");
    return run;
}

nlohmann::json stageJson(const runtime::StageMetrics &stage)
{
    return {{"device", stage.device},
            {"host", stage.host},
            {"rank", stage.rank},
            {"nodes", stage.nodes},
            {"compute_ms", stage.computeMs},
            {"idle_ms", stage.idleMs},
            {"peak_memory_bytes", stage.peakMemoryBytes},
            {"sent_bytes", stage.sentBytes}};
}

nlohmann::json planRunJson(const PlanRun &run)
{
    using nlohmann::json;
    const runtime::PipelineMetrics &metrics = run.lastMetrics;
    json doc;
    json stages = json::array();
    for (const runtime::StageMetrics &stage : metrics.stages)
        stages.push_back(stageJson(stage));
    doc["stages"] = stages;
    // The links exactly as the run's timeline file writes them.
    doc["links"] = runtime::timelineJson(metrics).at("links");
    doc["launcher"] = run.launcher;
    doc["bubble_fraction"] = metrics.bubbleFraction;
    doc["ideal_bubble_fraction"] = metrics.idealBubbleFraction;
    doc["microbatches"] = metrics.microbatches;
    doc["microbatch_note"] = metrics.microbatchNote;
    const runtime::RunSummary summary = run.summary();
    doc["throughput"] = summary.throughput;
    doc["latency_ms"] = {{"p50", summary.latencyP50Ms},
                         {"p90", summary.latencyP90Ms},
                         {"p95", summary.latencyP95Ms},
                         {"p99", summary.latencyP99Ms}};
    // The timed iterations' total wall time: what throughput divides by and
    // what every iteration and micro-batch latency lies within.
    doc["wall_ms"] = summary.totalMs;
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
        {"wall_ms", summary.totalMs},
        {"bubble_fraction", metrics.bubbleFraction},
        {"microbatches", metrics.microbatches},
        {"peak_memory_bytes", peak},
        {"stages", measuredStages}};
    doc["predicted"] = run.prediction ? plan::predictionJson(*run.prediction) : json();
    return doc;
}

} // namespace sb::workflows
