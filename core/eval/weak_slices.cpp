#include "core/eval/weak_slices.h"

#include "core/eval/metric_definitions.h"
#include "core/eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <numeric>

namespace sb::eval {

using nlohmann::json;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

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

std::vector<Feature> buildFeatures(const Table &table, const WeakSliceData &data,
                                   std::size_t minSupport)
{
    std::vector<Feature> features;
    const std::size_t n = data.tableRow.size();
    for (const auto &column : table.columns) {
        if (data.usedColumns.count(column.name))
            continue;
        Feature f;
        f.name = column.name;
        f.binOf.assign(n, -1);
        const std::string col = quoteValue(column.name);
        if (column.type == ColumnType::Categorical) {
            std::vector<std::size_t> counts(column.categories->size(), 0);
            for (RowIndex r : data.tableRow)
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
                const std::int32_t code = column.codes[data.tableRow[i]];
                if (code >= 0)
                    f.binOf[i] = binOfCode[static_cast<std::size_t>(code)];
            }
        } else {
            std::vector<double> values;
            for (RowIndex r : data.tableRow)
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
                const double v = column.numbers[data.tableRow[i]];
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

} // namespace

Result<json> searchWeakSlices(const Table &table, const EvalSpec &spec, const WeakSliceData &data,
                              const CancelToken *cancel)
{
    const std::size_t n = data.tableRow.size();
    const std::size_t minSupport =
        spec.minSupport ? spec.minSupport
                        : std::max<std::size_t>(static_cast<std::size_t>(std::ceil(0.01 * n)), 30);
    const bool cls = data.task == Task::Classification;
    const std::vector<double> &loss = data.loss;
    double totalSum = 0, totalSq = 0;
    for (double l : loss) {
        totalSum += l;
        totalSq += l * l;
    }
    const double overallLoss = n ? totalSum / static_cast<double>(n) : kNaN;
    std::vector<Feature> features = buildFeatures(table, data, minSupport);

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
            if (cancel && cancel->isCancelled())
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
    const std::string metricName(primaryMetric(data.task).name);
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
                                bootstrap(rows, 1, metric, options, cancel));
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
                            {"metrics", data.metricJson(rows)},
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

} // namespace sb::eval
