// Internal to core/eval: the pieces of an evaluation report shared by
// evaluate() (a Table in memory) and evaluateCsv()'s streamed path.
#pragma once

#include "core/eval/evaluation.h"

#include <map>
#include <set>

namespace sb::eval {

// Fills out["overall"], ["per_class"], ["confusion_matrix"] and
// ["calibration"] (null without `cal`); returns the overall object.
nlohmann::json classificationReportJson(const ClassificationMetrics &m,
                                        const std::vector<std::string> &labels,
                                        const Calibration *cal, const EvalSpec &spec,
                                        nlohmann::json &out);
// Evaluates the gates against overall, calibration and slice metrics, adds
// out["gates"] and out["diagnostics"].
Result<EvalReport> finishReport(nlohmann::json out, const nlohmann::json &overall,
                                const std::map<std::string, nlohmann::json> &sliceMetrics,
                                const std::vector<GateSpec> &gates,
                                const std::vector<ColumnDiagnostic> &diagnostics);
// Labels in evaluation order: numerically when every label is a number,
// else as text.
std::vector<std::string> sortEvaluationLabels(std::set<std::string> labels);

} // namespace sb::eval
