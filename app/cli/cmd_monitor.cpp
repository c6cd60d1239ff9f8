// `shardbench-cli monitor` (windows, estimates and alerts of a served model;
// --gate fails CI with exit 3 on an alert) and `shardbench-cli feedback`
// (labels for served predictions: estimates become realized metrics).
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/common/json_text.h"

#include "core/eval/csv.h"
#include "core/serve/monitor.h"

#include <cstdio>
#include <iostream>

namespace sb::cli {
namespace {

using store::Json;

Json optionalNumber(const std::optional<double> &value)
{
    return value ? Json(*value) : Json();
}

Json windowJson(const store::MonitorWindowRecord &w)
{
    Json out = {{"id", w.id},
                {"model", w.model},
                {"version", w.version},
                {"env", w.env},
                {"started_at", w.startedAt},
                {"ended_at", w.endedAt},
                {"requests", w.requests},
                {"rows", w.rows},
                {"failures", w.failures},
                {"error_rate", w.errorRate},
                {"share_drifted", optionalNumber(w.shareDrifted)},
                {"dataset_drift", w.datasetDrift},
                {"estimated_accuracy", optionalNumber(w.estimatedAccuracy)},
                {"realized_accuracy", optionalNumber(w.realizedAccuracy)},
                {"labelled", w.labelled}};
    if (w.report.contains("estimate"))
        out["estimate"] = w.report["estimate"];
    return out;
}

Json alertJson(const store::MonitorAlertRecord &a)
{
    return {{"id", a.id},           {"window_id", a.windowId}, {"model", a.model},
            {"version", a.version}, {"trigger", a.trigger},    {"rule", a.rule},
            {"metrics", a.metrics}, {"time", a.createdAt}};
}

std::string fmt(const std::optional<double> &value, int digits = 3)
{
    if (!value)
        return "-";
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, *value);
    return buffer;
}

int runMonitor(Args &args)
{
    ArgSpec spec("monitor NAME[:VERSION] [--windows N] [--trigger NAME=RULE ...] [--gate] [--json] "
                 "[--db PATH]",
                 "Online monitoring of a served model: the last windows `serve` recorded (rows,\n"
                 "error rate, drift share, estimated and realized accuracy) and the alerts its\n"
                 "trigger rules raised. --trigger re-evaluates rules over the stored windows\n"
                 "(same rule language and metrics as `serve --trigger`). Estimated accuracy is\n"
                 "confidence-based (CBPE) and valid only when the model is calibrated.");
    spec.positional("NAME[:VERSION]", "served model (all versions without :VERSION)");
    spec.option("windows", "N", "how many recent windows to show and check", "20");
    spec.multi("trigger", "NAME=RULE", "rule to evaluate over the stored windows (repeatable)");
    spec.flag("gate", "exit 3 when an alert was raised in these windows (for CI)");
    spec.flag("json", "print one JSON object {model, version, windows, alerts, gate}");
    addStoreOptions(spec);
    spec.epilog("Exit: 0 ok (or gate passed), 3 gate failed, 2 bad input.");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto windowsWanted = parsed.getInt("windows", 20);
    if (!windowsWanted)
        return reportError(args.command, windowsWanted.error());
    std::vector<serve::Trigger> triggers;
    for (const std::string &text : parsed.all("trigger")) {
        auto trigger = serve::parseTrigger(text);
        if (!trigger)
            return reportError(args.command, trigger.error());
        triggers.push_back(std::move(*trigger));
    }
    int exitCode = 0;
    auto db = openStoreOrReport(parsed, args.command, &exitCode);
    if (!db)
        return exitCode;
    std::string model = parsed.positional.front(), version;
    if (auto colon = model.rfind(':'); colon != std::string::npos) {
        version = model.substr(colon + 1);
        model = model.substr(0, colon);
    }
    auto windows = db->monitor().windows(model, version, *windowsWanted);
    if (!windows)
        return reportError(args.command, windows.error());
    auto stored = db->monitor().alerts(model, version);
    if (!stored)
        return reportError(args.command, stored.error());
    const store::Id firstWindow = windows->empty() ? 0 : windows->front().id;
    Json alerts = Json::array();
    for (const auto &alert : *stored)
        if (!windows->empty() && alert.windowId >= firstWindow)
            alerts.push_back(alertJson(alert));
    // Re-evaluate --trigger rules window by window over the stored history.
    std::vector<store::MonitorWindowRecord> history;
    for (const auto &w : *windows) {
        history.push_back(w);
        for (const auto &fired : serve::evaluateTriggers(triggers, history))
            alerts.push_back({{"window_id", w.id},
                              {"model", w.model},
                              {"version", w.version},
                              {"trigger", fired.name},
                              {"rule", fired.rule},
                              {"metrics", fired.metrics},
                              {"evaluated_by", "monitor --trigger"}});
    }
    const bool failed = !alerts.empty();
    Json out = {{"model", model},
                {"version", version},
                {"windows", Json::array()},
                {"alerts", alerts},
                {"gate", failed ? "fail" : "pass"}};
    for (const auto &w : *windows)
        out["windows"].push_back(windowJson(w));
    if (parsed.flag("json")) {
        printJson(out);
    } else {
        if (windows->empty())
            std::cout << "no monitoring windows for " << parsed.positional.front() << "\n";
        else
            std::cout << "window  version  rows  errors  drift share  drift  est. acc  real acc "
                         " labelled\n";
        for (const auto &w : *windows) {
            char line[200];
            std::snprintf(line, sizeof line, "%6lld  %7s  %4lld  %6s  %11s  %5s  %8s  %8s  %8lld\n",
                          static_cast<long long>(w.id), w.version.c_str(),
                          static_cast<long long>(w.rows), fmt(w.errorRate).c_str(),
                          fmt(w.shareDrifted).c_str(), w.datasetDrift ? "YES" : "no",
                          fmt(w.estimatedAccuracy).c_str(), fmt(w.realizedAccuracy).c_str(),
                          static_cast<long long>(w.labelled));
            std::cout << line;
        }
        if (!windows->empty() && windows->back().estimatedAccuracy)
            std::cout << "estimated accuracy: confidence-based (CBPE), valid only when the model "
                         "is calibrated\n";
        for (const auto &a : alerts)
            std::cout << "ALERT " << a["trigger"].get<std::string>() << " after window "
                      << jsonText(a["window_id"]) << ": " << a["rule"].get<std::string>() << " "
                      << jsonText(a["metrics"]) << "\n";
        if (parsed.flag("gate"))
            std::cout << "gate: " << (failed ? "FAIL" : "pass") << "\n";
    }
    return parsed.flag("gate") && failed ? kExitGateFailed : kExitOk;
}

int runFeedback(Args &args)
{
    ArgSpec spec("feedback LABELS.csv [--id-column id] [--label-column label] [--row-column row] "
                 "[--json] [--db PATH]",
                 "Labels for predictions the server made: each row names a request id (the\n"
                 "`id` of the infer request) and the true class index. Matching predictions get\n"
                 "the label; every window they belong to gets its realized accuracy, shown\n"
                 "next to the confidence-based estimate by `monitor`.");
    spec.positional("LABELS.csv", "CSV with request ids and labels");
    spec.option("id-column", "COL", "request id column", "id");
    spec.option("label-column", "COL", "true class column", "label");
    spec.option("row-column", "COL", "row within a multi-row request (default: 0)");
    spec.flag("json", "print one JSON object {matched, unmatched, windows}");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const std::string idColumn = parsed.get("id-column", "id");
    const std::string labelColumn = parsed.get("label-column", "label");
    const std::string rowColumn = parsed.get("row-column");
    eval::CsvOptions csv;
    csv.categorical = {idColumn, labelColumn};
    auto table = eval::readCsv(parsed.positional.front(), csv);
    if (!table)
        return reportError(args.command, table.error());
    const eval::Column *ids = table->column(idColumn);
    const eval::Column *labels = table->column(labelColumn);
    const eval::Column *rows = rowColumn.empty() ? nullptr : table->column(rowColumn);
    for (const auto &[column, name] : {std::pair{ids, idColumn}, std::pair{labels, labelColumn}})
        if (!column)
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         parsed.positional.front() + ": no column '" + name + "'"));
    if (!rowColumn.empty() && !rows)
        return reportError(
            args.command, makeError(ErrorCode::InvalidInput,
                                    parsed.positional.front() + ": no column '" + rowColumn + "'"));
    std::vector<store::FeedbackLabel> feedback;
    for (std::size_t r = 0; r < table->rows; ++r) {
        const int id = ids->codes[r], label = labels->codes[r];
        if (id < 0 || label < 0)
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         parsed.positional.front() + ":" +
                                             std::to_string(table->lines[r]) + ": missing " +
                                             (id < 0 ? idColumn : labelColumn)));
        store::FeedbackLabel entry;
        entry.requestId = (*ids->categories)[static_cast<std::size_t>(id)];
        entry.label = (*labels->categories)[static_cast<std::size_t>(label)];
        entry.row = rows && std::isfinite(rows->numbers[r])
                        ? static_cast<std::int64_t>(rows->numbers[r])
                        : 0;
        feedback.push_back(std::move(entry));
    }
    int exitCode = 0;
    auto db = openStoreOrReport(parsed, args.command, &exitCode);
    if (!db)
        return exitCode;
    auto result = db->monitor().applyFeedback(feedback, parsed.positional.front());
    if (!result)
        return reportError(args.command, result.error());
    Json out = {
        {"matched", result->matched}, {"unmatched", result->unmatched}, {"windows", Json::array()}};
    for (const auto &w : result->windows)
        out["windows"].push_back(windowJson(w));
    if (parsed.flag("json")) {
        printJson(out);
        return kExitOk;
    }
    std::cout << result->matched << " labels matched predictions, " << result->unmatched
              << " did not\n";
    for (const auto &w : result->windows)
        std::cout << "window " << w.id << " (" << w.model << ":" << w.version << "): estimated "
                  << fmt(w.estimatedAccuracy) << ", realized " << fmt(w.realizedAccuracy) << " on "
                  << w.labelled << " labelled rows\n";
    return kExitOk;
}

const CommandRegistrar monitorRegistrar{
    "monitor", "Monitoring windows and alerts of a served model (--gate for CI)", runMonitor};
const CommandRegistrar feedbackRegistrar{
    "feedback", "Labels for served predictions: realized vs estimated accuracy", runFeedback};

} // namespace
} // namespace sb::cli
