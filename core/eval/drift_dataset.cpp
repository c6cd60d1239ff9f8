#include "core/eval/drift_dataset.h"

#include "core/eval/parallel.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>

namespace sb::eval {

namespace {

// The sample of one column, optionally restricted to some rows.
DriftSample makeSample(const Column &column, const std::vector<std::size_t> *rows)
{
    if (column.type == ColumnType::Categorical) {
        std::vector<double> counts(column.categories ? column.categories->size() : 0, 0.0);
        auto add = [&](std::size_t r) {
            std::int32_t code = column.codes[r];
            if (code >= 0)
                counts[static_cast<std::size_t>(code)] += 1;
        };
        if (rows)
            for (std::size_t r : *rows)
                add(r);
        else
            for (std::size_t r = 0; r < column.codes.size(); ++r)
                add(r);
        DriftSample sample;
        sample.numerical = false;
        for (std::size_t code = 0; code < counts.size(); ++code)
            if (counts[code] > 0)
                sample.categories.emplace_back((*column.categories)[code], counts[code]);
        std::sort(sample.categories.begin(), sample.categories.end());
        return sample;
    }
    if (!rows)
        return DriftSample::fromNumbers(column.numbers);
    std::vector<double> values;
    values.reserve(rows->size());
    for (std::size_t r : *rows)
        values.push_back(column.numbers[r]);
    return DriftSample::fromNumbers(values);
}

template <typename Map>
auto lookup(const Map &map, const std::string &name) -> std::optional<typename Map::mapped_type>
{
    if (auto it = map.find(name); it != map.end())
        return it->second;
    if (auto it = map.find("*"); it != map.end())
        return it->second;
    return std::nullopt;
}

struct ColumnPair
{
    std::string name;
    const Column *reference;
    const Column *current;
};

std::vector<DriftColumnResult> testColumns(const std::vector<ColumnPair> &pairs,
                                           const std::vector<std::size_t> *currentRows,
                                           const DriftDatasetOptions &options, unsigned threads)
{
    std::vector<DriftColumnResult> results(pairs.size());
    parallelFor(pairs.size(), threads, [&](std::size_t i) {
        const ColumnPair &pair = pairs[i];
        DriftSample reference = makeSample(*pair.reference, nullptr);
        DriftSample current = makeSample(*pair.current, currentRows);
        DriftMethod method = lookup(options.methods, pair.name).value_or(DriftMethod::Auto);
        results[i] = computeColumnDrift(pair.name, reference, current, method,
                                        lookup(options.thresholds, pair.name));
    });
    return results;
}

std::string rowLabel(std::size_t row)
{
    return std::to_string(row);
}

} // namespace

Result<WindowSpec> parseWindowSpec(const std::string &text)
{
    WindowSpec spec;
    std::size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits])))
        ++digits;
    long long count = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + digits, count);
    (void)ptr;
    if (digits == 0 || ec != std::errc() || count <= 0)
        return makeError(
            ErrorCode::InvalidInput,
            "window '" + text +
                "': expected a row count (1000) or a duration (7d, 12h, 30m, 45s, 2w)");
    std::string unit = text.substr(digits);
    if (unit.empty()) {
        spec.rows = count;
        return spec;
    }
    double unitSeconds = 0;
    if (unit == "s")
        unitSeconds = 1;
    else if (unit == "m" || unit == "min")
        unitSeconds = 60;
    else if (unit == "h")
        unitSeconds = 3600;
    else if (unit == "d")
        unitSeconds = 86400;
    else if (unit == "w")
        unitSeconds = 7 * 86400;
    else
        return makeError(ErrorCode::InvalidInput, "window '" + text + "': unknown unit '" + unit +
                                                      "' (use s, m, h, d or w)");
    spec.time = true;
    spec.seconds = static_cast<double>(count) * unitSeconds;
    spec.alignSeconds = unit == "w" ? 86400 : unitSeconds;
    return spec;
}

Result<DriftReport> runDrift(const Table &reference, const Table &current,
                             const DriftDatasetOptions &options, const CancelToken *cancel)
{
    DriftReport report;
    report.referenceFile = reference.fileName;
    report.currentFile = current.fileName;
    report.referenceRows = reference.rows;
    report.currentRows = current.rows;
    report.diagnostics = reference.diagnostics;
    report.diagnostics.insert(report.diagnostics.end(), current.diagnostics.begin(),
                              current.diagnostics.end());
    const unsigned threads = options.csv.threads == 0 ? defaultThreadCount() : options.csv.threads;

    std::vector<ColumnPair> pairs;
    if (!options.columns.empty()) {
        for (const auto &name : options.columns) {
            const Column *r = reference.column(name);
            const Column *c = current.column(name);
            if (!r || !c)
                return makeError(ErrorCode::InvalidInput,
                                 "column '" + name + "' is not in " +
                                     (!r ? reference.fileName : current.fileName));
            pairs.push_back({name, r, c});
        }
    } else {
        for (const Column &r : reference.columns) {
            const Column *c = current.column(r.name);
            if (!c || r.name == options.windowColumn || r.type == ColumnType::Datetime ||
                c->type == ColumnType::Datetime)
                continue;
            pairs.push_back({r.name, &r, c});
        }
    }
    for (const auto &[name, method] : options.methods)
        if (name != "*" && std::none_of(pairs.begin(), pairs.end(),
                                        [&](const ColumnPair &p) { return p.name == name; }))
            return makeError(ErrorCode::InvalidInput,
                             "--method names column '" + name + "' which is not tested");

    report.columns = testColumns(pairs, nullptr, options, threads);
    report.summary = summarizeDrift(report.columns, options.datasetShare);

    if (options.window.empty())
        return report;
    SB_ASSIGN_OR_RETURN(WindowSpec spec, parseWindowSpec(options.window));
    const Column *windowColumn = nullptr;
    if (!options.windowColumn.empty()) {
        windowColumn = current.column(options.windowColumn);
        if (!windowColumn)
            return makeError(ErrorCode::InvalidInput, current.fileName + ": no window column '" +
                                                          options.windowColumn + "'");
    }
    std::vector<std::pair<std::string, std::vector<std::size_t>>> groups;
    if (spec.time) {
        report.windowKind = "time";
        if (!windowColumn || windowColumn->type != ColumnType::Datetime)
            return makeError(ErrorCode::InvalidInput,
                             current.fileName +
                                 ": a time window needs --window-column naming a datetime column" +
                                 (windowColumn ? " ('" + options.windowColumn + "' is " +
                                                     columnTypeName(windowColumn->type) + ")"
                                               : std::string()));
        const auto &ts = windowColumn->numbers;
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (double t : ts)
            if (std::isfinite(t)) {
                lo = std::min(lo, t);
                hi = std::max(hi, t);
            }
        if (std::isfinite(lo)) {
            double start = std::floor(lo / spec.alignSeconds) * spec.alignSeconds;
            auto count = static_cast<std::size_t>(std::floor((hi - start) / spec.seconds)) + 1;
            std::vector<std::vector<std::size_t>> buckets(count);
            for (std::size_t r = 0; r < ts.size(); ++r)
                if (std::isfinite(ts[r]))
                    buckets[static_cast<std::size_t>(std::floor((ts[r] - start) / spec.seconds))]
                        .push_back(r);
            for (std::size_t k = 0; k < count; ++k) {
                if (buckets[k].empty())
                    continue;
                double ws = start + static_cast<double>(k) * spec.seconds;
                report.windows.push_back({formatIsoDatetime(ws),
                                          formatIsoDatetime(ws + spec.seconds),
                                          true,
                                          buckets[k].size(),
                                          {},
                                          {}});
                groups.emplace_back(std::string(), std::move(buckets[k]));
            }
        }
    } else {
        report.windowKind = "rows";
        std::vector<std::size_t> order(current.rows);
        std::iota(order.begin(), order.end(), std::size_t(0));
        if (windowColumn) {
            if (windowColumn->type == ColumnType::Categorical) {
                std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                    return windowColumn->text(a) < windowColumn->text(b);
                });
            } else {
                const auto &v = windowColumn->numbers;
                std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
                    bool na = std::isnan(v[a]), nb = std::isnan(v[b]);
                    if (na || nb)
                        return !na && nb; // missing last
                    return v[a] < v[b];
                });
            }
        }
        auto width = static_cast<std::size_t>(spec.rows);
        for (std::size_t begin = 0; begin < order.size(); begin += width) {
            std::size_t end = std::min(order.size(), begin + width);
            report.windows.push_back({rowLabel(begin), rowLabel(end), false, end - begin, {}, {}});
            groups.emplace_back(
                std::string(),
                std::vector<std::size_t>(order.begin() + static_cast<std::ptrdiff_t>(begin),
                                         order.begin() + static_cast<std::ptrdiff_t>(end)));
        }
    }
    for (std::size_t w = 0; w < groups.size(); ++w) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "drift cancelled");
        report.windows[w].columns = testColumns(pairs, &groups[w].second, options, threads);
        report.windows[w].summary = summarizeDrift(report.windows[w].columns, options.datasetShare);
    }
    return report;
}

namespace {

// Restricts the reader options to names present in this file's header: type
// overrides and column selections apply to both files, which need not share
// every column.
Result<CsvOptions> optionsForFile(const std::filesystem::path &path, CsvOptions options,
                                  const std::vector<std::string> &extraColumns)
{
    SB_ASSIGN_OR_RETURN(auto header, CsvReader::open(path, options));
    auto keep = [&](std::vector<std::string> &names) {
        names.erase(std::remove_if(names.begin(), names.end(),
                                   [&](const std::string &n) { return header.columnIndex(n) < 0; }),
                    names.end());
    };
    keep(options.categorical);
    keep(options.datetime);
    if (!options.columns.empty()) {
        for (const auto &extra : extraColumns)
            if (!extra.empty() && header.columnIndex(extra) >= 0 &&
                std::find(options.columns.begin(), options.columns.end(), extra) ==
                    options.columns.end())
                options.columns.push_back(extra);
        keep(options.columns);
    }
    return options;
}

} // namespace

Result<DriftReport> runDrift(const std::filesystem::path &reference,
                             const std::filesystem::path &current,
                             const DriftDatasetOptions &options, const CancelToken *cancel,
                             const ProgressFn &progress)
{
    CsvOptions baseOptions = options.csv;
    baseOptions.columns = options.columns;
    CsvOptions currentBase = baseOptions;
    if (!options.window.empty() && !options.windowColumn.empty()) {
        SB_ASSIGN_OR_RETURN(WindowSpec spec, parseWindowSpec(options.window));
        if (spec.time && std::find(currentBase.datetime.begin(), currentBase.datetime.end(),
                                   options.windowColumn) == currentBase.datetime.end())
            currentBase.datetime.push_back(options.windowColumn);
    }
    SB_ASSIGN_OR_RETURN(CsvOptions referenceOptions, optionsForFile(reference, baseOptions, {}));
    SB_ASSIGN_OR_RETURN(CsvOptions currentOptions,
                        optionsForFile(current, currentBase, {options.windowColumn}));
    SB_ASSIGN_OR_RETURN(Table referenceTable, readCsv(reference, referenceOptions, cancel));
    if (progress)
        progress(0.3, "reference read");
    SB_ASSIGN_OR_RETURN(Table currentTable, readCsv(current, currentOptions, cancel));
    if (progress)
        progress(0.6, "current read");
    auto result = runDrift(referenceTable, currentTable, options, cancel);
    if (progress)
        progress(1.0, "drift");
    return result;
}

} // namespace sb::eval
