#include "core/governance/evidence.h"

#include "core/eval/metric_definitions.h"

#include <algorithm>

namespace sb::governance {

using store::Json;

namespace {

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
        for (const eval::MetricDefinition &metric : eval::metricDefinitions()) {
            const std::string key(metric.name);
            if (metric.calibration && calibration.contains(key) && calibration[key].is_number())
                metrics[key] = calibration[key].get<double>();
        }
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
                    found->second = eval::isErrorLike(it.key()) ? std::max(found->second, value)
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

double numberOr(const Json &object, const char *key, double fallback)
{
    if (object.is_object() && object.contains(key) && object[key].is_number())
        return object[key].get<double>();
    return fallback;
}

} // namespace

void deriveRiskMetrics(const Json &robustness, const Json &poisoning, const Json &privacy,
                       const Json &quality, MetricMap &metrics)
{
    metrics["has_robustness"] = robustness.is_object() ? 1 : 0;
    if (robustness.is_object()) {
        if (robustness.contains("summary"))
            addNumbers(robustness["summary"], metrics);
        double failed = 0;
        if (robustness.contains("gates") && robustness["gates"].is_array())
            for (const Json &gate : robustness["gates"])
                if (gate.is_object() && gate.value("passed", true) == false)
                    ++failed;
        metrics["robustness_gates_failed"] = failed;
    }
    const Json *screen = poisoning.is_object() ? &poisoning : nullptr;
    if (!screen && quality.is_object() && quality.contains("poisoning") &&
        quality["poisoning"].is_object())
        screen = &quality["poisoning"];
    metrics["has_poisoning"] = screen ? 1 : 0;
    if (screen && screen->contains("summary")) {
        const Json &summary = (*screen)["summary"];
        const double rows = numberOr(summary, "rows", 0);
        for (const char *key : {"label_issue_share", "suspicious_rows", "knn_label_disagreements",
                                "duplicate_conflict_rows"})
            if (summary.contains(key) && summary[key].is_number())
                metrics[key] = summary[key].get<double>();
        if (summary.contains("outliers") && summary["outliers"].is_number())
            metrics["poisoning_outliers"] = summary["outliers"].get<double>();
        if (rows > 0)
            metrics["suspicious_share"] = numberOr(summary, "suspicious_rows", 0) / rows;
    }
    metrics["has_privacy"] = privacy.is_object() ? 1 : 0;
    if (privacy.is_object()) {
        for (const char *key : {"mia_auc", "mia_advantage"})
            if (privacy.contains(key) && privacy[key].is_number())
                metrics[key] = privacy[key].get<double>();
        double upper = -1, worstSlice = -1;
        if (privacy.contains("attacks") && privacy["attacks"].is_array())
            for (const Json &attack : privacy["attacks"])
                if (attack.is_object() && attack.contains("auc_ci") &&
                    attack["auc_ci"].is_array() && attack["auc_ci"].size() == 2 &&
                    attack["auc_ci"][1].is_number())
                    upper = std::max(upper, attack["auc_ci"][1].get<double>());
        if (upper >= 0)
            metrics["mia_auc_upper"] = upper;
        if (privacy.contains("slices") && privacy["slices"].is_array())
            for (const Json &slice : privacy["slices"])
                worstSlice = std::max(worstSlice, numberOr(slice, "mia_auc", -1));
        if (worstSlice >= 0)
            metrics["worst_slice_mia_auc"] = worstSlice;
        if (privacy.contains("model_inversion") && privacy["model_inversion"].is_object())
            metrics["full_probabilities_exposed"] =
                privacy["model_inversion"].value("outputs", "") == "full_probabilities" ? 1 : 0;
    }
}

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
    SB_ASSIGN_OR_RETURN(auto robustness,
                        evaluations.latestEvaluation(modelVersionId, "robustness"));
    SB_ASSIGN_OR_RETURN(auto poisoning, evaluations.latestEvaluation(modelVersionId, "poisoning"));
    SB_ASSIGN_OR_RETURN(auto privacy, evaluations.latestEvaluation(modelVersionId, "privacy"));
    MetricMap metrics =
        deriveMetrics(evaluation ? evaluation->report : Json(), quality ? quality->report : Json(),
                      drift ? drift->report : Json(), run.has_value());
    deriveRiskMetrics(robustness ? robustness->report : Json(),
                      poisoning ? poisoning->report : Json(), privacy ? privacy->report : Json(),
                      quality ? quality->report : Json(), metrics);
    return metrics;
}

} // namespace sb::governance
