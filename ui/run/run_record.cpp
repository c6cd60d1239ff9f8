#include "ui/run/run_record.h"

#include "core/runtime/run_summary.h"
#include "core/workflows/run_record.h"

#include <QDateTime>
#include <QFileInfo>

#include <cmath>
#include <limits>

namespace sb::ui {

namespace {

using nlohmann::json;

double numberAt(const json &object, const char *key)
{
    if (object.is_object() && object.contains(key) && object[key].is_number())
        return object[key].get<double>();
    return std::numeric_limits<double>::quiet_NaN();
}

QString stringAt(const json &object, const char *key)
{
    if (object.is_object() && object.contains(key) && object[key].is_string())
        return QString::fromStdString(object[key].get<std::string>());
    return {};
}

quint64 bytesAt(const json &object, const char *key)
{
    const double value = numberAt(object, key);
    return std::isnan(value) || value < 0 ? 0 : quint64(value);
}

const char *inputsName(RunConfig::Inputs inputs)
{
    switch (inputs) {
    case RunConfig::Inputs::Npy:
        return "npy";
    case RunConfig::Inputs::Dataset:
        return "dataset";
    case RunConfig::Inputs::Synthetic:
        break;
    }
    return "synthetic";
}

} // namespace

store::RunRecord recordFromOutcome(const RunOutcome &outcome, const QString &modelPath)
{
    // The page's outcome as core's facts; core lays the record out.
    workflows::RunRecordFacts facts;
    facts.batch = outcome.config.batch;
    facts.microbatchesRequested = outcome.config.microbatches;
    facts.iterations = outcome.config.iterations;
    facts.inputs = inputsName(outcome.config.inputs);
    facts.inputPath = outcome.config.inputPath.toStdString();
    facts.model = modelPath.toStdString();
    facts.source = "gui";
    facts.microbatches = outcome.microbatchesUsed;
    for (const RunStage &stage : outcome.stages) {
        runtime::StageMetrics metrics;
        metrics.device = stage.device.toStdString();
        metrics.host = stage.host.toStdString();
        metrics.rank = stage.rank;
        metrics.nodes = std::size_t(stage.nodes);
        metrics.computeMs = stage.computeMs;
        metrics.idleMs = stage.idleMs;
        metrics.peakMemoryBytes = stage.peakMemoryBytes;
        metrics.sentBytes = stage.sentBytes;
        facts.stages.push_back(metrics);
        facts.stageLedgerBytes.push_back(stage.ledgerMemoryBytes);
    }
    for (const RunIteration &iteration : outcome.iterations)
        facts.iterationMs.push_back(iteration.wallMs);
    facts.summary.throughput = outcome.throughput;
    facts.summary.latencyP50Ms = outcome.latencyP50;
    facts.summary.latencyP90Ms = outcome.latencyP90;
    facts.summary.latencyP95Ms = outcome.latencyP95;
    facts.summary.latencyP99Ms = outcome.latencyP99;
    facts.bubbleFraction = outcome.bubble;
    facts.idealBubbleFraction = outcome.idealBubble;
    if (outcome.hasPrediction) {
        json predicted = json::parse(outcome.predictedJson.toStdString(), nullptr, false);
        if (!predicted.is_discarded())
            facts.predicted = std::move(predicted);
    }
    facts.worstStallMs = outcome.worstStallMs;
    facts.tracePath = outcome.tracePath.toStdString();
    facts.startedAt = outcome.startedAt.toStdString();
    facts.finishedAt = outcome.finishedAt.toStdString();
    return workflows::runRecord(facts);
}

RunOutcome outcomeFromRecord(const store::RunRecord &record)
{
    RunOutcome outcome;
    outcome.storeId = record.id;
    outcome.startedAt = QString::fromStdString(record.startedAt);
    outcome.finishedAt = QString::fromStdString(record.finishedAt);
    outcome.tracePath = QString::fromStdString(record.tracePath);
    const json &config = record.config;
    const double batch = numberAt(config, "batch");
    const double microbatches = numberAt(config, "microbatches");
    const double requested = numberAt(config, "microbatches_requested");
    const double iterations = numberAt(config, "iterations");
    outcome.config.batch = std::isnan(batch) ? 0 : int(batch);
    outcome.microbatchesUsed = std::isnan(microbatches) ? 0 : int(microbatches);
    outcome.config.microbatches = std::isnan(requested) ? outcome.microbatchesUsed : int(requested);
    outcome.config.iterations = std::isnan(iterations) ? 0 : int(iterations);
    outcome.config.inputPath = stringAt(config, "input_path");
    const QString inputs = stringAt(config, "inputs");
    outcome.config.inputs = inputs == "npy"       ? RunConfig::Inputs::Npy
                            : inputs == "dataset" ? RunConfig::Inputs::Dataset
                                                  : RunConfig::Inputs::Synthetic;
    outcome.modelName = QFileInfo(stringAt(config, "model")).fileName();

    const json &metrics = record.metrics;
    outcome.throughput = numberAt(metrics, "throughput");
    const json latency =
        metrics.is_object() ? metrics.value("latency_ms", json::object()) : json::object();
    outcome.latencyP50 = numberAt(latency, "p50");
    outcome.latencyP90 = numberAt(latency, "p90");
    outcome.latencyP95 = numberAt(latency, "p95");
    outcome.latencyP99 = numberAt(latency, "p99");
    outcome.bubble = numberAt(metrics, "bubble_fraction");
    outcome.idealBubble = numberAt(metrics, "ideal_bubble_fraction");
    outcome.worstStallMs = numberAt(metrics, "gui_worst_stall_ms");

    const json stages =
        record.timings.is_object() ? record.timings.value("stages", json::array()) : json::array();
    for (const json &stage : stages) {
        RunStage row;
        row.device = stringAt(stage, "device");
        const double nodes = numberAt(stage, "nodes");
        row.nodes = std::isnan(nodes) ? 0 : int(nodes);
        row.computeMs = numberAt(stage, "compute_ms");
        row.idleMs = numberAt(stage, "idle_ms");
        row.peakMemoryBytes = bytesAt(stage, "peak_memory_bytes");
        row.ledgerMemoryBytes = bytesAt(stage, "ledger_memory_bytes");
        row.sentBytes = bytesAt(stage, "sent_bytes");
        outcome.stages.push_back(row);
    }
    const json wall =
        record.timings.is_object() ? record.timings.value("wall_ms", json::array()) : json::array();
    int index = 0;
    for (const json &ms : wall) {
        RunIteration iteration;
        iteration.index = index++;
        iteration.wallMs = ms.is_number() ? ms.get<double>() : std::nan("");
        iteration.throughput =
            iteration.wallMs > 0 && outcome.config.batch > 0
                ? runtime::summarizeRuns(outcome.config.batch, {iteration.wallMs}).throughput
                : std::nan("");
        outcome.iterations.push_back(iteration);
    }
    outcome.label = storedRunLabel(record);
    return outcome;
}

QString storedRunLabel(const store::RunRecord &record)
{
    const QDateTime started =
        QDateTime::fromString(QString::fromStdString(record.startedAt), Qt::ISODateWithMs);
    const double microbatches = numberAt(record.config, "microbatches");
    QString label = QStringLiteral("Run #%1").arg(record.id);
    if (started.isValid())
        label += started.toLocalTime().toString(QStringLiteral(" (HH:mm:ss)"));
    if (!std::isnan(microbatches))
        label += QStringLiteral(", %1 mb").arg(int(microbatches));
    return label;
}

} // namespace sb::ui
