// The --plan path of `run` and `bench`, shared so their files need only a
// small edit:
//   spec: sb::cli::addPlanOptions(spec);
//   after loading graph + inputs:
//     if (sb::cli::wantsPlan(parsed)) {
//         auto planned = sb::cli::runPlanned(graph, modelPath, parsed, inputs, iters, warmup);
//         ... planned->lastOutputs (write like a plain run), plannedRunJson(*planned)
//     }
#pragma once

#include "app/cli/pipeline_cli.h"

#include "core/runtime/executor.h"
#include "core/runtime/pipeline.h"
#include "core/workflows/run_plan.h"

#include <nlohmann/json.hpp>

namespace sb::cli {

// The run of a plan (core/workflows/run_plan.h: the one definition the GUI
// uses too).
using PlannedRun = workflows::PlanRun;

// Validates the plan against the model (exit-2 errors list every problem),
// creates local devices and the runner, runs `warmup` + `iterations` times
// and writes --trace (Chrome trace + <stem>.timeline.json) of the last run.
Result<PlannedRun> runPlanned(std::shared_ptr<const graph::Graph> graph,
                              const std::filesystem::path &modelPath, const ParsedArgs &parsed,
                              const runtime::TensorMap &inputs, int iterations, int warmup);

// The run's JSON (workflows::planRunJson: the keys the GUI stores too).
nlohmann::json plannedRunJson(const PlannedRun &run);
// Human-readable stage table of a pipelined run.
std::string formatPlannedRun(const PlannedRun &run);

} // namespace sb::cli

namespace sb::cli {

// `run ... --plan`: one pipelined run, outputs written to --output-dir like a
// plain run; --json adds the stage metrics. Returns the exit code.
int runCommandWithPlan(const std::string &command, std::shared_ptr<const graph::Graph> graph,
                       const ParsedArgs &parsed, const runtime::TensorMap &inputs);
// `bench ... --plan`: --warmup + --iters pipelined runs; --json prints
// {median_ms, p90_ms, min_ms, throughput, peak_memory_bytes, stages, links,
//  bubble_fraction, latency_ms:{p50,p95,p99}, ...}. Returns the exit code.
int benchCommandWithPlan(const std::string &command, std::shared_ptr<const graph::Graph> graph,
                         const ParsedArgs &parsed, const runtime::TensorMap &inputs, int iterations,
                         int warmup);

} // namespace sb::cli
