// One evaluation of predictions against labels in a Table: overall metrics,
// per-class scores, confusion matrix, calibration with temperature scaling,
// bootstrap intervals, user slices, the automatic weak-slice search and
// gates. The result is the JSON object `shardbench-cli eval --json` prints
// (keys are a public interface, see issue 5).
//
// Predictions come from columns:
//  - score: binary; P(positive) per row; predicted positive when score >=
//    threshold; positive = `positive` or the greater label (numeric order
//    when every label is a number, else text order);
//  - probaPrefix: one column "<prefix><label>" per label; predicted = arg max
//    (first maximum, in label order);
//  - pred: hard predictions (with probaPrefix/score, overrides the predicted
//    label only).
// Rows with a missing label, prediction or probability are left out and
// counted in `dropped_rows`.
//
// Automatic weak-slice search: candidate slices are the values of each
// categorical feature and the quartile bins of each numerical/datetime
// feature (numpy 'linear' quantiles, bins (q_i, q_i+1] with the minimum in
// the first), then pairs of such slices among the 10 features whose single
// slices were weakest. Candidates need >= minSupport rows (default max(1% of
// rows, 30)). Metric: accuracy (classification; effect = overall - slice,
// absolute) or MAE (regression; effect = slice/overall - 1, relative).
// Test: one-sided two-proportion z-test (pooled) of slice vs complement for
// accuracy, one-sided Welch z-test of mean absolute error for regression;
// Benjamini-Hochberg over all tested candidates. Reported: candidates whose
// effect exceeds the threshold, ranked by effect, top 20, each with its
// q-value, a `significant` flag (q <= alpha) and a bootstrap CI.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/eval/csv.h"
#include "core/eval/metrics.h"
#include "core/eval/rules.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace sb::eval {

struct EvalSpec
{
    std::string label;
    std::string score;
    double threshold = 0.5;
    std::string positive;
    std::string probaPrefix;
    std::string pred;
    std::string task; // "", "classification" or "regression" ("" = infer)
    int bins = 15;
    Binning binning = Binning::Uniform;
    int bootstrap = 1000; // 0 = no intervals
    std::uint64_t seed = 20240611;
    std::vector<std::string> slices; // "NAME: EXPR"
    bool autoSlices = false;
    double autoThreshold = 0.05;
    double alpha = 0.05;
    std::size_t minSupport = 0;     // 0 = max(1% of rows, 30)
    std::vector<std::string> gates; // rules, e.g. "accuracy >= 0.9" (see parseGate)
    unsigned threads = 0;
};

struct GateResult
{
    std::string expr;
    double value = 0; // the metric's value when the gate names one metric, else NaN
    bool passed = false;
    std::map<std::string, double> values; // every metric the gate names
};

struct EvalReport
{
    nlohmann::json json;
    std::vector<GateResult> gates;
    bool gatesPassed = true;
};

// Validates the spec against the table (columns exist and have usable
// types, slices and gates parse) and evaluates. Bad input -> InvalidInput
// naming the column (and line for bad values).
Result<EvalReport> evaluate(const Table &table, const EvalSpec &spec,
                            const CancelToken *cancel = nullptr, const ProgressFn &progress = {});

// Evaluates predictions in a CSV file. Binary --score evaluations without
// slices, automatic slices or bootstrap (uniform bins) are streamed: memory
// is 8 bytes per row (each score in its label's sorted array) whatever the
// file's width, and the report is the one evaluate() gives (sums over sorted
// scores -- temperature, NLL, the bins after scaling -- agree to rounding,
// ~1e-15 relative); it converts, and so diagnoses, only the label and score
// columns. Everything else reads the table (readCsv with `csv`) and calls
// evaluate().
Result<EvalReport> evaluateCsv(const std::filesystem::path &path, const EvalSpec &spec,
                               const CsvOptions &csv = {}, const CancelToken *cancel = nullptr,
                               const ProgressFn &progress = {});

// A gate: a rule in the language of rules.h (the one checklist evidence rules
// use) over a report's metrics, e.g. "accuracy >= 0.9",
// "ece < 0.05 and SLICE.recall_macro >= 0.8". A single "METRIC OP VALUE"
// whose METRIC the grammar cannot spell (a slice name with spaces,
// "young adults.accuracy >= 0.8") is read as that one comparison.
struct GateSpec
{
    std::string expr;
    Rule rule;
};
Result<GateSpec> parseGate(const std::string &text);
// The value of a metric a gate names, or an error naming the gate and metric.
using GateMetricFn = std::function<Result<double>(const std::string &metric)>;
// Resolves every metric of the gate and evaluates it: it passes only when the
// rule passes (a NaN value is unknown, so a comparison on it never holds).
// `value` is the metric's value when the gate names one metric, else NaN.
Result<GateResult> evaluateGate(const GateSpec &gate, const GateMetricFn &metric);
// The report's "gates" array: [{expr, value, passed, values {METRIC: value}}].
nlohmann::json gatesJson(const std::vector<GateResult> &gates);

// Benjamini-Hochberg adjusted p-values (q-values), same order as `p`.
std::vector<double> benjaminiHochberg(const std::vector<double> &p);

// A JSON number, or null for NaN/inf.
nlohmann::json jsonNumber(double value);

} // namespace sb::eval
