#include "core/eval/evaluation.h"
#include "core/eval/evaluation_detail.h"
#include "core/eval/metric_definitions.h"

#include "core/eval/slices.h"
#include "core/eval/weak_slices.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <unordered_map>

namespace sb::eval {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

Error inputError(const std::string &message)
{
    return makeError(ErrorCode::InvalidInput, message);
}

// Label values as JSON: numbers when the text is a number (integers as integers).
json labelJson(const std::string &text)
{
    double v;
    if (parseCsvNumber(text, v) && std::isfinite(v)) {
        if (v == std::floor(v) && std::fabs(v) < 9e15)
            return static_cast<long long>(v);
        return v;
    }
    return text;
}

std::vector<std::string> sortLabels(std::set<std::string> labels)
{
    std::vector<std::string> out(labels.begin(), labels.end());
    bool numeric = true;
    for (const auto &l : out) {
        double v;
        numeric = numeric && parseCsvNumber(l, v);
    }
    if (numeric) {
        std::stable_sort(out.begin(), out.end(), [](const std::string &a, const std::string &b) {
            double x = 0, y = 0;
            (void)parseCsvNumber(a, x);
            (void)parseCsvNumber(b, y);
            return x < y;
        });
    }
    return out;
}

struct Prepared
{
    std::string task;
    std::vector<RowIndex> tableRow; // data row -> table row
    std::vector<int> dataRow;       // table row -> data row or -1
    std::size_t dropped = 0;
    ClassificationData cls;
    std::vector<double> yTrue, yPred; // regression
    std::set<std::string> usedColumns;
};

const Column *requireColumn(const Table &table, const std::string &name, const char *flag)
{
    (void)flag;
    return table.column(name);
}

Status missingColumn(const Table &table, const std::string &name, const char *flag)
{
    return inputError(table.fileName + ": " + flag + " column '" + name + "' is not in the file");
}

// Column::text() per row, cached per distinct value (numbers and datetimes
// by their bits, categories by code): a text is formatted once, not once per
// row. The row must not be missing.
class ValueText
{
public:
    explicit ValueText(const Column &column) : m_column(column) {}
    const std::string &operator()(std::size_t row)
    {
        if (m_column.type == ColumnType::Categorical)
            return (*m_column.categories)[static_cast<std::size_t>(m_column.codes[row])];
        auto [it, inserted] =
            m_cache.try_emplace(std::bit_cast<std::uint64_t>(m_column.numbers[row]));
        if (inserted)
            it->second = m_column.text(row);
        return it->second;
    }

private:
    const Column &m_column;
    std::unordered_map<std::uint64_t, std::string> m_cache;
};

Result<Prepared> prepare(const Table &table, const EvalSpec &spec)
{
    Prepared p;
    const Column *label = requireColumn(table, spec.label, "--label");
    if (spec.label.empty())
        return inputError("--label is required");
    if (!label)
        return missingColumn(table, spec.label, "--label").error();
    p.usedColumns.insert(spec.label);
    const int modes = !spec.score.empty() + !spec.probaPrefix.empty();
    if (modes > 1)
        return inputError("give either --score or --proba-prefix, not both");
    if (modes == 0 && spec.pred.empty())
        return inputError("no predictions: give --score, --proba-prefix or --pred");

    auto numericColumn = [&](const std::string &name, const char *flag) -> Result<const Column *> {
        const Column *c = table.column(name);
        if (!c)
            return missingColumn(table, name, flag).error();
        if (c->type != ColumnType::Numerical)
            return inputError(table.fileName + ": " + flag + " column '" + name + "' is " +
                              columnTypeName(c->type) + ", expected numbers");
        p.usedColumns.insert(name);
        return c;
    };

    // Task.
    std::string task = spec.task;
    if (task.empty()) {
        task = "classification";
        if (modes == 0 && label->type == ColumnType::Numerical) {
            std::set<double> distinct;
            bool integral = true;
            for (double v : label->numbers) {
                if (std::isnan(v))
                    continue;
                integral = integral && v == std::floor(v);
                if (distinct.size() <= 50)
                    distinct.insert(v);
            }
            if (!integral || distinct.size() > 50)
                task = "regression";
        }
    }
    if (task != "classification" && task != "regression")
        return inputError("--task must be classification or regression, not '" + task + "'");
    p.task = task;
    p.dataRow.assign(table.rows, -1);

    if (task == "regression") {
        if (modes != 0)
            return inputError("regression takes --pred COL (numbers), not --score/--proba-prefix");
        if (label->type != ColumnType::Numerical)
            return inputError(table.fileName + ": --label column '" + spec.label +
                              "' must be numerical for regression");
        SB_ASSIGN_OR_RETURN(const Column *pred, numericColumn(spec.pred, "--pred"));
        for (std::size_t r = 0; r < table.rows; ++r) {
            const double y = label->numbers[r], yh = pred->numbers[r];
            if (!std::isfinite(y) || !std::isfinite(yh)) {
                ++p.dropped;
                continue;
            }
            p.dataRow[r] = static_cast<int>(p.tableRow.size());
            p.tableRow.push_back(static_cast<RowIndex>(r));
            p.yTrue.push_back(y);
            p.yPred.push_back(yh);
        }
        return p;
    }

    // Classification: label set = y_true U y_pred U probability columns.
    std::set<std::string> labelSet;
    ValueText labelText(*label);
    for (std::size_t r = 0; r < table.rows; ++r)
        if (!label->isMissing(r))
            labelSet.insert(labelText(r));
    const Column *pred = nullptr;
    std::optional<ValueText> predText;
    if (!spec.pred.empty()) {
        pred = table.column(spec.pred);
        if (!pred)
            return missingColumn(table, spec.pred, "--pred").error();
        p.usedColumns.insert(spec.pred);
        predText.emplace(*pred);
        for (std::size_t r = 0; r < table.rows; ++r)
            if (!pred->isMissing(r))
                labelSet.insert((*predText)(r));
    }
    std::vector<std::pair<std::string, const Column *>> probaColumns;
    if (!spec.probaPrefix.empty()) {
        for (const auto &c : table.columns) {
            if (c.name.size() > spec.probaPrefix.size() &&
                c.name.compare(0, spec.probaPrefix.size(), spec.probaPrefix) == 0) {
                if (c.type != ColumnType::Numerical)
                    return inputError(table.fileName + ": probability column '" + c.name + "' is " +
                                      columnTypeName(c.type) + ", expected numbers");
                probaColumns.emplace_back(c.name.substr(spec.probaPrefix.size()), &c);
                labelSet.insert(c.name.substr(spec.probaPrefix.size()));
                p.usedColumns.insert(c.name);
            }
        }
        if (probaColumns.size() < 2)
            return inputError(table.fileName + ": --proba-prefix '" + spec.probaPrefix +
                              "' matches " + std::to_string(probaColumns.size()) +
                              " column(s); need one per label (at least 2)");
    }
    const Column *score = nullptr;
    if (!spec.score.empty()) {
        SB_ASSIGN_OR_RETURN(score, numericColumn(spec.score, "--score"));
        if (!spec.positive.empty())
            labelSet.insert(spec.positive);
    }
    ClassificationData &d = p.cls;
    d.labels = sortLabels(labelSet);
    if (d.labels.size() < 2 && !score)
        return inputError(table.fileName + ": --label column '" + spec.label +
                          "' has fewer than two distinct labels");
    std::map<std::string, int> indexOf;
    for (std::size_t i = 0; i < d.labels.size(); ++i)
        indexOf[d.labels[i]] = static_cast<int>(i);
    const std::size_t K = d.labels.size();

    if (score) {
        if (K > 2)
            return inputError(table.fileName + ": --score needs a binary label, '" + spec.label +
                              "' has " + std::to_string(K) + " labels; use --proba-prefix");
        if (K < 2)
            return inputError(table.fileName + ": --label column '" + spec.label +
                              "' has one label only; name the other with --positive");
        d.positive = spec.positive.empty() ? 1 : indexOf[spec.positive];
    }
    // Map probability columns into label order.
    std::vector<const Column *> probaOf(K, nullptr);
    for (const auto &[l, c] : probaColumns)
        probaOf[static_cast<std::size_t>(indexOf[l])] = c;
    if (!probaColumns.empty())
        for (std::size_t k = 0; k < K; ++k)
            if (!probaOf[k])
                return inputError(table.fileName + ": label '" + d.labels[k] +
                                  "' has no probability column '" + spec.probaPrefix + d.labels[k] +
                                  "'");

    const bool withProba = score || !probaColumns.empty();
    p.tableRow.reserve(table.rows);
    d.yTrue.reserve(table.rows);
    d.yPred.reserve(table.rows);
    if (score)
        d.score.reserve(table.rows);
    if (withProba)
        d.proba.reserve(table.rows * K);
    for (std::size_t r = 0; r < table.rows; ++r) {
        if (label->isMissing(r) || (pred && pred->isMissing(r))) {
            ++p.dropped;
            continue;
        }
        bool finite = true;
        if (score)
            finite = std::isfinite(score->numbers[r]);
        for (std::size_t k = 0; k < K && !probaColumns.empty(); ++k)
            finite = finite && std::isfinite(probaOf[k]->numbers[r]);
        if (!finite) {
            ++p.dropped;
            continue;
        }
        const int y = indexOf[labelText(r)];
        int yhat;
        if (pred) {
            yhat = indexOf[(*predText)(r)];
        } else if (score) {
            yhat = score->numbers[r] >= spec.threshold ? d.positive : 1 - d.positive;
        } else {
            yhat = 0;
            for (std::size_t k = 1; k < K; ++k)
                if (probaOf[k]->numbers[r] > probaOf[static_cast<std::size_t>(yhat)]->numbers[r])
                    yhat = static_cast<int>(k);
        }
        p.dataRow[r] = static_cast<int>(p.tableRow.size());
        p.tableRow.push_back(static_cast<RowIndex>(r));
        d.yTrue.push_back(y);
        d.yPred.push_back(yhat);
        if (score) {
            const double s = score->numbers[r];
            d.score.push_back(s);
            d.proba.push_back(d.positive == 1 ? 1 - s : s);
            d.proba.push_back(d.positive == 1 ? s : 1 - s);
        } else if (withProba) {
            for (std::size_t k = 0; k < K; ++k)
                d.proba.push_back(probaOf[k]->numbers[r]);
        }
    }
    return p;
}

struct Evaluator
{
    const Table &table;
    const EvalSpec &spec;
    const Prepared &p;
    const CancelToken *cancel;

    bool classification() const { return p.task == "classification"; }
    Task task() const { return classification() ? Task::Classification : Task::Regression; }
    std::vector<double> metricVector(std::span<const RowIndex> rows) const
    {
        if (classification())
            return eval::metricVector(classificationMetrics(p.cls, rows, spec.bins));
        return eval::metricVector(regressionMetrics(p.yTrue, p.yPred, rows));
    }
    json metricJson(std::span<const RowIndex> rows) const
    {
        if (classification())
            return eval::metricJson(classificationMetrics(p.cls, rows, spec.bins));
        return eval::metricJson(regressionMetrics(p.yTrue, p.yPred, rows));
    }
    Result<json> intervals(std::span<const RowIndex> rows) const
    {
        if (spec.bootstrap <= 0)
            return json(nullptr);
        BootstrapOptions options;
        options.resamples = spec.bootstrap;
        options.seed = spec.seed;
        options.threads = spec.threads;
        SB_ASSIGN_OR_RETURN(std::vector<Interval> ci,
                            bootstrap(
                                rows, overallMetrics(task()).size(),
                                [&](std::span<const RowIndex> s) { return metricVector(s); },
                                options, cancel));
        const std::vector<const MetricDefinition *> names = overallMetrics(task());
        json out = json::object();
        for (std::size_t i = 0; i < ci.size(); ++i)
            out[std::string(names[i]->name)] =
                json::array({jsonNumber(ci[i].lower), jsonNumber(ci[i].upper)});
        return out;
    }
    // Data rows of a set of table rows.
    std::vector<RowIndex> toData(const std::vector<RowIndex> &tableRows) const
    {
        std::vector<RowIndex> out;
        out.reserve(tableRows.size());
        for (RowIndex r : tableRows)
            if (p.dataRow[r] >= 0)
                out.push_back(static_cast<RowIndex>(p.dataRow[r]));
        return out;
    }
};

} // namespace

Result<GateSpec> parseGate(const std::string &text)
{
    Result<Rule> rule = Rule::parse(text);
    if (rule.ok())
        return GateSpec{text, std::move(rule).value()};
    // "METRIC OP VALUE" with a METRIC outside the grammar: split at the first
    // operator.
    static const char *ops[] = {">=", "<=", "==", "!=", ">", "<"};
    for (std::size_t i = 0; i < text.size(); ++i) {
        for (const char *op : ops) {
            const std::size_t len = std::char_traits<char>::length(op);
            if (text.compare(i, len, op) != 0)
                continue;
            auto trim = [](std::string s) {
                const auto a = s.find_first_not_of(" \t");
                const auto b = s.find_last_not_of(" \t");
                return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
            };
            const std::string metric = trim(text.substr(0, i));
            double value = 0;
            if (metric.empty() || !parseCsvNumber(trim(text.substr(i + len)), value))
                return inputError("gate '" + text + "': " + rule.error().message);
            return GateSpec{text, Rule::comparison(text, metric, op, value)};
        }
    }
    return inputError("gate '" + text + "': " + rule.error().message);
}

Result<GateResult> evaluateGate(const GateSpec &gate, const GateMetricFn &metric)
{
    std::map<std::string, double> values;
    for (const std::string &name : gate.rule.metricNames()) {
        SB_ASSIGN_OR_RETURN(double value, metric(name));
        values[name] = value;
    }
    GateResult result{gate.expr, values.size() == 1 ? values.begin()->second : kNaN,
                      gate.rule.evaluate(values) == Verdict::Pass, values};
    return result;
}

json gatesJson(const std::vector<GateResult> &gates)
{
    json out = json::array();
    for (const GateResult &g : gates) {
        json values = json::object();
        for (const auto &[name, value] : g.values)
            values[name] = jsonNumber(value);
        out.push_back(json{{"expr", g.expr},
                           {"value", jsonNumber(g.value)},
                           {"passed", g.passed},
                           {"values", values}});
    }
    return out;
}

json jsonNumber(double value)
{
    if (!std::isfinite(value))
        return nullptr;
    return value;
}

std::vector<double> benjaminiHochberg(const std::vector<double> &p)
{
    const std::size_t m = p.size();
    std::vector<std::size_t> order(m);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
    std::vector<double> q(m);
    double running = 1.0;
    for (std::size_t k = m; k-- > 0;) {
        const std::size_t i = order[k];
        running = std::min(running, p[i] * static_cast<double>(m) / static_cast<double>(k + 1));
        q[i] = running;
    }
    return q;
}

std::vector<std::string> sortEvaluationLabels(std::set<std::string> labels)
{
    return sortLabels(std::move(labels));
}

json classificationReportJson(const ClassificationMetrics &m,
                              const std::vector<std::string> &labelNames, const Calibration *cal,
                              const EvalSpec &spec, json &out)
{
    json overall = metricJson(m);
    json perClass = json::array();
    for (const auto &c : m.perClass)
        perClass.push_back(json{{"label", labelJson(c.label)},
                                {"precision", c.precision},
                                {"recall", c.recall},
                                {"f1", c.f1},
                                {"support", c.support}});
    out["overall"] = overall;
    out["per_class"] = perClass;
    json labels = json::array();
    for (const auto &l : labelNames)
        labels.push_back(labelJson(l));
    out["confusion_matrix"] = json{{"labels", labels}, {"matrix", m.confusion}};
    if (!cal) {
        out["calibration"] = nullptr;
        return overall;
    }
    auto binsJson = [](const std::vector<CalibrationBin> &from) {
        json bins = json::array();
        for (const auto &b : from)
            bins.push_back(json{{"lower", b.lower},
                                {"upper", b.upper},
                                {"count", b.count},
                                {"confidence", b.confidence},
                                {"accuracy", b.accuracy}});
        return bins;
    };
    // The reliability diagram after scaling: the uniform bins
    // ece_after_temperature is computed over.
    json binsAfter = json::array();
    if (std::isfinite(cal->temperature))
        binsAfter = binsJson(cal->binsAfterTemperature);
    out["calibration"] =
        json{{"binning", spec.binning == Binning::Uniform ? "uniform" : "quantile"},
             {"n_bins", spec.bins},
             {"bins", binsJson(cal->bins)},
             {"ece", jsonNumber(cal->ece)},
             {"mce", jsonNumber(cal->mce)},
             {"adaptive_ece", jsonNumber(cal->adaptiveEce)},
             {"temperature", jsonNumber(cal->temperature)},
             {"ece_after_temperature", jsonNumber(cal->eceAfterTemperature)},
             {"bins_after_temperature", binsAfter},
             {"nll_before", jsonNumber(cal->nllBefore)},
             {"nll_after_temperature", jsonNumber(cal->nllAfter)}};
    return overall;
}

Result<EvalReport> finishReport(json out, const json &overall,
                                const std::map<std::string, json> &sliceMetrics,
                                const std::vector<GateSpec> &gates,
                                const std::vector<ColumnDiagnostic> &columnDiagnostics)
{
    EvalReport report;
    auto metricOf = [&](const std::string &metric) -> Result<double> {
        std::optional<double> value;
        auto lookup = [&](const json &obj, const std::string &key) {
            if (obj.is_object() && obj.contains(key))
                value = obj[key].is_number() ? obj[key].get<double>() : kNaN;
        };
        lookup(overall, metric);
        if (!value && out.contains("calibration"))
            lookup(out["calibration"], metric);
        if (!value) {
            const std::size_t dot = metric.rfind('.');
            if (dot != std::string::npos) {
                auto it = sliceMetrics.find(metric.substr(0, dot));
                if (it != sliceMetrics.end())
                    lookup(it->second, metric.substr(dot + 1));
            }
        }
        if (!value)
            return inputError("unknown metric '" + metric +
                              "' (an overall or calibration key, or SLICE.metric)");
        return *value;
    };
    for (const auto &g : gates) {
        Result<GateResult> r = evaluateGate(g, metricOf);
        if (!r.ok())
            return inputError("gate '" + g.expr + "': " + r.error().message);
        report.gatesPassed = report.gatesPassed && r->passed;
        report.gates.push_back(std::move(r).value());
    }
    out["gates"] = gatesJson(report.gates);
    json diagnostics = json::array();
    for (const auto &d : columnDiagnostics)
        diagnostics.push_back(json{{"column", d.column}, {"kind", d.kind}, {"message", d.message}});
    out["diagnostics"] = diagnostics;
    report.json = std::move(out);
    return report;
}

Result<EvalReport> evaluate(const Table &table, const EvalSpec &spec, const CancelToken *cancel,
                            const ProgressFn &progress)
{
    if (spec.bins < 1 || spec.bins > 1000)
        return inputError("--bins must be between 1 and 1000");
    if (spec.bootstrap < 0)
        return inputError("--bootstrap must be >= 0");
    std::vector<SliceSpec> slices;
    for (const auto &s : spec.slices) {
        SB_ASSIGN_OR_RETURN(SliceSpec parsed, parseSlice(s));
        slices.push_back(std::move(parsed));
    }
    std::vector<GateSpec> gates;
    for (const auto &g : spec.gates) {
        SB_ASSIGN_OR_RETURN(GateSpec parsed, parseGate(g));
        gates.push_back(std::move(parsed));
    }
    SB_ASSIGN_OR_RETURN(Prepared p, prepare(table, spec));
    if (p.tableRow.empty())
        return inputError(table.fileName + ": no rows with a label and a prediction");
    Evaluator ev{table, spec, p, cancel};
    auto step = [&](double f, const char *what) {
        if (progress)
            progress(f, what);
    };
    const std::vector<RowIndex> all = allRows(p.tableRow.size());
    json out;
    out["file"] = table.fileName;
    out["rows"] = p.tableRow.size();
    out["dropped_rows"] = p.dropped;
    out["task"] = p.task;
    out["label"] = spec.label;
    step(0.1, "metrics");
    json overall;
    if (ev.classification()) {
        const ClassificationMetrics m = classificationMetrics(p.cls, all, spec.bins);
        std::optional<Calibration> cal;
        if (p.cls.hasProba()) {
            step(0.2, "calibration");
            cal = calibrate(p.cls, all, spec.bins, spec.binning, true);
        }
        overall = classificationReportJson(m, p.cls.labels, cal ? &*cal : nullptr, spec, out);
    } else {
        overall = metricJson(regressionMetrics(p.yTrue, p.yPred, all));
        out["overall"] = overall;
    }
    step(0.3, "bootstrap");
    SB_ASSIGN_OR_RETURN(json overallCi, ev.intervals(all));
    out["ci"] = overallCi;
    out["bootstrap"] = json{{"resamples", spec.bootstrap},
                            {"seed", spec.seed},
                            {"confidence", 0.95},
                            {"method", "percentile"}};

    step(0.5, "slices");
    json sliceJson = json::array();
    std::map<std::string, json> sliceMetrics;
    for (const auto &s : slices) {
        SB_ASSIGN_OR_RETURN(std::vector<RowIndex> tableRows, selectRows(table, s, p.tableRow));
        const std::vector<RowIndex> rows = ev.toData(tableRows);
        json metrics = ev.metricJson(rows);
        SB_ASSIGN_OR_RETURN(json ci,
                            rows.empty() ? Result<json>(json(nullptr)) : ev.intervals(rows));
        sliceMetrics[s.name] = metrics;
        sliceJson.push_back(json{{"name", s.name},
                                 {"expr", s.expr},
                                 {"rows", rows.size()},
                                 {"metrics", metrics},
                                 {"ci", ci}});
    }
    out["slices"] = sliceJson;
    step(0.7, "automatic slice search");
    if (spec.autoSlices) {
        WeakSliceData data;
        data.task = ev.task();
        data.tableRow = p.tableRow;
        data.usedColumns = p.usedColumns;
        // Per-row loss: 1 for a wrong prediction, or the absolute error.
        data.loss.resize(p.tableRow.size());
        for (std::size_t i = 0; i < data.loss.size(); ++i)
            data.loss[i] = ev.classification() ? (p.cls.yTrue[i] != p.cls.yPred[i] ? 1.0 : 0.0)
                                               : std::fabs(p.yTrue[i] - p.yPred[i]);
        data.metricJson = [&ev](std::span<const RowIndex> rows) { return ev.metricJson(rows); };
        SB_ASSIGN_OR_RETURN(json found, searchWeakSlices(table, spec, data, cancel));
        out["auto_slices"] = found["slices"];
        found.erase("slices");
        out["auto_slice_search"] = found;
    } else {
        out["auto_slices"] = json::array();
    }

    SB_ASSIGN_OR_RETURN(EvalReport report, finishReport(std::move(out), overall, sliceMetrics,
                                                        gates, table.diagnostics));
    step(1.0, "done");
    return report;
}

} // namespace sb::eval
