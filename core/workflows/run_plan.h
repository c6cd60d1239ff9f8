// Running a plan and summarising the run: the one definition `run --plan`,
// `bench --plan` and the GUI's Runs page use, so a plan measured in either
// front end reports the same figures under the same definitions and the
// same JSON keys.
//
// Definitions (runtime::summarizeRuns): an iteration is one whole batch
// through every stage, timed around the runner's call (MPI: as rank 0 timed
// it); warm-up iterations are left out; throughput = batch x iterations /
// total time; latencies are micro-batch latencies over every timed iteration;
// wall_ms is that total time (the sum of the timed iterations' wall times), so
// every latency percentile lies within it. Stages, links and bubble_fraction
// describe the last iteration.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/mpi_run.h"
#include "core/plan/plan_file.h"
#include "core/plan/predict.h"
#include "core/runtime/kernel_registry.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/run_summary.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sb::workflows {

struct PlanRunRequest
{
    std::shared_ptr<const graph::Graph> graph;
    // The model file: the plan's model_sha256 is checked against it (skipped
    // when empty: an in-memory graph); MPI ranks load it.
    std::filesystem::path modelPath;
    std::string planLabel = "plan"; // names the plan in errors
    plan::Plan plan;
    runtime::TensorMap inputs; // the whole batch
    int warmup = 0;
    int iterations = 1;
    const runtime::KernelRegistry *kernels = nullptr; // local runs
    // Set: run as MPI ranks with these launcher settings (hosts, worker,
    // heartbeat, dry run, ...); graph, model, plan, inputs, warm-up,
    // iterations and cancel are taken from this request.
    std::optional<plan::MpiRunRequest> mpi;
    std::filesystem::path tracePath; // Chrome trace of the last iteration when set
    const CancelToken *cancel = nullptr;
    ProgressFn progress;
    // After each timed iteration (on the calling thread): its index, the
    // summary of that one iteration (same definitions as the run's) and its
    // metrics.
    std::function<void(int, const runtime::RunSummary &, const runtime::PipelineMetrics &)>
        onIteration;
};

struct PlanRun
{
    plan::Plan plan;
    std::int64_t batch = 1; // samples per iteration (the inputs' batch)
    std::vector<std::string> warnings;
    std::string launcher = "local";
    std::string dryRunCommand;       // MPI dry run: the mpirun command, nothing ran
    std::vector<double> iterationMs; // per timed iteration
    std::vector<double> latencyMs;   // every micro-batch latency of the timed iterations
    runtime::PipelineMetrics lastMetrics;
    runtime::TensorMap lastOutputs;
    // The cost model's prediction, made before the run (local runs).
    std::optional<plan::PipelinePrediction> prediction;

    runtime::RunSummary summary() const;
};

// Validates the plan against the model at the inputs' batch and dims
// (InvalidInput listing every problem), then runs warm-up + timed iterations
// locally or over MPI. Errors: Cancelled, a device or stage fault (Runtime).
[[nodiscard]] Result<PlanRun> runPlan(const PlanRunRequest &request);

// {stages:[{device,host,rank,nodes,compute_ms,idle_ms,peak_memory_bytes,sent_bytes}],
//  links:[{from_stage,to_stage,from,to,bytes,messages,ms}], launcher, bubble_fraction,
//  ideal_bubble_fraction, microbatches, microbatch_note, throughput,
//  latency_ms:{p50,p90,p95,p99}, wall_ms, warnings, measured, predicted}:
// the run's JSON, as `run --plan --json` prints it and the GUI stores it.
nlohmann::json planRunJson(const PlanRun &run);

// {device, host, rank, nodes, compute_ms, idle_ms, peak_memory_bytes,
//  sent_bytes}: one stage of the run's JSON (and of its stored record).
nlohmann::json stageJson(const runtime::StageMetrics &stage);

} // namespace sb::workflows
