#include "core/eval/drift_dataset.h"

#include "core/eval/memory_limit.h"
#include "core/eval/parallel.h"
#include "core/eval/radix_sort.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <numeric>
#include <unordered_map>

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

using Schema = std::vector<std::pair<std::string, ColumnType>>;

Schema schemaOf(const Table &table)
{
    Schema schema;
    for (const Column &c : table.columns)
        schema.emplace_back(c.name, c.type);
    return schema;
}

int indexIn(const Schema &schema, const std::string &name)
{
    for (std::size_t i = 0; i < schema.size(); ++i)
        if (schema[i].first == name)
            return static_cast<int>(i);
    return -1;
}

struct PairSpec
{
    std::string name;
    std::size_t reference = 0, current = 0; // column indices in each schema
};

// The columns tested: options.columns, else every column in both files
// except datetime columns and the window column (reference order).
Result<std::vector<PairSpec>> selectPairs(const Schema &reference, const Schema &current,
                                          const std::string &referenceFile,
                                          const std::string &currentFile,
                                          const DriftDatasetOptions &options)
{
    std::vector<PairSpec> pairs;
    if (!options.columns.empty()) {
        for (const auto &name : options.columns) {
            const int r = indexIn(reference, name), c = indexIn(current, name);
            if (r < 0 || c < 0)
                return makeError(ErrorCode::InvalidInput,
                                 "column '" + name + "' is not in " +
                                     (r < 0 ? referenceFile : currentFile));
            pairs.push_back({name, static_cast<std::size_t>(r), static_cast<std::size_t>(c)});
        }
    } else {
        for (std::size_t r = 0; r < reference.size(); ++r) {
            const auto &[name, type] = reference[r];
            const int c = indexIn(current, name);
            if (c < 0 || name == options.windowColumn || type == ColumnType::Datetime ||
                current[static_cast<std::size_t>(c)].second == ColumnType::Datetime)
                continue;
            pairs.push_back({name, r, static_cast<std::size_t>(c)});
        }
    }
    for (const auto &[name, method] : options.methods)
        if (name != "*" && std::none_of(pairs.begin(), pairs.end(),
                                        [&](const PairSpec &p) { return p.name == name; }))
            return makeError(ErrorCode::InvalidInput,
                             "--method names column '" + name + "' which is not tested");
    return pairs;
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
    {
        SB_ASSIGN_OR_RETURN(auto selected,
                            selectPairs(schemaOf(reference), schemaOf(current), reference.fileName,
                                        current.fileName, options));
        for (const auto &[name, r, c] : selected)
            pairs.push_back({name, &reference.columns[r], &current.columns[c]});
    }
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

namespace {

// One column of one file, streamed. Numerical: counts per value while the
// column has at most kFewValues distinct values, then every finite value as
// an ordered key, in parts (one per chunk). Categorical: counts per code.
class StreamedColumn
{
public:
    static constexpr std::size_t kFewValues = 4096;

    void add(const Column &column)
    {
        if (column.type == ColumnType::Categorical) {
            m_categorical = true;
            m_categories = column.categories;
            if (m_codeCounts.size() < m_categories->size())
                m_codeCounts.resize(m_categories->size(), 0.0);
            for (std::int32_t code : column.codes)
                if (code >= 0)
                    m_codeCounts[static_cast<std::size_t>(code)] += 1;
            return;
        }
        std::vector<std::uint64_t> part;
        if (m_many) // every finite value is kept: allocate the part at its size
            part.reserve(
                static_cast<std::size_t>(std::count_if(column.numbers.begin(), column.numbers.end(),
                                                       [](double v) { return std::isfinite(v); })));
        for (double v : column.numbers) {
            if (!std::isfinite(v))
                continue;
            const std::uint64_t key = orderedKey(v);
            if (m_many) {
                part.push_back(key);
                continue;
            }
            auto it = m_few.try_emplace(key, 0).first;
            ++it->second;
            if (m_few.size() > kFewValues) {
                // Too many distinct values: from here on keep every value.
                m_many = true;
                for (const auto &[k, count] : m_few)
                    part.insert(part.end(), count, k);
                m_few.clear();
            }
        }
        if (!part.empty()) {
            if (part.capacity() > part.size() + part.size() / 8)
                part.shrink_to_fit(); // the chunk that switched to keeping every value
            m_parts.push_back(std::move(part));
        }
    }

    // The sample (consumes the stored values). Sorting uses `threads`.
    DriftSample take(unsigned threads)
    {
        DriftSample sample;
        if (m_categorical) {
            sample.numerical = false;
            for (std::size_t code = 0; code < m_codeCounts.size(); ++code)
                if (m_codeCounts[code] > 0)
                    sample.categories.emplace_back((*m_categories)[code], m_codeCounts[code]);
            std::sort(sample.categories.begin(), sample.categories.end());
            return sample;
        }
        if (!m_many) {
            std::vector<std::pair<std::uint64_t, std::size_t>> counts(m_few.begin(), m_few.end());
            std::sort(counts.begin(), counts.end());
            std::size_t n = 0;
            for (const auto &c : counts)
                n += c.second;
            sample.sorted.reserve(n);
            for (const auto &[key, count] : counts)
                sample.sorted.insert(sample.sorted.end(), count, fromOrderedKey(key));
            m_few.clear();
            return sample;
        }
        std::vector<std::uint64_t> keys = sortedFromParts(m_parts, threads);
        sample.sorted.resize(keys.size());
        for (std::size_t i = 0; i < keys.size(); ++i)
            sample.sorted[i] = fromOrderedKey(keys[i]);
        return sample;
    }

private:
    bool m_categorical = false;
    bool m_many = false;
    std::unordered_map<std::uint64_t, std::size_t> m_few;
    std::vector<std::vector<std::uint64_t>> m_parts;
    std::vector<double> m_codeCounts;
    std::shared_ptr<std::vector<std::string>> m_categories;
};

struct FileProbe
{
    Schema schema;
    std::size_t estimatedRows = 0;
};

// Schema (types inferred from the first batch) and estimated row count.
Result<FileProbe> probeFile(const std::filesystem::path &path, const CsvOptions &options)
{
    SB_ASSIGN_OR_RETURN(auto reader, TypedCsvReader::open(path, options));
    FileProbe probe;
    probe.schema = reader.schema();
    Table chunk;
    SB_ASSIGN_OR_RETURN(bool any, reader.next(chunk));
    const auto consumed = reader.raw().bytesConsumed();
    if (any && consumed > 0)
        probe.estimatedRows = static_cast<std::size_t>(
            static_cast<double>(chunk.rows) * static_cast<double>(reader.raw().fileSize()) /
            static_cast<double>(consumed) * 1.05);
    return probe;
}

struct PassProgress
{
    const ProgressFn *progress = nullptr;
    std::size_t pass = 0, passes = 1;
    std::uint64_t bytesBefore = 0, totalBytes = 0; // over both files and all passes
};

// Reads `columns` (names) of one file into streamed columns.
Result<std::size_t> streamFile(const std::filesystem::path &path, CsvOptions options,
                               const std::vector<std::string> &columns,
                               std::map<std::string, StreamedColumn> &out,
                               std::map<std::string, ColumnDiagnostic> &diagnostics,
                               const CancelToken *cancel, PassProgress &progress)
{
    options.columns = columns;
    SB_ASSIGN_OR_RETURN(auto reader, TypedCsvReader::open(path, options));
    std::vector<StreamedColumn *> targets;
    for (const auto &[name, type] : reader.schema()) {
        auto it = out.find(name);
        targets.push_back(it == out.end() ? nullptr : &it->second);
    }
    const unsigned threads = options.threads == 0 ? defaultThreadCount() : options.threads;
    std::size_t rows = 0;
    Table chunk;
    while (true) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "drift cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(chunk));
        if (!more)
            break;
        parallelFor(chunk.columns.size(), threads, [&](std::size_t c) {
            if (targets[c])
                targets[c]->add(chunk.columns[c]);
        });
        rows += chunk.rows;
        if (*progress.progress && progress.totalBytes > 0) {
            const double done =
                static_cast<double>(progress.bytesBefore + reader.raw().bytesConsumed()) /
                static_cast<double>(progress.totalBytes);
            (*progress.progress)(0.9 * std::min(done, 1.0),
                                 "reading " + reader.raw().fileName() +
                                     (progress.passes > 1
                                          ? " (pass " + std::to_string(progress.pass + 1) + "/" +
                                                std::to_string(progress.passes) + ")"
                                          : std::string()) +
                                     ": " + std::to_string(rows) + " rows");
        }
    }
    progress.bytesBefore += reader.raw().fileSize();
    for (auto &d : reader.diagnostics())
        diagnostics.emplace(d.column, std::move(d));
    return rows;
}

// Streamed drift without windows (see DriftDatasetOptions::memoryLimit).
Result<DriftReport> runDriftStreamed(const std::filesystem::path &reference,
                                     const std::filesystem::path &current,
                                     const DriftDatasetOptions &options,
                                     const CsvOptions &referenceOptions,
                                     const CsvOptions &currentOptions, const CancelToken *cancel,
                                     const ProgressFn &progress)
{
    CsvOptions probeRef = referenceOptions, probeCur = currentOptions;
    SB_ASSIGN_OR_RETURN(FileProbe ref, probeFile(reference, probeRef));
    SB_ASSIGN_OR_RETURN(FileProbe cur, probeFile(current, probeCur));
    SB_ASSIGN_OR_RETURN(auto pairs, selectPairs(ref.schema, cur.schema, reference.string(),
                                                current.string(), options));
    // Groups of columns whose stored values fit the limit: 8 bytes per
    // finite value on both sides, plus one column's sort scratch and the
    // reader's buffers.
    const std::size_t limit = options.memoryLimit ? options.memoryLimit : defaultMemoryLimit();
    const std::size_t overhead =
        8 * std::max<std::size_t>(currentOptions.batchBytes, 1 << 20) + (std::size_t(96) << 20);
    const std::size_t budget = limit > overhead ? limit - overhead : limit / 4;
    std::vector<std::vector<std::size_t>> groups;
    std::size_t used = 0, largest = 0;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
        const bool numerical = ref.schema[pairs[i].reference].second != ColumnType::Categorical ||
                               cur.schema[pairs[i].current].second != ColumnType::Categorical;
        const std::size_t need = numerical ? 8 * (ref.estimatedRows + cur.estimatedRows) : 0;
        const std::size_t scratch =
            numerical ? 8 * std::max(ref.estimatedRows, cur.estimatedRows) : 0;
        if (groups.empty() || used + need + std::max(largest, scratch) > budget) {
            if (groups.empty() || !groups.back().empty()) {
                groups.emplace_back();
                used = largest = 0;
            }
        }
        groups.back().push_back(i);
        used += need;
        largest = std::max(largest, scratch);
    }
    if (groups.empty())
        groups.emplace_back();

    DriftReport report;
    report.referenceFile = reference.string();
    report.currentFile = current.string();
    report.columns.resize(pairs.size());
    std::map<std::string, ColumnDiagnostic> refDiagnostics, curDiagnostics;
    const unsigned threads =
        currentOptions.threads == 0 ? defaultThreadCount() : currentOptions.threads;
    PassProgress passProgress;
    passProgress.progress = &progress;
    passProgress.passes = groups.size();
    passProgress.totalBytes = groups.size() * (std::filesystem::file_size(reference) +
                                               std::filesystem::file_size(current));
    for (std::size_t g = 0; g < groups.size(); ++g) {
        passProgress.pass = g;
        std::map<std::string, StreamedColumn> refColumns, curColumns;
        std::vector<std::string> refNames, curNames;
        for (std::size_t i : groups[g]) {
            refColumns[pairs[i].name];
            curColumns[pairs[i].name];
            refNames.push_back(pairs[i].name);
            curNames.push_back(pairs[i].name);
        }
        if (g == 0 && options.columns.empty()) {
            // The first pass also converts the columns not tested, for their
            // diagnostics (their values are not kept).
            for (const auto &[name, type] : ref.schema)
                if (std::find(refNames.begin(), refNames.end(), name) == refNames.end() &&
                    std::none_of(pairs.begin(), pairs.end(),
                                 [&](const PairSpec &p) { return p.name == name; }))
                    refNames.push_back(name);
            for (const auto &[name, type] : cur.schema)
                if (std::find(curNames.begin(), curNames.end(), name) == curNames.end() &&
                    std::none_of(pairs.begin(), pairs.end(),
                                 [&](const PairSpec &p) { return p.name == name; }))
                    curNames.push_back(name);
        }
        SB_ASSIGN_OR_RETURN(report.referenceRows,
                            streamFile(reference, referenceOptions, refNames, refColumns,
                                       refDiagnostics, cancel, passProgress));
        SB_ASSIGN_OR_RETURN(report.currentRows,
                            streamFile(current, currentOptions, curNames, curColumns,
                                       curDiagnostics, cancel, passProgress));
        for (std::size_t i : groups[g]) {
            if (cancel && cancel->isCancelled())
                return makeError(ErrorCode::Cancelled, "drift cancelled");
            if (progress)
                progress(
                    0.9 * static_cast<double>(passProgress.bytesBefore) /
                        static_cast<double>(std::max<std::uint64_t>(passProgress.totalBytes, 1)),
                    "testing column " + pairs[i].name + ": " + std::to_string(report.currentRows) +
                        " rows");
            const std::string &name = pairs[i].name;
            DriftSample refSample = refColumns[name].take(threads);
            DriftSample curSample = curColumns[name].take(threads);
            report.columns[i] =
                computeColumnDrift(name, refSample, curSample,
                                   lookup(options.methods, name).value_or(DriftMethod::Auto),
                                   lookup(options.thresholds, name));
        }
    }
    report.summary = summarizeDrift(report.columns, options.datasetShare);
    // Diagnostics in file order: the reference's columns, then the current's.
    for (const auto &[name, type] : ref.schema)
        if (auto it = refDiagnostics.find(name); it != refDiagnostics.end())
            report.diagnostics.push_back(it->second);
    for (const auto &[name, type] : cur.schema)
        if (auto it = curDiagnostics.find(name); it != curDiagnostics.end())
            report.diagnostics.push_back(it->second);
    if (progress)
        progress(1.0, "drift");
    return report;
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
    if (options.window.empty()) {
        // Streamed: all columns are read (the selection happens on the schemas).
        referenceOptions.columns.clear();
        currentOptions.columns.clear();
        // Small batches: the kept values are most of the memory, and the
        // reader holds a batch, its chunk and the chunk read ahead.
        referenceOptions.batchBytes = std::min<std::size_t>(referenceOptions.batchBytes, 4 << 20);
        currentOptions.batchBytes = std::min<std::size_t>(currentOptions.batchBytes, 4 << 20);
        return runDriftStreamed(reference, current, options, referenceOptions, currentOptions,
                                cancel, progress);
    }
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
