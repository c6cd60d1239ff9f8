#include "core/eval/poisoning.h"

#include "core/eval/evaluation.h"
#include "core/eval/parallel.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

namespace sb::eval {

namespace {

using nlohmann::json;

Error inputError(std::string message)
{
    return makeError(ErrorCode::InvalidInput, std::move(message));
}

double median(std::vector<double> v)
{
    if (v.empty())
        return std::nan("");
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

struct UnionFind
{
    std::vector<std::size_t> parent;
    explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
    std::size_t find(std::size_t x)
    {
        while (parent[x] != x)
            x = parent[x] = parent[parent[x]];
        return x;
    }
    void unite(std::size_t a, std::size_t b)
    {
        a = find(a);
        b = find(b);
        if (a != b)
            parent[std::max(a, b)] = std::min(a, b);
    }
};

std::string rowLine(const Table &table, std::size_t row)
{
    return table.fileName + ":" + std::to_string(row < table.lines.size() ? table.lines[row] : 0);
}

} // namespace

int classIndex(const std::vector<std::string> &classes, const std::string &label)
{
    for (std::size_t j = 0; j < classes.size(); ++j)
        if (classes[j] == label)
            return static_cast<int>(j);
    double b = 0;
    if (!parseCsvNumber(label, b))
        return -1;
    for (std::size_t j = 0; j < classes.size(); ++j) {
        double a = 0;
        if (parseCsvNumber(classes[j], a) && a == b)
            return static_cast<int>(j);
    }
    return -1;
}

Neighbours nearestNeighbours(const std::vector<double> &x, std::size_t rows, std::size_t dims,
                             std::size_t k, unsigned threads, const CancelToken *cancel)
{
    Neighbours out;
    out.k = std::min(k, rows > 0 ? rows - 1 : 0);
    out.index.assign(rows * out.k, 0);
    out.distance.assign(rows * out.k, 0.0);
    if (out.k == 0)
        return out;
    parallelFor(rows, threads, [&](std::size_t i) {
        if (cancel && cancel->isCancelled())
            return;
        std::vector<std::pair<double, std::uint32_t>> d;
        d.reserve(rows - 1);
        const double *xi = x.data() + i * dims;
        for (std::size_t j = 0; j < rows; ++j) {
            if (j == i)
                continue;
            const double *xj = x.data() + j * dims;
            double s = 0;
            for (std::size_t c = 0; c < dims; ++c) {
                const double t = xi[c] - xj[c];
                s += t * t;
            }
            d.emplace_back(s, static_cast<std::uint32_t>(j));
        }
        std::partial_sort(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(out.k), d.end());
        for (std::size_t m = 0; m < out.k; ++m) {
            out.index[i * out.k + m] = d[m].second;
            out.distance[i * out.k + m] = std::sqrt(d[m].first);
        }
    });
    return out;
}

Result<PoisoningReport> screenPoisoning(const Table &table, const PoisoningOptions &options,
                                        const CancelToken *cancel, const ProgressFn &progress)
{
    auto step = [&](double f, const char *what) {
        if (progress)
            progress(f, what);
    };
    if (options.k < 1)
        return inputError("--k must be at least 1");
    if (options.label.empty())
        return inputError("--label is required");
    const Column *label = table.column(options.label);
    if (!label)
        return inputError(table.fileName + ": no column '" + options.label + "' (--label)");
    if (!options.features.empty() && !options.featurePrefix.empty())
        return inputError("--features and --feature-prefix are alternatives; give one");
    // Feature columns.
    std::vector<std::string> names = options.features;
    if (names.empty()) {
        for (const Column &c : table.columns) {
            if (c.name == options.label)
                continue;
            if (!options.featurePrefix.empty()) {
                if (c.name.rfind(options.featurePrefix, 0) == 0)
                    names.push_back(c.name);
            } else if (c.type == ColumnType::Numerical &&
                       (options.probaPrefix.empty() || c.name.rfind(options.probaPrefix, 0) != 0)) {
                names.push_back(c.name);
            }
        }
        if (names.empty())
            return inputError(table.fileName +
                              (options.featurePrefix.empty()
                                   ? std::string(": no numerical feature column")
                                   : ": no column starts with '" + options.featurePrefix + "'"));
    }
    std::vector<const Column *> columns;
    for (const std::string &name : names) {
        const Column *c = table.column(name);
        if (!c)
            return inputError(table.fileName + ": no column '" + name + "'");
        if (c->type != ColumnType::Numerical)
            return inputError(table.fileName + ": column '" + name + "' is " +
                              columnTypeName(c->type) + "; features must be numerical");
        if (name == options.label)
            return inputError("column '" + name + "' is the label; it cannot be a feature");
        columns.push_back(c);
    }
    // Rows with a label.
    std::vector<std::size_t> rowOf; // screened row -> table row
    for (std::size_t r = 0; r < table.rows; ++r)
        if (!label->isMissing(r))
            rowOf.push_back(r);
    const std::size_t n = rowOf.size(), d = columns.size();
    if (n < 2)
        return inputError(table.fileName + ": the screen needs at least 2 rows with a label in '" +
                          options.label + "'");
    std::vector<std::string> labelText(n);
    for (std::size_t i = 0; i < n; ++i)
        labelText[i] = label->text(rowOf[i]);

    // Standardise (StandardScaler: population std, constant -> scale 1).
    std::vector<double> x(n * d);
    std::size_t imputed = 0;
    for (std::size_t c = 0; c < d; ++c) {
        double sum = 0;
        std::size_t count = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = columns[c]->numbers[rowOf[i]];
            if (!std::isnan(v)) {
                sum += v;
                ++count;
            }
        }
        const double mean = count ? sum / double(count) : 0.0;
        double ss = 0;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = columns[c]->numbers[rowOf[i]];
            if (!std::isnan(v))
                ss += (v - mean) * (v - mean);
        }
        double scale = count ? std::sqrt(ss / double(count)) : 0.0;
        if (!(scale > 0) || !std::isfinite(scale))
            scale = 1.0;
        for (std::size_t i = 0; i < n; ++i) {
            const double v = columns[c]->numbers[rowOf[i]];
            if (std::isnan(v))
                ++imputed;
            x[i * d + c] = std::isnan(v) ? 0.0 : (v - mean) / scale;
        }
    }
    step(0.1, "neighbours");
    const std::size_t k = std::min<std::size_t>(static_cast<std::size_t>(options.k), n - 1);
    Neighbours nn = nearestNeighbours(x, n, d, k, options.threads, cancel);
    if (cancel && cancel->isCancelled())
        return makeError(ErrorCode::Cancelled, "poisoning screen cancelled");
    step(0.7, "checks");

    // kNN label disagreement and the kNN-distance outlier score.
    std::vector<double> disagreement(n), meanDistance(n);
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t differ = 0;
        double sum = 0;
        for (std::size_t m = 0; m < k; ++m) {
            differ += labelText[nn.index[i * k + m]] != labelText[i];
            sum += nn.distance[i * k + m];
        }
        disagreement[i] = double(differ) / double(k);
        meanDistance[i] = sum / double(k);
    }
    const double med = median(meanDistance);
    std::vector<double> deviations(n);
    for (std::size_t i = 0; i < n; ++i)
        deviations[i] = std::fabs(meanDistance[i] - med);
    const double mad = median(deviations);
    std::vector<double> outlierZ(n, 0.0);
    for (std::size_t i = 0; i < n; ++i)
        outlierZ[i] = mad > 0 ? 0.6745 * (meanDistance[i] - med) / mad : 0.0;

    // Confident learning.
    std::vector<double> selfConfidence(n, std::nan(""));
    std::vector<char> clIssue(n, 0);
    json confident = nullptr;
    std::size_t clIssues = 0;
    if (!options.probaPrefix.empty()) {
        std::vector<std::string> classes;
        std::vector<const Column *> proba;
        for (const Column &c : table.columns)
            if (c.name.rfind(options.probaPrefix, 0) == 0 &&
                c.name.size() > options.probaPrefix.size()) {
                if (c.type != ColumnType::Numerical)
                    return inputError(table.fileName + ": probability column '" + c.name +
                                      "' is not numerical");
                classes.push_back(c.name.substr(options.probaPrefix.size()));
                proba.push_back(&c);
            }
        if (classes.size() < 2)
            return inputError(table.fileName + ": --proba-prefix '" + options.probaPrefix +
                              "' matches " + std::to_string(classes.size()) +
                              " column(s); out-of-fold probabilities need one column per class");
        const std::size_t K = classes.size();
        std::vector<int> given(n, -1);
        for (std::size_t i = 0; i < n; ++i) {
            given[i] = classIndex(classes, labelText[i]);
            if (given[i] < 0)
                return inputError(rowLine(table, rowOf[i]) + ": column '" + options.label +
                                  "': label '" + labelText[i] + "' has no probability column '" +
                                  options.probaPrefix + labelText[i] + "'");
            for (std::size_t j = 0; j < K; ++j)
                if (std::isnan(proba[j]->numbers[rowOf[i]]))
                    return inputError(rowLine(table, rowOf[i]) + ": column '" + proba[j]->name +
                                      "': missing probability");
        }
        std::vector<double> threshold(K, 0.0);
        std::vector<std::size_t> count(K, 0);
        for (std::size_t i = 0; i < n; ++i) {
            threshold[static_cast<std::size_t>(given[i])] +=
                proba[static_cast<std::size_t>(given[i])]->numbers[rowOf[i]];
            ++count[static_cast<std::size_t>(given[i])];
        }
        for (std::size_t j = 0; j < K; ++j)
            threshold[j] = count[j] ? threshold[j] / double(count[j]) : INFINITY;
        std::vector<std::vector<std::size_t>> joint(K, std::vector<std::size_t>(K, 0));
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t y = static_cast<std::size_t>(given[i]);
            selfConfidence[i] = proba[y]->numbers[rowOf[i]];
            int best = -1;
            double bestValue = -INFINITY;
            for (std::size_t j = 0; j < K; ++j) {
                const double p = proba[j]->numbers[rowOf[i]];
                if (p >= threshold[j] && p > bestValue) {
                    best = static_cast<int>(j);
                    bestValue = p;
                }
            }
            if (best < 0)
                continue;
            ++joint[y][static_cast<std::size_t>(best)];
            if (static_cast<std::size_t>(best) != y) {
                clIssue[i] = 1;
                ++clIssues;
            }
        }
        json thresholds = json::object();
        for (std::size_t j = 0; j < K; ++j)
            thresholds[classes[j]] = jsonNumber(threshold[j]);
        confident = json{{"method", "confident learning (Northcutt et al. 2021), "
                                    "filter_by='confident_learning'"},
                         {"classes", classes},
                         {"thresholds", thresholds},
                         {"confident_joint", joint},
                         {"label_issues", clIssues}};
    }

    // Exact and near duplicates with conflicting labels.
    UnionFind groupsExact(n), groupsNear(n);
    for (std::size_t i = 0; i < n; ++i)
        for (std::size_t m = 0; m < k; ++m) {
            const std::size_t j = nn.index[i * k + m];
            const double dist = nn.distance[i * k + m];
            if (dist > options.nearDistance)
                break;
            bool exact = true;
            for (std::size_t c = 0; c < d && exact; ++c) {
                const double a = columns[c]->numbers[rowOf[i]], b = columns[c]->numbers[rowOf[j]];
                exact = a == b || (std::isnan(a) && std::isnan(b));
            }
            if (exact)
                groupsExact.unite(i, j);
            groupsNear.unite(i, j);
        }
    std::vector<char> inConflict(n, 0);
    json findings = json::array();
    std::size_t exactGroups = 0, nearGroups = 0, conflictRows = 0;
    for (int pass = 0; pass < 2; ++pass) {
        UnionFind &uf = pass == 0 ? groupsExact : groupsNear;
        std::map<std::size_t, std::vector<std::size_t>> groups;
        for (std::size_t i = 0; i < n; ++i)
            groups[uf.find(i)].push_back(i);
        for (const auto &[root, members] : groups) {
            (void)root;
            std::set<std::string> labels;
            for (std::size_t i : members)
                labels.insert(labelText[i]);
            if (members.size() < 2 || labels.size() < 2)
                continue;
            // A near group that is exactly an exact group is already listed.
            if (pass == 1) {
                bool allExact = true;
                for (std::size_t i : members)
                    allExact = allExact && groupsExact.find(i) == groupsExact.find(members[0]);
                if (allExact)
                    continue;
            }
            json rows = json::array(), rowLabels = json::array();
            for (std::size_t i : members) {
                rows.push_back(rowOf[i]);
                rowLabels.push_back(labelText[i]);
                if (!inConflict[i])
                    ++conflictRows;
                inConflict[i] = 1;
            }
            std::map<std::string, std::size_t> counts;
            for (std::size_t i : members)
                ++counts[labelText[i]];
            std::size_t majority = 0;
            for (const auto &[l, c] : counts)
                majority = std::max(majority, c);
            (pass == 0 ? exactGroups : nearGroups) += 1;
            findings.push_back(
                json{{"check", pass == 0 ? "exact_duplicate_conflict" : "near_duplicate_conflict"},
                     {"rows", rows},
                     {"labels", rowLabels},
                     {"score", 1.0 - double(majority) / double(members.size())}});
        }
    }

    // Scores, reasons and the ranking.
    std::vector<double> score(n);
    std::vector<json> reasons(n, json::array());
    std::size_t knnFlagged = 0, outliers = 0;
    for (std::size_t i = 0; i < n; ++i) {
        score[i] = disagreement[i];
        if (disagreement[i] > options.minDisagreement) {
            ++knnFlagged;
            reasons[i].push_back(
                "knn_label_disagreement: " +
                std::to_string(static_cast<int>(std::lround(disagreement[i] * k))) + " of " +
                std::to_string(k) + " nearest rows have another label");
        }
        if (!std::isnan(selfConfidence[i]))
            score[i] += 1.0 - selfConfidence[i];
        if (clIssue[i])
            reasons[i].push_back("confident_learning: out-of-fold P(given label) = " +
                                 formatNumber(selfConfidence[i]) +
                                 ", another class is confidently predicted");
        if (inConflict[i]) {
            score[i] += 1.0;
            reasons[i].push_back("duplicate_conflict: same (or nearly the same) features as a row "
                                 "with another label");
        }
        if (outlierZ[i] > options.outlierZ) {
            ++outliers;
            score[i] += 0.25;
            reasons[i].push_back("outlier: modified z-score " +
                                 formatNumber(std::round(outlierZ[i] * 100) / 100) +
                                 " of the mean distance to its neighbours");
            findings.push_back(json{
                {"check", "outlier"}, {"rows", json::array({rowOf[i]})}, {"score", outlierZ[i]}});
        }
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (disagreement[i] > options.minDisagreement)
            findings.push_back(json{{"check", "knn_label_disagreement"},
                                    {"rows", json::array({rowOf[i]})},
                                    {"score", disagreement[i]}});
        if (clIssue[i])
            findings.push_back(json{{"check", "confident_learning"},
                                    {"rows", json::array({rowOf[i]})},
                                    {"score", 1.0 - selfConfidence[i]}});
    }
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < n; ++i)
        if (!reasons[i].empty())
            order.push_back(i);
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return score[a] > score[b]; });
    PoisoningReport report;
    json suspicious = json::array();
    for (std::size_t i : order) {
        report.ranked.push_back(rowOf[i]);
        json row{{"row", rowOf[i]},
                 {"line", rowOf[i] < table.lines.size() ? table.lines[rowOf[i]] : 0},
                 {"label", labelText[i]},
                 {"score", score[i]},
                 {"knn_disagreement", disagreement[i]},
                 {"reasons", reasons[i]}};
        if (!std::isnan(selfConfidence[i]))
            row["self_confidence"] = selfConfidence[i];
        suspicious.push_back(std::move(row));
    }
    const std::size_t labelIssues = confident.is_null() ? knnFlagged : clIssues;
    json summary{{"rows", n},
                 {"suspicious_rows", order.size()},
                 {"knn_label_disagreements", knnFlagged},
                 {"label_issues", confident.is_null() ? json(nullptr) : json(clIssues)},
                 {"label_issue_share", double(labelIssues) / double(n)},
                 {"label_issue_source",
                  confident.is_null() ? "knn_label_disagreement" : "confident_learning"},
                 {"exact_duplicate_conflict_groups", exactGroups},
                 {"near_duplicate_conflict_groups", nearGroups},
                 {"duplicate_conflict_rows", conflictRows},
                 {"outliers", outliers}};
    report.json = json{{"file", table.fileName},
                       {"label", options.label},
                       {"features", names},
                       {"k", k},
                       {"standardisation", "mean 0, population std 1 (constant features: scale 1)"},
                       {"imputed_values", imputed},
                       {"skipped_rows_without_label", table.rows - n},
                       {"thresholds", json{{"min_disagreement", options.minDisagreement},
                                           {"near_distance", options.nearDistance},
                                           {"outlier_z", options.outlierZ}}},
                       {"summary", summary},
                       {"confident_learning", confident},
                       {"findings", findings},
                       {"rows", suspicious}};
    step(1.0, "done");
    return report;
}

} // namespace sb::eval
