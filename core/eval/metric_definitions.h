// The one table of evaluation metrics. Everything that names a metric is
// derived from it: the keys of a report's `overall`, slice `metrics` and
// `ci` objects, the order of the bootstrap vectors, what a gate may compare,
// which metrics governance treats as error-like (the worst slice is the
// maximum), the primary metric of a task (weak-slice search, slice charts,
// the CLI's slice lines) and the direction the GUI shows.
//
// Adding a metric: add its field to ClassificationMetrics/RegressionMetrics
// (metrics.h), compute it there, and add one row here.
#pragma once

#include "core/eval/metrics.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sb::eval {

enum class Task
{
    Classification,
    Regression
};

enum class Direction
{
    HigherIsBetter,
    LowerIsBetter,
    None // e.g. the fitted temperature: neither larger nor smaller is better
};

struct MetricDefinition
{
    std::string_view name; // the JSON key, also the name gates and rules use
    Task task;
    Direction direction;
    // How the value is read from the computed metric set (by task). Set for
    // the overall metrics: report.overall, slices[].metrics, the bootstrap CI
    // in report.ci / slices[].ci. Null for metrics only report.calibration has.
    double ClassificationMetrics::*classification = nullptr;
    double RegressionMetrics::*regression = nullptr;
    bool calibration = false; // also a key of report.calibration
    bool primary = false;     // the task's headline metric (exactly one per task)
    std::string_view description;

    bool overall() const { return classification != nullptr || regression != nullptr; }
    // Whether the reports carry a bootstrap interval for it (when --bootstrap > 0).
    bool hasConfidenceInterval() const { return overall(); }
};

// Every metric; the overall ones of a task in report order.
std::span<const MetricDefinition> metricDefinitions();
// The overall metrics of a task, in report (and bootstrap vector) order.
std::vector<const MetricDefinition *> overallMetrics(Task task);
// The metric of that name for the task (any task when not given).
const MetricDefinition *findMetric(std::string_view name, std::optional<Task> task = std::nullopt);
const MetricDefinition &primaryMetric(Task task);
// Lower is better (ece, log_loss, mae, ...): the worst of several values is
// the largest. Unknown names are treated as higher-is-better.
bool isErrorLike(std::string_view name);

std::optional<Task> parseTask(std::string_view text); // "classification" | "regression"
const char *taskName(Task task);
const char *directionName(Direction direction); // "higher" | "lower" | "none"

// The overall metrics as a vector in overallMetrics(task) order (what the
// bootstrap resamples) and as the report's JSON object (NaN -> null).
std::vector<double> metricVector(const ClassificationMetrics &m);
std::vector<double> metricVector(const RegressionMetrics &m);
nlohmann::json metricJson(const ClassificationMetrics &m);
nlohmann::json metricJson(const RegressionMetrics &m);

} // namespace sb::eval
