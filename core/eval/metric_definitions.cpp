#include "core/eval/metric_definitions.h"

#include "core/eval/evaluation.h"

#include <array>
#include <type_traits>

namespace sb::eval {

namespace {

using C = ClassificationMetrics;
using R = RegressionMetrics;
constexpr Task kCls = Task::Classification;
constexpr Task kReg = Task::Regression;
constexpr Direction kHigher = Direction::HigherIsBetter;
constexpr Direction kLower = Direction::LowerIsBetter;

// clang-format off
const std::array kDefinitions{
    // name, task, direction, classification field, regression field, in calibration, primary
    MetricDefinition{"accuracy", kCls, kHigher, &C::accuracy, nullptr, false, true,
                     "share of rows predicted correctly"},
    MetricDefinition{"balanced_accuracy", kCls, kHigher, &C::balancedAccuracy, nullptr, false, false,
                     "mean recall over the labels present in y_true"},
    MetricDefinition{"precision_macro", kCls, kHigher, &C::precisionMacro, nullptr, false, false,
                     "unweighted mean precision over labels"},
    MetricDefinition{"recall_macro", kCls, kHigher, &C::recallMacro, nullptr, false, false,
                     "unweighted mean recall over labels"},
    MetricDefinition{"f1_macro", kCls, kHigher, &C::f1Macro, nullptr, false, false,
                     "unweighted mean F1 over labels"},
    MetricDefinition{"f1_weighted", kCls, kHigher, &C::f1Weighted, nullptr, false, false,
                     "F1 weighted by true support"},
    MetricDefinition{"roc_auc", kCls, kHigher, &C::rocAuc, nullptr, false, false,
                     "ROC AUC (multiclass: one-vs-rest macro)"},
    MetricDefinition{"average_precision", kCls, kHigher, &C::averagePrecision, nullptr, false, false,
                     "average precision (multiclass: one-vs-rest macro)"},
    MetricDefinition{"log_loss", kCls, kLower, &C::logLoss, nullptr, false, false,
                     "mean negative log likelihood of the true label"},
    MetricDefinition{"brier", kCls, kLower, &C::brier, nullptr, false, false,
                     "Brier score"},
    MetricDefinition{"ece", kCls, kLower, &C::ece, nullptr, true, false,
                     "expected calibration error"},
    MetricDefinition{"mce", kCls, kLower, &C::mce, nullptr, true, false,
                     "maximum calibration error"},
    MetricDefinition{"adaptive_ece", kCls, kLower, nullptr, nullptr, true, false,
                     "ECE over equal-mass bins"},
    MetricDefinition{"temperature", kCls, Direction::None, nullptr, nullptr, true, false,
                     "fitted temperature of temperature scaling"},
    MetricDefinition{"ece_after_temperature", kCls, kLower, nullptr, nullptr, true, false,
                     "ECE after temperature scaling"},
    MetricDefinition{"nll_before", kCls, kLower, nullptr, nullptr, true, false,
                     "mean NLL before temperature scaling"},
    MetricDefinition{"nll_after_temperature", kCls, kLower, nullptr, nullptr, true, false,
                     "mean NLL after temperature scaling"},
    MetricDefinition{"mae", kReg, kLower, nullptr, &R::mae, false, true,
                     "mean absolute error"},
    MetricDefinition{"rmse", kReg, kLower, nullptr, &R::rmse, false, false,
                     "root mean squared error"},
    MetricDefinition{"r2", kReg, kHigher, nullptr, &R::r2, false, false,
                     "coefficient of determination"},
    MetricDefinition{"mape", kReg, kLower, nullptr, &R::mape, false, false,
                     "mean absolute percentage error"},
};
// clang-format on

template <typename Metrics> std::vector<double> vectorOf(Task task, const Metrics &m)
{
    // Per instantiation the task is fixed (called for every bootstrap resample).
    static const std::vector<const MetricDefinition *> defs = overallMetrics(task);
    std::vector<double> out;
    out.reserve(defs.size());
    for (const MetricDefinition *d : defs) {
        if constexpr (std::is_same_v<Metrics, ClassificationMetrics>)
            out.push_back(m.*(d->classification));
        else
            out.push_back(m.*(d->regression));
    }
    return out;
}

template <typename Metrics> nlohmann::json jsonOf(Task task, const Metrics &m)
{
    const std::vector<double> values = vectorOf(task, m);
    const std::vector<const MetricDefinition *> defs = overallMetrics(task);
    nlohmann::json out = nlohmann::json::object();
    for (std::size_t i = 0; i < defs.size(); ++i)
        out[std::string(defs[i]->name)] = jsonNumber(values[i]);
    return out;
}

} // namespace

std::span<const MetricDefinition> metricDefinitions()
{
    return kDefinitions;
}

std::vector<const MetricDefinition *> overallMetrics(Task task)
{
    std::vector<const MetricDefinition *> out;
    for (const MetricDefinition &d : kDefinitions)
        if (d.task == task && d.overall())
            out.push_back(&d);
    return out;
}

const MetricDefinition *findMetric(std::string_view name, std::optional<Task> task)
{
    for (const MetricDefinition &d : kDefinitions)
        if (d.name == name && (!task || d.task == *task))
            return &d;
    return nullptr;
}

const MetricDefinition &primaryMetric(Task task)
{
    for (const MetricDefinition &d : kDefinitions)
        if (d.task == task && d.primary)
            return d;
    return kDefinitions.front(); // unreachable: the table has one per task (tested)
}

bool isErrorLike(std::string_view name)
{
    const MetricDefinition *d = findMetric(name);
    return d && d->direction == Direction::LowerIsBetter;
}

std::optional<Task> parseTask(std::string_view text)
{
    if (text == "classification")
        return Task::Classification;
    if (text == "regression")
        return Task::Regression;
    return std::nullopt;
}

const char *taskName(Task task)
{
    return task == Task::Classification ? "classification" : "regression";
}

const char *directionName(Direction direction)
{
    switch (direction) {
    case Direction::HigherIsBetter:
        return "higher";
    case Direction::LowerIsBetter:
        return "lower";
    case Direction::None:
        return "none";
    }
    return "none";
}

std::vector<double> metricVector(const ClassificationMetrics &m)
{
    return vectorOf(Task::Classification, m);
}

std::vector<double> metricVector(const RegressionMetrics &m)
{
    return vectorOf(Task::Regression, m);
}

nlohmann::json metricJson(const ClassificationMetrics &m)
{
    return jsonOf(Task::Classification, m);
}

nlohmann::json metricJson(const RegressionMetrics &m)
{
    return jsonOf(Task::Regression, m);
}

} // namespace sb::eval
