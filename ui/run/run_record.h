// Conversion between a finished run as the Runs page shows it (RunOutcome)
// and the store's RunRecord, so past runs load back into the history and
// compare side by side with this session's.
//
// RunRecord layout written by the GUI (read back by outcomeFromRecord; runs
// stored by the CLI use the same keys where they overlap):
//   config   {"batch", "microbatches", "iterations", "inputs", "model", "source": "gui"}
//   timings  {"stages": [{"device", "nodes", "compute_ms", "idle_ms",
//              "peak_memory_bytes", "ledger_memory_bytes", "sent_bytes"}], "wall_ms": [...]}
//   metrics  {"throughput", "latency_ms": {"p50", "p90", "p95", "p99"},
//             "bubble_fraction", "ideal_bubble_fraction", "gui_worst_stall_ms"}
// A metric missing from an older record reads as NaN, never as 0. A run
// measured in this session stores its statistics and stages as core's run
// JSON has them (workflows::planRunJson, the same keys and values `run --plan
// --json` prints; stages also carry host and rank), the GUI adding only what
// is its own (inputs, ledger_memory_bytes, gui_worst_stall_ms).
#pragma once

#include "core/store/store.h"
#include "ui/run/run_types.h"

namespace sb::ui {

store::RunRecord recordFromOutcome(const RunOutcome &outcome, const QString &modelPath);
RunOutcome outcomeFromRecord(const store::RunRecord &record);

// "Run #12 · 14:03:07 · 4 mb" style label for a stored run.
QString storedRunLabel(const store::RunRecord &record);

} // namespace sb::ui
