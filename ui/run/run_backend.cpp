#include "ui/run/run_backend.h"
#include "core/common/json_text.h"

#include "core/plan/predict.h"

#include "core/plan/mpi_run.h"

#include "core/plan/local_run.h"
#include "core/plan/validate.h"
#include "core/runtime/npy.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/run_summary.h"
#include "core/workflows/run_plan.h"

#if __has_include("kernels/registry.h")
#include "kernels/registry.h"
#define SB_GUI_HAVE_KERNELS 1
#endif

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>

namespace sb::ui {

const runtime::KernelRegistry &guiKernelRegistry()
{
#ifdef SB_GUI_HAVE_KERNELS
    return kernels::defaultRegistry();
#else
    static const runtime::KernelRegistry empty;
    return empty;
#endif
}

namespace {

// Synthetic inputs: every graph input with its symbolic batch dim bound to the
// batch size; floats are 0.5, integers 1 (valid token ids / indices).
Result<runtime::TensorMap> syntheticInputs(const graph::Graph &graph, std::int64_t batch)
{
    runtime::TensorMap inputs;
    for (graph::ValueId id : graph.inputs()) {
        const graph::Value &value = graph.value(id);
        runtime::Shape shape;
        for (std::size_t d = 0; d < value.info.shape.dims.size(); ++d) {
            const graph::Dim &dim = value.info.shape.dims[d];
            if (dim.isKnown())
                shape.push_back(dim.value);
            else if (d == 0)
                shape.push_back(batch);
            else
                return makeError(ErrorCode::InvalidInput,
                                 "input '" + value.name + "' has an unknown dim " +
                                     std::to_string(d) + " (" + dim.symbol +
                                     "): give a .npy input instead of synthetic data");
        }
        runtime::Tensor tensor = runtime::Tensor::zeros(value.info.type, shape);
        const std::int64_t count = runtime::shapeElementCount(shape);
        switch (value.info.type) {
        case graph::ElementType::Float32:
            std::fill_n(tensor.as<float>(), count, 0.5f);
            break;
        case graph::ElementType::Int64:
            std::fill_n(tensor.as<std::int64_t>(), count, std::int64_t(1));
            break;
        case graph::ElementType::Int32:
            std::fill_n(tensor.as<std::int32_t>(), count, 1);
            break;
        default:
            break; // zeros
        }
        inputs.emplace(value.name, std::move(tensor));
    }
    return inputs;
}

} // namespace

Result<RunOutcome> runPipeline(const RunRequest &request, const ProgressFn &progress,
                               const CancelToken &cancel,
                               const std::function<void(const RunLive &)> &live)
{
    const auto &plan = request.plan;
    const bool overMpi = plan::planHasRemoteDevices(plan);
    if (overMpi && request.modelPath.isEmpty())
        return makeError(ErrorCode::InvalidInput,
                         "runs on remote devices need the model file (MPI ranks load it)");

    runtime::TensorMap inputs;
    if (request.config.inputs == RunConfig::Inputs::Npy) {
        if (request.graph->inputs().size() != 1)
            return makeError(ErrorCode::InvalidInput,
                             "a .npy input feeds a model with exactly one input");
        SB_ASSIGN_OR_RETURN(auto tensor, runtime::readNpy(request.config.inputPath.toStdString()));
        inputs.emplace(request.graph->value(request.graph->inputs().front()).name,
                       std::move(tensor));
    } else if (request.config.inputs == RunConfig::Inputs::Dataset) {
        return makeError(ErrorCode::Unsupported,
                         "dataset inputs for runs: use the Evaluation page (predict) or a .npy");
    } else {
        SB_ASSIGN_OR_RETURN(inputs, syntheticInputs(*request.graph, plan.batch));
    }

    // The run itself is core's (workflows::runPlan), as for `run/bench --plan`.
    RunOutcome outcome;
    outcome.config = request.config;
    workflows::PlanRunRequest run;
    run.graph = request.graph;
    run.modelPath = request.modelPath.toStdString();
    run.planLabel = "the plan";
    run.plan = plan;
    run.inputs = std::move(inputs);
    run.iterations = std::max(1, request.config.iterations);
    run.kernels = &guiKernelRegistry();
    run.cancel = &cancel;
    run.progress = progress;
    if (!request.config.tracePath.isEmpty())
        run.tracePath = request.config.tracePath.toStdString();
    if (overMpi) {
        plan::MpiRunRequest mpi;
        mpi.wantOutputs = false;
        mpi.onLine = [&](const std::string &line) {
            if (progress)
                progress(0.5, line);
        };
        run.mpi = std::move(mpi);
    }
    run.onIteration = [&](int index, const runtime::RunSummary &iteration,
                          const runtime::PipelineMetrics &metrics) {
        RunLive update;
        update.iteration.index = index;
        update.iteration.wallMs = iteration.totalMs;
        update.iteration.throughput = iteration.throughput;
        update.iteration.latencyP50Ms = iteration.latencyP50Ms;
        for (const auto &event : metrics.timeline)
            if (event.kind == "compute" || event.kind == "all-reduce" || event.kind == "all-gather")
                update.timeline.push_back(TimelineSpan{event.stage, event.microbatch, index,
                                                       event.startMs, event.endMs,
                                                       event.kind != "compute"});
        outcome.iterations.push_back(update.iteration);
        outcome.timeline = update.timeline;
        if (live)
            live(update);
    };
    SB_ASSIGN_OR_RETURN(workflows::PlanRun ran, workflows::runPlan(run));
    const runtime::PipelineMetrics &last = ran.lastMetrics;
    outcome.microbatchesUsed = last.microbatches;
    outcome.microbatchNote = QString::fromStdString(last.microbatchNote);
    outcome.bubble = last.bubbleFraction;
    outcome.idealBubble = last.idealBubbleFraction;
    const runtime::RunSummary summary = ran.summary();
    outcome.throughput = summary.throughput;
    outcome.latencyP50 = summary.latencyP50Ms;
    outcome.latencyP90 = summary.latencyP90Ms;
    outcome.latencyP95 = summary.latencyP95Ms;
    outcome.latencyP99 = summary.latencyP99Ms;
    outcome.latenciesMs = ran.latencyMs;
    outcome.runJson = workflows::planRunJson(ran);
    const auto &predicted = ran.prediction;
    if (predicted) {
        outcome.hasPrediction = true;
        outcome.predictedThroughput = predicted->schedule.summary.throughput;
        outcome.predictedLatencyP50 = predicted->schedule.summary.latencyP50Ms;
        outcome.predictedJson =
            QString::fromStdString(sb::jsonText(plan::predictionJson(*predicted)));
    }
    // The ledger of the plan as run (its batch and micro-batches), counting
    // what the measured peak counts: activations and transfer buffers, not
    // the weights the graph owns.
    std::map<std::string, quint64> runLedger;
    const plan::ValidationReport checked = plan::validatePlan(*request.graph, plan, {});
    if (checked.estimate)
        for (const plan::DeviceLedger &ledger : checked.estimate->ledger)
            runLedger[ledger.device] =
                ledger.activations + ledger.transferBuffers + ledger.workspace;
    for (std::size_t s = 0; s < last.stages.size(); ++s) {
        const auto &stage = last.stages[s];
        RunStage row;
        row.device = QString::fromStdString(stage.device);
        row.host = QString::fromStdString(stage.host);
        row.rank = stage.rank;
        row.nodes = int(stage.nodes);
        row.computeMs = stage.computeMs;
        row.idleMs = stage.idleMs;
        row.peakMemoryBytes = stage.peakMemoryBytes;
        row.sentBytes = stage.sentBytes;
        row.ledgerMemoryBytes = runLedger.count(stage.device) ? runLedger.at(stage.device) : 0;
        if (predicted && s < predicted->stages.size()) {
            row.predictedComputeMs = predicted->schedule.stageComputeMs[s];
            row.predictedPeakMemoryBytes = predicted->stagePeakMemoryBytes[s];
        }
        outcome.stages.push_back(row);
    }
    if (!request.config.tracePath.isEmpty())
        outcome.tracePath = request.config.tracePath;
    return outcome;
}

} // namespace sb::ui
