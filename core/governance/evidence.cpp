#include "core/governance/evidence.h"

#include <algorithm>
#include <set>

namespace sb::governance {

using store::Json;

namespace {

bool isErrorLike(const std::string &metric)
{
    static const std::set<std::string> errorLike = {"ece", "mce",  "log_loss", "brier",
                                                    "mae", "rmse", "mape",     "adaptive_ece"};
    return errorLike.count(metric) > 0;
}

void addNumbers(const Json &object, MetricMap &metrics)
{
    if (!object.is_object())
        return;
    for (auto it = object.begin(); it != object.end(); ++it) {
        if (it.value().is_number())
            metrics[it.key()] = it.value().get<double>();
        else if (it.value().is_boolean())
            metrics[it.key()] = it.value().get<bool>() ? 1.0 : 0.0;
    }
}

void deriveFromEvaluation(const Json &report, MetricMap &metrics)
{
    metrics["has_evaluation"] = 1;
    if (report.contains("rows") && report["rows"].is_number())
        metrics["eval_rows"] = report["rows"].get<double>();
    if (report.contains("overall"))
        addNumbers(report["overall"], metrics);
    metrics["has_calibration"] = 0;
    if (report.contains("calibration") && report["calibration"].is_object()) {
        const Json &calibration = report["calibration"];
        for (const char *key :
             {"ece", "mce", "adaptive_ece", "temperature", "ece_after_temperature"})
            if (calibration.contains(key) && calibration[key].is_number())
                metrics[key] = calibration[key].get<double>();
        if (calibration.contains("bins") && calibration["bins"].is_array() &&
            !calibration["bins"].empty())
            metrics["has_calibration"] = 1;
    }
    double sliceCount = 0;
    if (report.contains("slices") && report["slices"].is_array()) {
        std::map<std::string, double> worst;
        double minRows = -1;
        for (const Json &slice : report["slices"]) {
            if (!slice.is_object())
                continue;
            ++sliceCount;
            if (slice.contains("rows") && slice["rows"].is_number()) {
                double rows = slice["rows"].get<double>();
                minRows = minRows < 0 ? rows : std::min(minRows, rows);
            }
            if (!slice.contains("metrics") || !slice["metrics"].is_object())
                continue;
            for (auto it = slice["metrics"].begin(); it != slice["metrics"].end(); ++it) {
                if (!it.value().is_number())
                    continue;
                double value = it.value().get<double>();
                auto found = worst.find(it.key());
                if (found == worst.end())
                    worst[it.key()] = value;
                else
                    found->second = isErrorLike(it.key()) ? std::max(found->second, value)
                                                          : std::min(found->second, value);
            }
        }
        for (const auto &[name, value] : worst)
            metrics["worst_slice_" + name] = value;
        if (minRows >= 0)
            metrics["min_slice_rows"] = minRows;
    }
    metrics["slice_count"] = sliceCount;
    metrics["has_slices"] = sliceCount > 0 ? 1 : 0;
    if (report.contains("auto_slices") && report["auto_slices"].is_array())
        metrics["weak_slices"] = static_cast<double>(report["auto_slices"].size());
    double gatesFailed = 0;
    if (report.contains("gates") && report["gates"].is_array())
        for (const Json &gate : report["gates"])
            if (gate.is_object() && gate.contains("passed") && gate["passed"].is_boolean() &&
                !gate["passed"].get<bool>())
                ++gatesFailed;
    metrics["gates_failed"] = gatesFailed;
}

void deriveFromQuality(const Json &report, MetricMap &metrics)
{
    metrics["has_quality"] = 1;
    if (report.contains("rows") && report["rows"].is_number())
        metrics["quality_rows"] = report["rows"].get<double>();
    double piiColumns = 0, constantColumns = 0, missingMax = 0;
    if (report.contains("columns") && report["columns"].is_array()) {
        for (const Json &column : report["columns"]) {
            if (!column.is_object())
                continue;
            if (column.contains("pii")) {
                const Json &pii = column["pii"];
                bool found = (pii.is_array() || pii.is_object()) ? !pii.empty()
                             : pii.is_string()                   ? !pii.get<std::string>().empty()
                             : pii.is_boolean()                  ? pii.get<bool>()
                                                                 : false;
                piiColumns += found ? 1 : 0;
            }
            if (column.contains("constant") && column["constant"].is_boolean() &&
                column["constant"].get<bool>())
                ++constantColumns;
            if (column.contains("missing_share") && column["missing_share"].is_number())
                missingMax = std::max(missingMax, column["missing_share"].get<double>());
        }
    }
    metrics["pii_columns"] = piiColumns;
    metrics["constant_columns"] = constantColumns;
    metrics["missing_share_max"] = missingMax;
    for (const char *key : {"duplicate_rows", "label_conflicts"})
        if (report.contains(key) && report[key].is_number())
            metrics[key] = report[key].get<double>();
    if (report.contains("leakage") && report["leakage"].is_object() &&
        report["leakage"].contains("share") && report["leakage"]["share"].is_number())
        metrics["leakage_share"] = report["leakage"]["share"].get<double>();
}

void deriveFromDrift(const Json &report, MetricMap &metrics)
{
    metrics["has_drift"] = 1;
    if (report.contains("share_drifted") && report["share_drifted"].is_number())
        metrics["share_drifted"] = report["share_drifted"].get<double>();
    if (report.contains("dataset_drift") && report["dataset_drift"].is_boolean())
        metrics["dataset_drift"] = report["dataset_drift"].get<bool>() ? 1 : 0;
    if (report.contains("drifted_columns") && report["drifted_columns"].is_number())
        metrics["drifted_columns"] = report["drifted_columns"].get<double>();
    else if (report.contains("columns") && report["columns"].is_array()) {
        double drifted = 0;
        for (const Json &column : report["columns"])
            if (column.is_object() && column.contains("drifted") &&
                column["drifted"].is_boolean() && column["drifted"].get<bool>())
                ++drifted;
        metrics["drifted_columns"] = drifted;
    }
}

} // namespace

MetricMap deriveMetrics(const Json &evaluation, const Json &quality, const Json &drift, bool hasRun)
{
    MetricMap metrics{{"has_evaluation", 0},
                      {"has_quality", 0},
                      {"has_drift", 0},
                      {"has_run", hasRun ? 1.0 : 0.0}};
    if (evaluation.is_object())
        deriveFromEvaluation(evaluation, metrics);
    if (quality.is_object())
        deriveFromQuality(quality, metrics);
    if (drift.is_object())
        deriveFromDrift(drift, metrics);
    return metrics;
}

Result<MetricMap> metricsForVersion(store::Store &store, store::Id modelVersionId)
{
    auto &evaluations = store.evaluations();
    SB_ASSIGN_OR_RETURN(auto evaluation, evaluations.latestEvaluation(modelVersionId, "eval"));
    SB_ASSIGN_OR_RETURN(auto quality, evaluations.latestEvaluation(modelVersionId, "quality"));
    SB_ASSIGN_OR_RETURN(auto drift, evaluations.latestDrift(modelVersionId));
    SB_ASSIGN_OR_RETURN(auto run, store.runs().latestRun(modelVersionId));
    return deriveMetrics(evaluation ? evaluation->report : Json(),
                         quality ? quality->report : Json(), drift ? drift->report : Json(),
                         run.has_value());
}

} // namespace sb::governance
