// The automatic weak-slice search of an evaluation (evaluate() with
// EvalSpec::autoSlices): which slices of the evaluated rows the model does
// worst on. The method (candidates, metric, test, correction, what is
// reported) is described in evaluation.h; the result is the object evaluate()
// splits into "auto_slices" (its "slices") and "auto_slice_search" (the rest:
// min_support, candidates_tested, threshold, alpha, test, correction).
//
// Contract:
//  - Features are the table's columns not in `usedColumns` (label,
//    predictions, probabilities...), read at `tableRow` of each data row.
//  - `loss` holds one value per data row: 1 for a wrong prediction and 0 for
//    a right one (classification; the metric is accuracy = 1 - mean loss) or
//    the absolute error (regression; MAE = mean loss).
//  - `metricJson` gives every metric of a set of data rows (the reported
//    slices' "metrics"); spec.bootstrap > 0 adds a bootstrap CI of the
//    primary metric (spec.seed, spec.threads).
//  - Deterministic; Cancelled when `cancel` fires.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/eval/metric_definitions.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace sb::eval {

struct WeakSliceData
{
    Task task = Task::Classification;
    std::span<const RowIndex> tableRow; // data row -> table row
    std::set<std::string> usedColumns;  // never sliced on
    std::vector<double> loss;           // per data row
    std::function<nlohmann::json(std::span<const RowIndex>)> metricJson;
};

Result<nlohmann::json> searchWeakSlices(const Table &table, const EvalSpec &spec,
                                        const WeakSliceData &data,
                                        const CancelToken *cancel = nullptr);

} // namespace sb::eval
