#include "core/eval/evaluation.h"
#include "core/eval/evaluation_detail.h"
#include "core/eval/metric_definitions.h"

#include "core/eval/slices.h"

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

// ---- automatic weak-slice search ------------------------------------------------

struct Feature
{
    std::string name;
    std::vector<std::string> binExpr; // slice expression per bin
    std::vector<int> binOf;           // per data row, -1 = none
};

std::string quoteValue(const std::string &v)
{
    bool plain = !v.empty();
    for (char c : v)
        plain = plain &&
                !(std::isspace(static_cast<unsigned char>(c)) || c == '[' || c == ']' || c == ',' ||
                  c == '=' || c == '!' || c == '<' || c == '>' || c == '\'' || c == '"');
    if (plain)
        return v;
    return (v.find('"') == std::string::npos ? "\"" + v + "\"" : "'" + v + "'");
}

std::vector<Feature> buildFeatures(const Table &table, const Prepared &p, std::size_t minSupport)
{
    std::vector<Feature> features;
    const std::size_t n = p.tableRow.size();
    for (const auto &column : table.columns) {
        if (p.usedColumns.count(column.name))
            continue;
        Feature f;
        f.name = column.name;
        f.binOf.assign(n, -1);
        const std::string col = quoteValue(column.name);
        if (column.type == ColumnType::Categorical) {
            std::vector<std::size_t> counts(column.categories->size(), 0);
            for (RowIndex r : p.tableRow)
                if (column.codes[r] >= 0)
                    ++counts[static_cast<std::size_t>(column.codes[r])];
            std::vector<int> binOfCode(counts.size(), -1);
            for (std::size_t c = 0; c < counts.size(); ++c) {
                if (counts[c] < minSupport || counts[c] == n)
                    continue;
                binOfCode[c] = static_cast<int>(f.binExpr.size());
                f.binExpr.push_back(col + " == " + quoteValue((*column.categories)[c]));
            }
            for (std::size_t i = 0; i < n; ++i) {
                const std::int32_t code = column.codes[p.tableRow[i]];
                if (code >= 0)
                    f.binOf[i] = binOfCode[static_cast<std::size_t>(code)];
            }
        } else {
            std::vector<double> values;
            for (RowIndex r : p.tableRow)
                if (!std::isnan(column.numbers[r]))
                    values.push_back(column.numbers[r]);
            if (values.size() < minSupport)
                continue;
            std::sort(values.begin(), values.end());
            std::vector<double> edges;
            for (double q : {0.25, 0.5, 0.75}) {
                const double e = quantileSorted(values, q);
                if ((edges.empty() || e > edges.back()) && e < values.back() && e >= values.front())
                    edges.push_back(e);
            }
            if (edges.empty())
                continue;
            auto text = [&](double v) {
                return column.type == ColumnType::Datetime ? formatIsoDatetime(v) : formatNumber(v);
            };
            for (std::size_t b = 0; b <= edges.size(); ++b) {
                if (b == 0)
                    f.binExpr.push_back(col + " <= " + text(edges[0]));
                else if (b == edges.size())
                    f.binExpr.push_back(col + " > " + text(edges[b - 1]));
                else
                    f.binExpr.push_back(col + " > " + text(edges[b - 1]) + " and " + col +
                                        " <= " + text(edges[b]));
            }
            for (std::size_t i = 0; i < n; ++i) {
                const double v = column.numbers[p.tableRow[i]];
                if (std::isnan(v))
                    continue;
                f.binOf[i] = static_cast<int>(std::lower_bound(edges.begin(), edges.end(), v) -
                                              edges.begin());
            }
        }
        if (!f.binExpr.empty())
            features.push_back(std::move(f));
    }
    return features;
}

struct Candidate
{
    std::string expr;
    std::size_t rows = 0;
    double sum = 0, sumSq = 0; // of the per-row loss (error indicator or |error|)
    double value = 0, effect = 0, pValue = 1, qValue = 1;
    std::vector<std::pair<int, int>> parts; // (feature, bin)
    double worst = 0;
};

double normalSf(double z)
{
    return 0.5 * std::erfc(z / std::sqrt(2.0));
}

Result<json> autoSlices(const Table &table, const EvalSpec &spec, const Prepared &p,
                        const Evaluator &ev)
{
    const std::size_t n = p.tableRow.size();
    const std::size_t minSupport =
        spec.minSupport ? spec.minSupport
                        : std::max<std::size_t>(static_cast<std::size_t>(std::ceil(0.01 * n)), 30);
    const bool cls = ev.classification();
    // Per-row loss: 1 for a wrong prediction, or the absolute error.
    std::vector<double> loss(n);
    for (std::size_t i = 0; i < n; ++i)
        loss[i] = cls ? (p.cls.yTrue[i] != p.cls.yPred[i] ? 1.0 : 0.0)
                      : std::fabs(p.yTrue[i] - p.yPred[i]);
    double totalSum = 0, totalSq = 0;
    for (double l : loss) {
        totalSum += l;
        totalSq += l * l;
    }
    const double overallLoss = n ? totalSum / static_cast<double>(n) : kNaN;
    std::vector<Feature> features = buildFeatures(table, p, minSupport);

    std::vector<Candidate> candidates;
    auto score = [&](Candidate &c) {
        const double ns = static_cast<double>(c.rows), nc = static_cast<double>(n - c.rows);
        const double ls = c.sum / ns;
        const double lc = nc > 0 ? (totalSum - c.sum) / nc : kNaN;
        if (cls) {
            c.value = 1 - ls;
            c.effect = (1 - overallLoss) - c.value;
            const double pooled = totalSum / static_cast<double>(n);
            const double se = std::sqrt(pooled * (1 - pooled) * (1 / ns + 1 / nc));
            c.pValue = (se > 0 && nc > 0) ? normalSf((ls - lc) / se) : 1.0;
        } else {
            c.value = ls;
            c.effect = overallLoss > 0 ? ls / overallLoss - 1 : 0;
            const double vs = ns > 1 ? (c.sumSq - ns * ls * ls) / (ns - 1) : 0;
            const double sqc = totalSq - c.sumSq;
            const double vc = nc > 1 ? (sqc - nc * lc * lc) / (nc - 1) : 0;
            const double se = std::sqrt(std::max(vs, 0.0) / ns + std::max(vc, 0.0) / nc);
            c.pValue = (se > 0 && nc > 0) ? normalSf((ls - lc) / se) : 1.0;
        }
    };
    // Single features.
    std::vector<double> worstOfFeature(features.size(), -std::numeric_limits<double>::infinity());
    for (std::size_t fi = 0; fi < features.size(); ++fi) {
        const Feature &f = features[fi];
        std::vector<Candidate> bins(f.binExpr.size());
        for (std::size_t i = 0; i < n; ++i) {
            const int b = f.binOf[i];
            if (b < 0)
                continue;
            auto &c = bins[static_cast<std::size_t>(b)];
            ++c.rows;
            c.sum += loss[i];
            c.sumSq += loss[i] * loss[i];
        }
        for (std::size_t b = 0; b < bins.size(); ++b) {
            Candidate &c = bins[b];
            if (c.rows < minSupport || c.rows == n)
                continue;
            c.expr = f.binExpr[b];
            c.parts = {{static_cast<int>(fi), static_cast<int>(b)}};
            score(c);
            worstOfFeature[fi] = std::max(worstOfFeature[fi], c.effect);
            candidates.push_back(std::move(c));
        }
    }
    // Pairs among the 10 weakest features.
    std::vector<std::size_t> order(features.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return worstOfFeature[a] > worstOfFeature[b];
    });
    if (order.size() > 10)
        order.resize(10);
    for (std::size_t a = 0; a < order.size(); ++a) {
        for (std::size_t b = a + 1; b < order.size(); ++b) {
            if (ev.cancel && ev.cancel->isCancelled())
                return makeError(ErrorCode::Cancelled, "slice search cancelled");
            const Feature &fa = features[order[a]], &fb = features[order[b]];
            const std::size_t Bb = fb.binExpr.size();
            std::vector<Candidate> cells(fa.binExpr.size() * Bb);
            for (std::size_t i = 0; i < n; ++i) {
                if (fa.binOf[i] < 0 || fb.binOf[i] < 0)
                    continue;
                auto &c = cells[static_cast<std::size_t>(fa.binOf[i]) * Bb +
                                static_cast<std::size_t>(fb.binOf[i])];
                ++c.rows;
                c.sum += loss[i];
                c.sumSq += loss[i] * loss[i];
            }
            for (std::size_t cell = 0; cell < cells.size(); ++cell) {
                Candidate &c = cells[cell];
                if (c.rows < minSupport || c.rows == n)
                    continue;
                const std::size_t ba = cell / Bb, bb = cell % Bb;
                c.expr = fa.binExpr[ba] + " and " + fb.binExpr[bb];
                c.parts = {{static_cast<int>(order[a]), static_cast<int>(ba)},
                           {static_cast<int>(order[b]), static_cast<int>(bb)}};
                score(c);
                candidates.push_back(std::move(c));
            }
        }
    }
    std::vector<double> pValues;
    for (const auto &c : candidates)
        pValues.push_back(c.pValue);
    const std::vector<double> q = benjaminiHochberg(pValues);
    for (std::size_t i = 0; i < candidates.size(); ++i)
        candidates[i].qValue = q[i];
    std::vector<std::size_t> reported;
    for (std::size_t i = 0; i < candidates.size(); ++i)
        if (candidates[i].effect > spec.autoThreshold)
            reported.push_back(i);
    std::stable_sort(reported.begin(), reported.end(), [&](std::size_t a, std::size_t b) {
        return candidates[a].effect > candidates[b].effect;
    });
    if (reported.size() > 20)
        reported.resize(20);

    json list = json::array();
    // The tests above are of the primary metric's per-row terms.
    const std::string metricName(primaryMetric(ev.task()).name);
    for (std::size_t idx : reported) {
        const Candidate &c = candidates[idx];
        std::vector<RowIndex> rows;
        for (std::size_t i = 0; i < n; ++i) {
            bool in = true;
            for (const auto &[fi, b] : c.parts)
                in = in && features[static_cast<std::size_t>(fi)].binOf[i] == b;
            if (in)
                rows.push_back(static_cast<RowIndex>(i));
        }
        json ci = nullptr;
        if (spec.bootstrap > 0) {
            BootstrapOptions options;
            options.resamples = spec.bootstrap;
            options.seed = spec.seed;
            options.threads = spec.threads;
            auto metric = [&](std::span<const RowIndex> s) {
                double sum = 0;
                for (RowIndex r : s)
                    sum += loss[r];
                const double mean = sum / static_cast<double>(s.size());
                return std::vector<double>{cls ? 1 - mean : mean};
            };
            SB_ASSIGN_OR_RETURN(std::vector<Interval> iv,
                                bootstrap(rows, 1, metric, options, ev.cancel));
            ci =
                json{{metricName, json::array({jsonNumber(iv[0].lower), jsonNumber(iv[0].upper)})}};
        }
        std::string name;
        for (const auto &[fi, b] : c.parts) {
            (void)b;
            name += (name.empty() ? "" : " x ") + features[static_cast<std::size_t>(fi)].name;
        }
        list.push_back(json{{"name", name},
                            {"expr", c.expr},
                            {"rows", c.rows},
                            {"metric", metricName},
                            {"value", jsonNumber(c.value)},
                            {"overall", jsonNumber(cls ? 1 - overallLoss : overallLoss)},
                            {"effect", jsonNumber(c.effect)},
                            {"p_value", jsonNumber(c.pValue)},
                            {"q_value", jsonNumber(c.qValue)},
                            {"significant", c.qValue <= spec.alpha},
                            {"metrics", ev.metricJson(rows)},
                            {"ci", ci}});
    }
    return json{{"min_support", minSupport},
                {"candidates_tested", candidates.size()},
                {"threshold", spec.autoThreshold},
                {"alpha", spec.alpha},
                {"test", cls ? "one-sided two-proportion z-test (pooled), slice vs complement"
                             : "one-sided Welch z-test of mean absolute error, slice vs "
                               "complement"},
                {"correction", "Benjamini-Hochberg"},
                {"slices", list}};
}

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
        SB_ASSIGN_OR_RETURN(json found, autoSlices(table, spec, p, ev));
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
