#include "core/eval/drift_json.h"

#include <cmath>

namespace sb::eval {

namespace {

nlohmann::json number(double v)
{
    if (!std::isfinite(v))
        return nullptr;
    return v;
}

nlohmann::json numbers(const std::vector<double> &values)
{
    nlohmann::json out = nlohmann::json::array();
    for (double v : values)
        out.push_back(number(v));
    return out;
}

nlohmann::json binsToJson(const DriftBins &bins)
{
    if (bins.kind.empty())
        return nullptr;
    nlohmann::json out;
    out["kind"] = bins.kind;
    if (bins.kind == "sturges")
        out["edges"] = numbers(bins.edges);
    else
        out["values"] = bins.values;
    out["unit"] = bins.shares ? "share" : "count";
    out["reference"] = numbers(bins.reference);
    out["current"] = numbers(bins.current);
    return out;
}

} // namespace

nlohmann::json driftColumnToJson(const DriftColumnResult &column, bool withBins)
{
    nlohmann::json out;
    out["name"] = column.name;
    out["type"] = column.type;
    out["method"] = column.error.empty() || column.method != DriftMethod::Auto
                        ? nlohmann::json(driftMethodName(column.method))
                        : nlohmann::json(nullptr);
    out["rule"] = column.rule;
    if (!column.error.empty()) {
        out["statistic"] = nullptr;
        out["p_value"] = nullptr;
        out["threshold"] = nullptr;
        out["drifted"] = nullptr;
        out["bins"] = nullptr;
        out["error"] = column.error;
    } else {
        out["statistic"] = number(column.statistic);
        out["p_value"] = column.pValue ? number(*column.pValue) : nlohmann::json(nullptr);
        out["threshold"] = column.threshold;
        out["drifted"] = column.drifted;
        out["bins"] = withBins ? binsToJson(column.bins) : nlohmann::json(nullptr);
    }
    if (!column.ksMode.empty())
        out["ks_mode"] = column.ksMode;
    out["reference_rows"] = column.referenceRows;
    out["current_rows"] = column.currentRows;
    return out;
}

nlohmann::json driftReportToJson(const DriftReport &report)
{
    nlohmann::json out;
    out["reference"] = {{"file", report.referenceFile}, {"rows", report.referenceRows}};
    out["current"] = {{"file", report.currentFile}, {"rows", report.currentRows}};
    nlohmann::json columns = nlohmann::json::array();
    for (const auto &column : report.columns)
        columns.push_back(driftColumnToJson(column));
    out["columns"] = columns;
    out["tested_columns"] = report.summary.testedColumns;
    out["drifted_columns"] = report.summary.driftedColumns;
    out["share_drifted"] = report.summary.shareDrifted;
    out["dataset_drift"] = report.summary.datasetDrift;
    nlohmann::json windows = nlohmann::json::array();
    for (const auto &window : report.windows) {
        nlohmann::json w;
        if (window.timeWindow) {
            w["start"] = window.start;
            w["end"] = window.end;
        } else {
            w["start"] = std::stoll(window.start);
            w["end"] = std::stoll(window.end);
        }
        w["rows"] = window.rows;
        w["drifted_columns"] = window.summary.driftedColumns;
        w["share_drifted"] = window.summary.shareDrifted;
        w["dataset_drift"] = window.summary.datasetDrift;
        nlohmann::json cols = nlohmann::json::array();
        for (const auto &column : window.columns)
            cols.push_back(driftColumnToJson(column, false));
        w["columns"] = cols;
        windows.push_back(w);
    }
    out["windows"] = windows;
    out["window_kind"] =
        report.windowKind.empty() ? nlohmann::json(nullptr) : nlohmann::json(report.windowKind);
    nlohmann::json diagnostics = nlohmann::json::array();
    for (const auto &d : report.diagnostics)
        diagnostics.push_back({{"column", d.column}, {"kind", d.kind}, {"message", d.message}});
    out["diagnostics"] = diagnostics;
    return out;
}

nlohmann::json qualityReportToJson(const QualityReport &report,
                                   const std::optional<LeakageReport> &leakage)
{
    nlohmann::json out;
    out["file"] = report.fileName;
    out["rows"] = report.rows;
    nlohmann::json columns = nlohmann::json::array();
    for (const auto &c : report.columns) {
        nlohmann::json j;
        j["name"] = c.name;
        j["type"] = c.type;
        j["missing"] = c.missing;
        j["missing_share"] = c.missingShare;
        j["unique"] = c.unique;
        if (c.uniqueApproximate)
            j["unique_approximate"] = true;
        j["constant"] = c.constant;
        if (!c.minText.empty()) {
            j["min"] = c.minText;
            j["max"] = c.maxText;
            j["mean"] = nullptr;
        } else {
            j["min"] = c.min ? number(*c.min) : nlohmann::json(nullptr);
            j["max"] = c.max ? number(*c.max) : nlohmann::json(nullptr);
            j["mean"] = c.mean ? number(*c.mean) : nlohmann::json(nullptr);
        }
        nlohmann::json pii = nlohmann::json::array();
        for (const auto &p : c.pii)
            pii.push_back({{"kind", p.kind}, {"share", p.share}, {"matches", p.matches}});
        j["pii"] = pii;
        if (!c.diagnostic.empty())
            j["diagnostic"] = {{"kind", c.diagnosticKind}, {"message", c.diagnostic}};
        columns.push_back(j);
    }
    out["columns"] = columns;
    out["duplicate_rows"] = report.duplicateRows;
    if (report.hasLabel) {
        nlohmann::json balance = nlohmann::json::array();
        for (const auto &c : report.classBalance)
            balance.push_back({{"label", c.label}, {"count", c.count}, {"share", c.share}});
        out["class_balance"] = balance;
        out["label_conflicts"] = {{"groups", report.labelConflictGroups},
                                  {"rows", report.labelConflictRows}};
    } else {
        out["class_balance"] = nullptr;
        out["label_conflicts"] = nullptr;
    }
    if (leakage) {
        out["leakage"] = {{"test_rows_in_train", leakage->testRowsInTrain},
                          {"share", leakage->share},
                          {"test_rows", leakage->testRows},
                          {"train_rows", leakage->trainRows},
                          {"columns", leakage->columns}};
    } else {
        out["leakage"] = nullptr;
    }
    return out;
}

} // namespace sb::eval
