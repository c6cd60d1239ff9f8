#include "core/eval/drift.h"

#include "core/eval/radix_sort.h"

#include "core/eval/stats.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>

namespace sb::eval {

namespace {

std::string numberLabel(double value)
{
    char buffer[64];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof(buffer), value);
    if (ec != std::errc())
        return "?";
    return std::string(buffer, end);
}

// Per-value counts of both sides over the union of values, in ascending order.
struct CountTable
{
    std::vector<std::string> labels;
    std::vector<double> reference;
    std::vector<double> current;
};

CountTable countNumbers(const std::vector<double> &a, const std::vector<double> &b)
{
    CountTable table;
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        double v = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
        double ca = 0, cb = 0;
        while (i < a.size() && a[i] == v) {
            ++i;
            ++ca;
        }
        while (j < b.size() && b[j] == v) {
            ++j;
            ++cb;
        }
        table.labels.push_back(numberLabel(v));
        table.reference.push_back(ca);
        table.current.push_back(cb);
    }
    return table;
}

CountTable countCategories(const std::vector<std::pair<std::string, double>> &a,
                           const std::vector<std::pair<std::string, double>> &b)
{
    CountTable table;
    std::size_t i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        if (j >= b.size() || (i < a.size() && a[i].first < b[j].first)) {
            table.labels.push_back(a[i].first);
            table.reference.push_back(a[i].second);
            table.current.push_back(0);
            ++i;
        } else if (i >= a.size() || b[j].first < a[i].first) {
            table.labels.push_back(b[j].first);
            table.reference.push_back(0);
            table.current.push_back(b[j].second);
            ++j;
        } else {
            table.labels.push_back(a[i].first);
            table.reference.push_back(a[i].second);
            table.current.push_back(b[j].second);
            ++i;
            ++j;
        }
    }
    return table;
}

std::size_t distinctSorted(const std::vector<double> &v)
{
    std::size_t count = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
        if (i == 0 || v[i] != v[i - 1])
            ++count;
    return count;
}

// Distinct values of the union of two sorted samples (no labels built: the
// columns of a 10M-row file can have millions of values).
std::size_t distinctUnion(const std::vector<double> &a, const std::vector<double> &b)
{
    std::size_t count = 0, i = 0, j = 0;
    while (i < a.size() || j < b.size()) {
        double v = (j >= b.size() || (i < a.size() && a[i] <= b[j])) ? a[i] : b[j];
        while (i < a.size() && a[i] == v)
            ++i;
        while (j < b.size() && b[j] == v)
            ++j;
        ++count;
    }
    return count;
}

CountTable countTable(const DriftSample &ref, const DriftSample &cur)
{
    return ref.numerical ? countNumbers(ref.sorted, cur.sorted)
                         : countCategories(ref.categories, cur.categories);
}

// Evidently's get_binned_data: Sturges bins for numerical columns with more than
// 20 unique reference values, one bin per value otherwise; zero shares filled.
DriftBins binnedShares(const DriftSample &ref, const DriftSample &cur)
{
    DriftBins bins;
    const double nRef = static_cast<double>(ref.size()), nCur = static_cast<double>(cur.size());
    if (ref.numerical && distinctSorted(ref.sorted) > 20) {
        bins.kind = "sturges";
        double lo = std::min(ref.sorted.front(), cur.sorted.front());
        double hi = std::max(ref.sorted.back(), cur.sorted.back());
        bins.edges = sturgesEdges(lo, hi, ref.sorted.size() + cur.sorted.size());
        bins.reference = histogramSorted(ref.sorted, bins.edges);
        bins.current = histogramSorted(cur.sorted, bins.edges);
    } else {
        bins.kind = "values";
        CountTable table = countTable(ref, cur);
        bins.values = std::move(table.labels);
        bins.reference = std::move(table.reference);
        bins.current = std::move(table.current);
    }
    for (double &v : bins.reference)
        v /= nRef;
    for (double &v : bins.current)
        v /= nCur;
    fillZeroShares(bins.reference);
    fillZeroShares(bins.current);
    return bins;
}

// Finite values of `input`, ascending (radix sort on the ordered keys of
// the doubles, core/eval/radix_sort.h).
std::vector<double> sortedFinite(std::span<const double> input)
{
    std::vector<std::uint64_t> keys;
    keys.reserve(input.size());
    for (double v : input)
        if (std::isfinite(v))
            keys.push_back(orderedKey(v));
    radixSort<NoPayload>(keys);
    std::vector<double> out(keys.size());
    for (std::size_t i = 0; i < keys.size(); ++i)
        out[i] = fromOrderedKey(keys[i]);
    return out;
}

std::string plural(std::size_t n, const char *word)
{
    return std::to_string(n) + " " + word;
}

} // namespace

const char *driftMethodName(DriftMethod method)
{
    switch (method) {
    case DriftMethod::Auto:
        return "auto";
    case DriftMethod::Ks:
        return "ks";
    case DriftMethod::ChiSquare:
        return "chisquare";
    case DriftMethod::ZTest:
        return "z";
    case DriftMethod::Wasserstein:
        return "wasserstein";
    case DriftMethod::JensenShannon:
        return "jensenshannon";
    case DriftMethod::Psi:
        return "psi";
    case DriftMethod::KlDiv:
        return "kl_div";
    }
    return "?";
}

std::optional<DriftMethod> parseDriftMethod(const std::string &name)
{
    static const std::map<std::string, DriftMethod> names = {
        {"auto", DriftMethod::Auto},
        {"ks", DriftMethod::Ks},
        {"chisquare", DriftMethod::ChiSquare},
        {"chi2", DriftMethod::ChiSquare},
        {"z", DriftMethod::ZTest},
        {"z_test", DriftMethod::ZTest},
        {"ztest", DriftMethod::ZTest},
        {"wasserstein", DriftMethod::Wasserstein},
        {"wasserstein_distance", DriftMethod::Wasserstein},
        {"jensenshannon", DriftMethod::JensenShannon},
        {"js", DriftMethod::JensenShannon},
        {"psi", DriftMethod::Psi},
        {"kl_div", DriftMethod::KlDiv},
        {"kl", DriftMethod::KlDiv},
    };
    auto it = names.find(name);
    if (it == names.end())
        return std::nullopt;
    return it->second;
}

double defaultDriftThreshold(DriftMethod method)
{
    switch (method) {
    case DriftMethod::Ks:
    case DriftMethod::ChiSquare:
    case DriftMethod::ZTest:
        return 0.05;
    default:
        return 0.1;
    }
}

std::size_t DriftSample::size() const
{
    if (numerical)
        return sorted.size();
    double total = 0;
    for (const auto &c : categories)
        total += c.second;
    return static_cast<std::size_t>(total);
}

DriftSample DriftSample::fromNumbers(std::span<const double> values)
{
    DriftSample sample;
    sample.numerical = true;
    sample.sorted = sortedFinite(values);
    return sample;
}

DriftColumnResult computeColumnDrift(const std::string &name, const DriftSample &ref,
                                     const DriftSample &cur, DriftMethod method,
                                     std::optional<double> threshold)
{
    DriftColumnResult result;
    result.name = name;
    result.type = ref.numerical ? "numerical" : "categorical";
    result.referenceRows = ref.size();
    result.currentRows = cur.size();
    if (ref.numerical != cur.numerical) {
        result.error =
            "column '" + name + "' is numerical in one file and categorical in the other";
        return result;
    }
    if (result.referenceRows == 0 || result.currentRows == 0) {
        result.error = "column '" + name + "' has no values (after dropping NaN/inf) in the " +
                       (result.referenceRows == 0 ? "reference" : "current") + " data";
        return result;
    }

    std::size_t unionUnique = ref.numerical
                                  ? distinctUnion(ref.sorted, cur.sorted)
                                  : countCategories(ref.categories, cur.categories).labels.size();
    if (method == DriftMethod::Auto) {
        std::string sizes = "reference rows " + std::to_string(result.referenceRows);
        std::string uniques = plural(unionUnique, "unique values");
        if (result.referenceRows <= 1000) {
            sizes += " <= 1000";
            if (ref.numerical && unionUnique > 5) {
                method = DriftMethod::Ks;
                result.rule = sizes + ", numerical with " + uniques + " > 5: ks (p <= threshold)";
            } else if (unionUnique > 2) {
                method = DriftMethod::ChiSquare;
                result.rule = sizes + ", " + result.type + " with " + uniques +
                              " > 2: chisquare (p < threshold)";
            } else {
                method = DriftMethod::ZTest;
                result.rule = sizes + ", " + uniques + " <= 2: z (p < threshold)";
            }
        } else {
            sizes += " > 1000";
            if (ref.numerical && unionUnique > 5) {
                method = DriftMethod::Wasserstein;
                result.rule = sizes + ", numerical with " + uniques +
                              " > 5: wasserstein / max(std_ref, 0.001) (>= threshold)";
            } else {
                method = DriftMethod::JensenShannon;
                result.rule = sizes + ", " + result.type + " with " + uniques +
                              ": jensenshannon (>= threshold)";
            }
        }
    } else {
        result.rule = std::string("chosen: ") + driftMethodName(method);
    }
    result.method = method;
    result.threshold = threshold.value_or(defaultDriftThreshold(method));

    if ((method == DriftMethod::Ks || method == DriftMethod::Wasserstein) && !ref.numerical) {
        result.error = std::string("method ") + driftMethodName(method) +
                       " needs a numerical column; '" + name + "' is categorical";
        return result;
    }

    switch (method) {
    case DriftMethod::Ks: {
        KsResult ks = ksTwoSample(ref.sorted, cur.sorted);
        result.statistic = ks.statistic;
        result.pValue = ks.pValue;
        result.ksMode = ks.method == KsMethod::Exact ? "exact" : "asymp";
        if (ks.exactFellBack)
            result.ksMode = "asymp (exact failed)";
        result.drifted = ks.pValue <= result.threshold;
        break;
    }
    case DriftMethod::ChiSquare: {
        CountTable table = countTable(ref, cur);
        double kNorm =
            static_cast<double>(result.currentRows) / static_cast<double>(result.referenceRows);
        std::vector<double> expected(table.reference.size());
        for (std::size_t i = 0; i < expected.size(); ++i)
            expected[i] = table.reference[i] * kNorm;
        ChiSquareResult chi = chiSquareGoodnessOfFit(table.current, expected);
        result.statistic = chi.statistic;
        result.pValue = chi.pValue;
        result.drifted = chi.pValue < result.threshold;
        result.bins.kind = "values";
        result.bins.shares = false;
        result.bins.values = std::move(table.labels);
        result.bins.reference = std::move(table.reference);
        result.bins.current = std::move(table.current);
        if (std::isnan(chi.pValue))
            result.error = "chisquare needs at least 2 distinct values in column '" + name + "'";
        break;
    }
    case DriftMethod::ZTest: {
        CountTable table = countTable(ref, cur);
        double refTotal = static_cast<double>(result.referenceRows);
        double curTotal = static_cast<double>(result.currentRows);
        bool sameSingleValue = table.labels.size() == 1;
        if (sameSingleValue) {
            result.statistic = 0.0;
            result.pValue = 1.0;
        } else {
            // Evidently: indicator "value != first key" on both sides.
            ZTestResult z = twoProportionZTest(refTotal - table.reference[0], refTotal,
                                               curTotal - table.current[0], curTotal);
            result.statistic = z.statistic;
            result.pValue = z.pValue;
        }
        result.drifted = *result.pValue < result.threshold;
        result.bins.kind = "values";
        result.bins.shares = false;
        result.bins.values = std::move(table.labels);
        result.bins.reference = std::move(table.reference);
        result.bins.current = std::move(table.current);
        break;
    }
    case DriftMethod::Wasserstein: {
        double distance = wassersteinSorted(ref.sorted, cur.sorted);
        double norm = std::max(populationStd(ref.sorted), 0.001);
        result.statistic = distance / norm;
        result.drifted = result.statistic >= result.threshold;
        break;
    }
    case DriftMethod::JensenShannon:
    case DriftMethod::Psi:
    case DriftMethod::KlDiv: {
        result.bins = binnedShares(ref, cur);
        if (method == DriftMethod::JensenShannon)
            result.statistic = jensenShannonDistance(result.bins.reference, result.bins.current);
        else if (method == DriftMethod::Psi)
            result.statistic = psi(result.bins.reference, result.bins.current);
        else
            result.statistic = klDivergence(result.bins.reference, result.bins.current);
        result.drifted = result.statistic >= result.threshold;
        break;
    }
    case DriftMethod::Auto:
        break;
    }
    return result;
}

DriftSummary summarizeDrift(const std::vector<DriftColumnResult> &columns, double shareThreshold)
{
    DriftSummary summary;
    for (const auto &column : columns) {
        if (!column.error.empty())
            continue;
        ++summary.testedColumns;
        if (column.drifted)
            ++summary.driftedColumns;
    }
    if (summary.testedColumns > 0)
        summary.shareDrifted = static_cast<double>(summary.driftedColumns) /
                               static_cast<double>(summary.testedColumns);
    summary.datasetDrift = summary.testedColumns > 0 && summary.shareDrifted >= shareThreshold;
    return summary;
}

} // namespace sb::eval
