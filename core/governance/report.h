// Evaluation reports and model cards for one model version, from what the
// store holds: the latest evaluation, quality and drift results, the latest
// robustness, poisoning-screen and membership-inference reports, the latest
// run and its plan, checklists and deployments. Qt-free; the PDF export in
// ui/report renders the RichText flavour through Qt's PDF writer.
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"

#include <optional>
#include <string>
#include <vector>

namespace sb::governance {

struct ReportData
{
    store::ModelVersionRecord version;
    std::optional<store::EvaluationRecord> evaluation; // kind "eval"
    std::optional<store::EvaluationRecord> quality;    // kind "quality"
    std::optional<store::DriftSnapshotRecord> drift;
    std::optional<store::EvaluationRecord> robustness; // kind "robustness"
    std::optional<store::EvaluationRecord> poisoning;  // kind "poisoning"
    std::optional<store::EvaluationRecord> privacy;    // kind "privacy"
    std::optional<store::RunRecord> run;
    std::optional<store::PlanRecord> plan;
    store::Json checklists = store::Json::object(); // ChecklistService::describe()
    std::vector<store::DeploymentRecord> deployments;
    std::string generatedAt;
    std::string generatedBy;
};

// Refreshes evidence items, then collects everything above.
Result<ReportData> gatherReport(store::Store &store, const store::ModelVersionRecord &version);

struct ReportChart
{
    std::string id; // "reliability", "slices", "confusion", "drift"
    std::string title;
    std::string svg; // a complete <svg> element, no external references
    int width = 0;
    int height = 0;
};

// The charts the data supports (missing data = no chart).
std::vector<ReportChart> reportCharts(const ReportData &data);

enum class HtmlFlavor
{
    Standalone, // one self-contained file: inline CSS and inline <svg> charts
    RichText,   // Qt rich text: charts as <img src="chart:ID"> resources, simple CSS
};

std::string renderReportHtml(const ReportData &data, HtmlFlavor flavor = HtmlFlavor::Standalone);

// Model card following the Model Card Toolkit schema v0.0.2
// (model_details, model_parameters, quantitative_analysis with per-slice
// performance_metrics and bootstrap confidence intervals, considerations).
store::Json buildModelCard(const ReportData &data);
std::string renderModelCardMarkdown(const store::Json &card);

std::string htmlEscape(const std::string &text);

} // namespace sb::governance
