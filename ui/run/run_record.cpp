#include "ui/run/run_record.h"

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

// JSON has no NaN: unknown values are written as null.
json finiteOrNull(double value)
{
    return std::isfinite(value) ? json(value) : json();
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
    store::RunRecord record;
    record.status = "succeeded";
    json stages = json::array();
    const json &measured =
        outcome.runJson.is_object() ? outcome.runJson.value("stages", json()) : json();
    if (measured.is_array() && measured.size() == std::size_t(outcome.stages.size())) {
        // A run of this session: its stages as core wrote them, plus the ledger.
        stages = measured;
        for (std::size_t s = 0; s < stages.size(); ++s)
            stages[s]["ledger_memory_bytes"] = outcome.stages[qsizetype(s)].ledgerMemoryBytes;
    } else {
        for (const RunStage &stage : outcome.stages)
            stages.push_back({{"device", stage.device.toStdString()},
                              {"nodes", stage.nodes},
                              {"compute_ms", finiteOrNull(stage.computeMs)},
                              {"idle_ms", finiteOrNull(stage.idleMs)},
                              {"peak_memory_bytes", stage.peakMemoryBytes},
                              {"ledger_memory_bytes", stage.ledgerMemoryBytes},
                              {"sent_bytes", stage.sentBytes}});
    }
    json wall = json::array();
    for (const RunIteration &iteration : outcome.iterations)
        wall.push_back(finiteOrNull(iteration.wallMs));
    record.config = {{"batch", outcome.config.batch},
                     {"microbatches", outcome.microbatchesUsed},
                     {"microbatches_requested", outcome.config.microbatches},
                     {"iterations", outcome.config.iterations},
                     {"inputs", inputsName(outcome.config.inputs)},
                     {"source", "gui"}};
    if (!outcome.config.inputPath.isEmpty())
        record.config["input_path"] = outcome.config.inputPath.toStdString();
    if (!modelPath.isEmpty())
        record.config["model"] = modelPath.toStdString();
    record.timings = {{"stages", stages}, {"wall_ms", wall}};
    // The prediction made for the run: `calibrate --from-runs` learns from it.
    if (outcome.hasPrediction) {
        json predicted = json::parse(outcome.predictedJson.toStdString(), nullptr, false);
        if (!predicted.is_discarded())
            record.timings["predicted"] = predicted;
    }
    record.metrics = {{"throughput", finiteOrNull(outcome.throughput)},
                      {"latency_ms",
                       {{"p50", finiteOrNull(outcome.latencyP50)},
                        {"p90", finiteOrNull(outcome.latencyP90)},
                        {"p95", finiteOrNull(outcome.latencyP95)},
                        {"p99", finiteOrNull(outcome.latencyP99)}}},
                      {"bubble_fraction", finiteOrNull(outcome.bubble)},
                      {"ideal_bubble_fraction", finiteOrNull(outcome.idealBubble)},
                      {"gui_worst_stall_ms", finiteOrNull(outcome.worstStallMs)}};
    // A run measured in this session: its statistics exactly as core wrote
    // them (workflows::planRunJson, what `run --plan --json` prints).
    if (outcome.runJson.is_object())
        for (const char *key :
             {"throughput", "latency_ms", "bubble_fraction", "ideal_bubble_fraction"})
            if (outcome.runJson.contains(key))
                record.metrics[key] = outcome.runJson[key];
    record.tracePath = outcome.tracePath.toStdString();
    record.startedAt = outcome.startedAt.toStdString();
    record.finishedAt = outcome.finishedAt.toStdString();
    return record;
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
        iteration.throughput = iteration.wallMs > 0 && outcome.config.batch > 0
                                   ? outcome.config.batch * 1000.0 / iteration.wallMs
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
