// The store's record of a plan run: one writer, used by the GUI's Runs page
// and by `run/bench --plan --db`, so a run stored from either front end has
// the same keys under the same definitions.
//
// RunRecord layout:
//   config   {"batch", "microbatches" (used), "microbatches_requested",
//             "iterations", "inputs" (synthetic | npy | dataset), "input_path"?,
//             "model"?, "source" (gui | cli)}
//   timings  {"stages": [{"device", "host", "rank", "nodes", "compute_ms",
//              "idle_ms", "peak_memory_bytes", "sent_bytes",
//              "ledger_memory_bytes"?}] (the last iteration, as planRunJson
//              writes them), "wall_ms": [per timed iteration],
//             "predicted"? (plan::predictionJson: `calibrate --from-runs`
//             learns from it)}
//   metrics  {"throughput", "latency_ms": {"p50", "p90", "p95", "p99"},
//             "bubble_fraction", "ideal_bubble_fraction",
//             "gui_worst_stall_ms"? (the GUI's responsiveness probe)}
// Figures are those of runtime::summarizeRuns; unknown ones are null.
#pragma once

#include "core/common/result.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/run_summary.h"
#include "core/store/store.h"
#include "core/workflows/run_plan.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace sb::workflows {

// The status runRecord writes (the store's RunRecord::status of a finished run).
inline constexpr const char *kRunSucceeded = "succeeded";

struct RunRecordFacts
{
    // How the run was asked for.
    std::int64_t batch = 0;
    int microbatchesRequested = 0;
    int iterations = 0;
    std::string inputs = "synthetic"; // synthetic | npy | dataset
    std::string inputPath;
    std::string model; // the model file (links the record to its registered version)
    std::string source = "cli";
    // What it measured.
    int microbatches = 1; // used (the runtime may use fewer than asked)
    std::vector<runtime::StageMetrics> stages;
    std::vector<std::uint64_t> stageLedgerBytes; // per stage when known (the plan's ledger)
    std::vector<double> iterationMs;
    runtime::RunSummary summary;
    double bubbleFraction = 0;
    double idealBubbleFraction = 0;
    nlohmann::json predicted; // plan::predictionJson, or null
    std::optional<double> worstStallMs;
    std::string tracePath;
    std::string startedAt, finishedAt; // UTC ISO 8601
};

// The measured facts of a run of runPlan (the request's side is the caller's).
[[nodiscard]] RunRecordFacts runRecordFacts(const PlanRun &run);

// The record (status "succeeded"), laid out as above.
[[nodiscard]] store::RunRecord runRecord(const RunRecordFacts &facts);

// Saves the record, linked to the registered version of its config's model
// file when there is one; returns it with its id.
[[nodiscard]] Result<store::RunRecord> saveRunRecord(store::Store &store, store::RunRecord record);

} // namespace sb::workflows
