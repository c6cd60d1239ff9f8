#include "core/workflows/run_record.h"

#include "core/plan/predict.h"

#include <cmath>

namespace sb::workflows {

namespace {

using nlohmann::json;

// JSON has no NaN: unknown values are written as null.
json finiteOrNull(double value)
{
    return std::isfinite(value) ? json(value) : json();
}

} // namespace

RunRecordFacts runRecordFacts(const PlanRun &run)
{
    RunRecordFacts facts;
    const runtime::PipelineMetrics &metrics = run.lastMetrics;
    facts.batch = run.batch;
    facts.microbatchesRequested = run.plan.microbatches;
    facts.iterations = static_cast<int>(run.iterationMs.size());
    facts.microbatches = metrics.microbatches;
    facts.stages = metrics.stages;
    facts.iterationMs = run.iterationMs;
    facts.summary = run.summary();
    facts.bubbleFraction = metrics.bubbleFraction;
    facts.idealBubbleFraction = metrics.idealBubbleFraction;
    if (run.prediction)
        facts.predicted = plan::predictionJson(*run.prediction);
    return facts;
}

store::RunRecord runRecord(const RunRecordFacts &facts)
{
    store::RunRecord record;
    record.status = kRunSucceeded;
    record.config = {{"batch", facts.batch},
                     {"microbatches", facts.microbatches},
                     {"microbatches_requested", facts.microbatchesRequested},
                     {"iterations", facts.iterations},
                     {"inputs", facts.inputs},
                     {"source", facts.source}};
    if (!facts.inputPath.empty())
        record.config["input_path"] = facts.inputPath;
    if (!facts.model.empty())
        record.config["model"] = facts.model;

    json stages = json::array();
    for (std::size_t s = 0; s < facts.stages.size(); ++s) {
        json stage = stageJson(facts.stages[s]);
        for (const char *key : {"compute_ms", "idle_ms"})
            stage[key] = finiteOrNull(stage[key].get<double>());
        if (s < facts.stageLedgerBytes.size())
            stage["ledger_memory_bytes"] = facts.stageLedgerBytes[s];
        stages.push_back(std::move(stage));
    }
    json wall = json::array();
    for (double ms : facts.iterationMs)
        wall.push_back(finiteOrNull(ms));
    record.timings = {{"stages", stages}, {"wall_ms", wall}};
    if (facts.predicted.is_object())
        record.timings["predicted"] = facts.predicted;

    const runtime::RunSummary &summary = facts.summary;
    record.metrics = {{"throughput", finiteOrNull(summary.throughput)},
                      {"latency_ms",
                       {{"p50", finiteOrNull(summary.latencyP50Ms)},
                        {"p90", finiteOrNull(summary.latencyP90Ms)},
                        {"p95", finiteOrNull(summary.latencyP95Ms)},
                        {"p99", finiteOrNull(summary.latencyP99Ms)}}},
                      {"bubble_fraction", finiteOrNull(facts.bubbleFraction)},
                      {"ideal_bubble_fraction", finiteOrNull(facts.idealBubbleFraction)}};
    if (facts.worstStallMs)
        record.metrics["gui_worst_stall_ms"] = finiteOrNull(*facts.worstStallMs);
    record.tracePath = facts.tracePath;
    record.startedAt = facts.startedAt;
    record.finishedAt = facts.finishedAt;
    return record;
}

Result<store::RunRecord> saveRunRecord(store::Store &store, store::RunRecord record)
{
    const json &config = record.config;
    if (config.is_object() && config.contains("model") && config["model"].is_string()) {
        SB_ASSIGN_OR_RETURN(auto version,
                            store.findModelVersionByFile(config["model"].get<std::string>()));
        if (version)
            record.modelVersionId = version->id;
    }
    SB_ASSIGN_OR_RETURN(record.id, store.saveRun(record));
    return record;
}

} // namespace sb::workflows
