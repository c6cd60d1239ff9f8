// JSON form of drift and quality reports (the public `drift` / `quality`
// output: keys are a public interface, see docs and issue 5). Non-finite
// statistics (e.g. chi-square with a category the reference never had) are
// written as null.
#pragma once

#include "core/eval/drift_dataset.h"
#include "core/eval/quality.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace sb::eval {

nlohmann::json driftColumnToJson(const DriftColumnResult &column, bool withBins = true);
nlohmann::json driftReportToJson(const DriftReport &report);

nlohmann::json qualityReportToJson(const QualityReport &report,
                                   const std::optional<LeakageReport> &leakage);

} // namespace sb::eval
