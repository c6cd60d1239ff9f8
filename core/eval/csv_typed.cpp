#include "core/eval/csv_detail.h"

#include "core/eval/parallel.h"

#include <algorithm>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
namespace sb::eval {

using csv_detail::isNanText;
using csv_detail::ParseError;
using csv_detail::parsePlainDecimalPadded;
using csv_detail::parseRows;
using csv_detail::parseRowsUnquoted;
using csv_detail::trimBlanks;

const char *columnTypeName(ColumnType type)
{
    switch (type) {
    case ColumnType::Numerical:
        return "numerical";
    case ColumnType::Categorical:
        return "categorical";
    case ColumnType::Datetime:
        return "datetime";
    }
    return "?";
}

bool Column::isMissing(std::size_t row) const
{
    if (type == ColumnType::Categorical)
        return codes[row] < 0;
    return std::isnan(numbers[row]);
}

std::string Column::text(std::size_t row) const
{
    if (isMissing(row))
        return {};
    switch (type) {
    case ColumnType::Categorical:
        return (*categories)[static_cast<std::size_t>(codes[row])];
    case ColumnType::Datetime:
        return formatIsoDatetime(numbers[row]);
    case ColumnType::Numerical:
        return formatNumber(numbers[row]);
    }
    return {};
}

int Table::columnIndex(std::string_view name) const
{
    for (std::size_t i = 0; i < columns.size(); ++i)
        if (columns[i].name == name)
            return static_cast<int>(i);
    return -1;
}

const Column *Table::column(std::string_view name) const
{
    int i = columnIndex(name);
    return i < 0 ? nullptr : &columns[static_cast<std::size_t>(i)];
}

namespace {

struct StringViewHash
{
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// Counts behind a column's diagnostics, for one stretch of rows.
struct ValueCounts
{
    std::uint64_t rows = 0, empty = 0, nan = 0, unparseable = 0, values = 0;
    std::uint64_t firstBadLine = 0;
    std::string firstBadValue;

    void noteBad(std::string_view f, std::uint64_t line)
    {
        if (unparseable++ == 0) {
            firstBadLine = line;
            firstBadValue = std::string(f);
        }
    }
    // Adds the counts of the rows that follow this stretch.
    void append(const ValueCounts &later)
    {
        if (unparseable == 0 && later.unparseable > 0) {
            firstBadLine = later.firstBadLine;
            firstBadValue = later.firstBadValue;
        }
        rows += later.rows;
        empty += later.empty;
        nan += later.nan;
        unparseable += later.unparseable;
        values += later.values;
    }
};

struct ColumnState
{
    std::string name;
    int fileIndex = 0;
    ColumnType type = ColumnType::Numerical;
    bool forced = false;
    std::shared_ptr<std::vector<std::string>> categories;
    std::unordered_map<std::string, std::int32_t, StringViewHash, std::equal_to<>> codeOf;
    ValueCounts counts; // for diagnostics
    // From inference over the first batch.
    std::uint64_t inferNumbers = 0, inferText = 0, inferDates = 0;
    std::uint64_t firstTextLine = 0;
    std::string firstText;
};

// Categories of one stretch of rows, in order of first appearance there
// (views into the batch buffer); codes are local until merged.
class LocalDictionary
{
public:
    std::int32_t code(std::string_view text)
    {
        if (m_index.empty()) {
            // Few categories: a linear scan beats hashing the text.
            for (std::size_t i = 0; i < m_texts.size(); ++i)
                if (m_texts[i] == text)
                    return static_cast<std::int32_t>(i);
            m_texts.push_back(text);
            if (m_texts.size() == kLinear)
                for (std::size_t i = 0; i < m_texts.size(); ++i)
                    m_index.emplace(m_texts[i], static_cast<std::int32_t>(i));
            return static_cast<std::int32_t>(m_texts.size() - 1);
        }
        auto [it, added] = m_index.try_emplace(text, static_cast<std::int32_t>(m_texts.size()));
        if (added)
            m_texts.push_back(text);
        return it->second;
    }
    const std::vector<std::string_view> &texts() const { return m_texts; }

private:
    static constexpr std::size_t kLinear = 16;
    std::vector<std::string_view> m_texts;
    std::unordered_map<std::string_view, std::int32_t> m_index;
};

// Converts n fields of a numerical or datetime column (field r at
// fields[r * stride], its row on line lines[r]) into out; NaN = missing.
void convertNumbers(bool dates, const char *data, const CsvFieldRef *fields, std::size_t stride,
                    const std::uint64_t *lines, std::size_t n, double *out, ValueCounts &counts)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // Counted in registers: a counter in memory would chain every row on a
    // store and a reload.
    std::uint64_t values = 0;
    for (std::size_t r = 0; r < n; ++r) {
        const CsvFieldRef ref = fields[r * stride];
        const std::string_view f(data + ref.offset, ref.length);
        double v;
        if (!dates && !f.empty() &&
            parsePlainDecimalPadded(f.data(), f.data() + f.size(), out[r])) {
            ++values; // a plain decimal is never NaN: nothing waits for the division
        } else if (f.empty()) {
            ++counts.empty;
            out[r] = nan;
        } else if (dates ? parseIsoDatetime(f, v) : parseCsvNumber(f, v)) {
            if (std::isnan(v))
                ++counts.nan;
            else
                ++values;
            out[r] = v;
        } else if (trimBlanks(f).empty()) {
            ++counts.empty;
            out[r] = nan;
        } else if (isNanText(f)) {
            ++counts.nan;
            out[r] = nan;
        } else {
            counts.noteBad(f, lines[r]);
            out[r] = nan;
        }
    }
    counts.values += values;
    counts.rows += n;
}

// Categorical: codes in `dictionary` (-1 = missing).
void convertCodes(const char *data, const CsvFieldRef *fields, std::size_t stride, std::size_t n,
                  std::int32_t *out, LocalDictionary &dictionary, ValueCounts &counts)
{
    std::uint64_t values = 0;
    for (std::size_t r = 0; r < n; ++r) {
        const CsvFieldRef ref = fields[r * stride];
        const std::string_view f(data + ref.offset, ref.length);
        if (f.empty()) {
            ++counts.empty;
            out[r] = -1;
        } else if (isNanText(f)) {
            ++counts.nan;
            out[r] = -1;
        } else {
            out[r] = dictionary.code(f);
            ++values;
        }
    }
    counts.values += values;
    counts.rows += n;
}

} // namespace

struct TypedCsvReader::Impl
{
    CsvReader raw;
    CsvOptions options;
    std::vector<ColumnState> state;
    std::vector<std::pair<std::string, ColumnType>> schema;
    CsvBatch batch;
    bool pending = false; // batch holds the first rows, not yet returned
    bool done = false;

    explicit Impl(CsvReader reader) : raw(std::move(reader)) {}

    Status setup(const CsvOptions &opts)
    {
        options = opts;
        const auto &header = raw.header();
        auto checkNames = [&](const std::vector<std::string> &names, const char *what) -> Status {
            for (const auto &n : names)
                if (raw.columnIndex(n) < 0)
                    return makeError(ErrorCode::InvalidInput, raw.fileName() + ": " + what +
                                                                  " column '" + n +
                                                                  "' is not in the header");
            return Status::success();
        };
        SB_TRY(checkNames(options.columns, "requested"));
        SB_TRY(checkNames(options.categorical, "--categorical"));
        SB_TRY(checkNames(options.datetime, "--datetime"));
        for (std::size_t i = 0; i < header.size(); ++i) {
            if (!options.columns.empty() &&
                std::find(options.columns.begin(), options.columns.end(), header[i]) ==
                    options.columns.end())
                continue;
            ColumnState s;
            s.name = header[i];
            s.fileIndex = static_cast<int>(i);
            s.categories = std::make_shared<std::vector<std::string>>();
            state.push_back(std::move(s));
        }
        SB_ASSIGN_OR_RETURN(bool any, raw.next(batch));
        pending = any;
        done = !any;
        for (auto &s : state)
            infer(s);
        for (const auto &s : state)
            schema.emplace_back(s.name, s.type);
        return Status::success();
    }

    void infer(ColumnState &s)
    {
        const bool forcedCat = std::find(options.categorical.begin(), options.categorical.end(),
                                         s.name) != options.categorical.end();
        const bool forcedDate = std::find(options.datetime.begin(), options.datetime.end(),
                                          s.name) != options.datetime.end();
        for (std::size_t r = 0; r < batch.rows; ++r) {
            std::string_view f = batch.field(r, static_cast<std::size_t>(s.fileIndex));
            if (trimBlanks(f).empty() || isNanText(f))
                continue;
            double v;
            if (parsePlainDecimalPadded(f.data(), f.data() + f.size(), v) || parseCsvNumber(f, v)) {
                ++s.inferNumbers;
            } else if (parseIsoDatetime(f, v)) {
                ++s.inferDates;
            } else {
                if (s.inferText++ == 0) {
                    s.firstText = std::string(f);
                    s.firstTextLine = batch.line(r);
                }
            }
        }
        s.forced = forcedCat || forcedDate;
        if (forcedCat)
            s.type = ColumnType::Categorical;
        else if (forcedDate)
            s.type = ColumnType::Datetime;
        else if (s.inferText == 0 && s.inferDates == 0)
            s.type = ColumnType::Numerical; // includes all-empty / all-NaN columns
        else if (s.inferText == 0 && s.inferNumbers == 0)
            s.type = ColumnType::Datetime;
        else
            s.type = ColumnType::Categorical;
    }

    // Rows of one slice of a batch, converted on one thread.
    struct SliceResult
    {
        std::size_t rows = 0;
        ParseError error;
        std::vector<ValueCounts> counts;           // per column of state
        std::vector<LocalDictionary> dictionaries; // per categorical column
    };

    // Converts the rows of `bounds.size()` slices into chunk, slice s holding
    // at most bounds[s] rows, on the reader's threads (a slice per item):
    // produce(s, error, emit) calls emit(fields, lines, n) for each run of
    // n parsed rows of slice s, in order (fields row-major, all columns of
    // the file). Slices are then joined in row order: categories get their
    // global codes in order of first appearance, counts add up.
    // convertSlices() is sliceRows() then joinSlices(); the first part only
    // reads the reader's state, so it may run ahead of the caller.
    struct SlicedRows
    {
        std::vector<std::size_t> base; // slice s fills rows [base[s], base[s] + bound)
        std::vector<SliceResult> results;
    };

    template <typename Produce>
    Status convertSlices(const char *data, const std::vector<std::size_t> &bounds, Table &chunk,
                         Produce &&produce)
    {
        SlicedRows rows = sliceRows(data, bounds, chunk, produce);
        return joinSlices(rows, chunk);
    }

    template <typename Produce>
    SlicedRows sliceRows(const char *data, const std::vector<std::size_t> &bounds, Table &chunk,
                         Produce &&produce) const
    {
        const std::size_t slices = bounds.size();
        const std::size_t stride = raw.header().size();
        SlicedRows sliced;
        std::vector<std::size_t> &base = sliced.base;
        base.assign(slices + 1, 0);
        for (std::size_t s = 0; s < slices; ++s)
            base[s + 1] = base[s] + bounds[s];
        const std::size_t total = base[slices];
        for (std::size_t k = 0; k < state.size(); ++k) {
            Column &out = chunk.columns[k];
            out.name = state[k].name;
            out.type = state[k].type;
            out.categories = state[k].categories;
            out.numbers.clear();
            out.codes.clear();
            if (out.type == ColumnType::Categorical)
                out.codes.resize(total);
            else
                out.numbers.resize(total);
        }
        chunk.lines.resize(total);
        std::vector<SliceResult> &results = sliced.results;
        results.resize(slices);
        const unsigned threads = options.threads ? options.threads : defaultThreadCount();
        parallelFor(slices, threads, [&](std::size_t s) {
            SliceResult &result = results[s];
            result.counts.resize(state.size());
            result.dictionaries.resize(state.size());
            std::size_t at = base[s];
            produce(s, result.error,
                    [&](const CsvFieldRef *fields, const std::uint64_t *lines, std::size_t n) {
                        for (std::size_t k = 0; k < state.size(); ++k) {
                            const ColumnState &column = state[k];
                            const CsvFieldRef *first =
                                fields + static_cast<std::size_t>(column.fileIndex);
                            if (column.type == ColumnType::Categorical)
                                convertCodes(data, first, stride, n,
                                             chunk.columns[k].codes.data() + at,
                                             result.dictionaries[k], result.counts[k]);
                            else
                                convertNumbers(
                                    column.type == ColumnType::Datetime, data, first, stride, lines,
                                    n, chunk.columns[k].numbers.data() + at, result.counts[k]);
                        }
                        std::copy(lines, lines + n,
                                  chunk.lines.begin() + static_cast<std::ptrdiff_t>(at));
                        at += n;
                    });
            result.rows = at - base[s];
        });
        return sliced;
    }

    Status joinSlices(const SlicedRows &sliced, Table &chunk)
    {
        const std::vector<std::size_t> &base = sliced.base;
        const std::vector<SliceResult> &results = sliced.results;
        const std::size_t slices = results.size();
        const unsigned threads = options.threads ? options.threads : defaultThreadCount();
        for (const auto &result : results)
            if (result.error.failed)
                return makeError(ErrorCode::InvalidInput, raw.m_impl->errorText(result.error));

        // Global codes: each slice's categories in order, new ones appended.
        for (std::size_t k = 0; k < state.size(); ++k) {
            ColumnState &column = state[k];
            for (std::size_t s = 0; s < slices; ++s)
                column.counts.append(results[s].counts[k]);
            if (column.type != ColumnType::Categorical)
                continue;
            std::vector<std::vector<std::int32_t>> globalOf(slices);
            for (std::size_t s = 0; s < slices; ++s) {
                for (std::string_view text : results[s].dictionaries[k].texts()) {
                    auto it = column.codeOf.find(text);
                    if (it == column.codeOf.end()) {
                        auto code = static_cast<std::int32_t>(column.categories->size());
                        column.categories->emplace_back(text);
                        it = column.codeOf.emplace(std::string(text), code).first;
                    }
                    globalOf[s].push_back(it->second);
                }
            }
            parallelFor(slices, threads, [&](std::size_t s) {
                const std::vector<std::int32_t> &map = globalOf[s];
                bool identity = true;
                for (std::size_t i = 0; i < map.size(); ++i)
                    identity &= map[i] == static_cast<std::int32_t>(i);
                if (identity)
                    return;
                std::int32_t *codes = chunk.columns[k].codes.data() + base[s];
                for (std::size_t r = 0; r < results[s].rows; ++r)
                    if (codes[r] >= 0)
                        codes[r] = map[static_cast<std::size_t>(codes[r])];
            });
        }

        // Close the gaps of slices with fewer rows than their bound.
        std::size_t rows = 0;
        for (std::size_t s = 0; s < slices; ++s) {
            const std::size_t n = results[s].rows;
            if (rows != base[s] && n > 0) {
                auto move = [&](auto &values) {
                    std::copy(values.begin() + static_cast<std::ptrdiff_t>(base[s]),
                              values.begin() + static_cast<std::ptrdiff_t>(base[s] + n),
                              values.begin() + static_cast<std::ptrdiff_t>(rows));
                };
                for (Column &out : chunk.columns) {
                    if (out.type == ColumnType::Categorical)
                        move(out.codes);
                    else
                        move(out.numbers);
                }
                move(chunk.lines);
            }
            rows += n;
        }
        for (Column &out : chunk.columns) {
            if (out.type == ColumnType::Categorical)
                out.codes.resize(rows);
            else
                out.numbers.resize(rows);
        }
        chunk.lines.resize(rows);
        chunk.rows = rows;
        return Status::success();
    }

    // The first batch, already split into `batch` (for the type inference).
    Status convertPending(Table &chunk)
    {
        const unsigned threads = options.threads ? options.threads : defaultThreadCount();
        const std::size_t parts =
            batch.rows < 4096 ? 1 : std::min<std::size_t>(batch.rows / 2048, 2 * threads);
        std::vector<std::size_t> bounds(parts);
        for (std::size_t p = 0; p < parts; ++p)
            bounds[p] = batch.rows * (p + 1) / parts - batch.rows * p / parts;
        return convertSlices(batch.data, bounds, chunk,
                             [&](std::size_t p, ParseError &, auto &&emit) {
                                 const std::size_t begin = batch.rows * p / parts;
                                 emit(batch.fields.data() + begin * batch.columns,
                                      batch.lines.data() + begin, bounds[p]);
                             });
    }

    // The next batch, split and converted but not yet joined (see Ahead).
    struct Ahead
    {
        std::thread thread;
        Status status;
        bool end = false;
        SlicedRows rows;
        Table table;
        std::uint64_t consumed = 0; // the raw reader's bytes after this batch
    };
    Ahead ahead;
    bool prefetch = false; // a batch is being read ahead on ahead.thread

    ~Impl()
    {
        if (ahead.thread.joinable())
            ahead.thread.join();
    }

    // Reads, splits and converts the next batch into ahead (each thread
    // parses runs of rows of its slice and converts them while they are in
    // cache). Runs on ahead.thread: touches only the raw reader and ahead;
    // the categories are given codes by joinSlices(), on the caller's thread.
    Status sliceNext()
    {
        CsvReader::Impl &in = *raw.m_impl;
        while (true) {
            SB_ASSIGN_OR_RETURN(CsvReader::Impl::SlicePlan plan, in.planBatch());
            if (plan.cut == 0) {
                ahead.end = true;
                return Status::success();
            }
            std::vector<std::size_t> bounds(plan.slices());
            for (std::size_t s = 0; s < bounds.size(); ++s)
                bounds[s] = plan.start[s] < plan.start[s + 1] ? plan.rowBound(s) : 0;
            char *data = in.buf.data();
            const std::size_t expected = raw.header().size();
            const char delimiter = in.options.delimiter;
            ahead.rows = sliceRows(
                data, bounds, ahead.table, [&](std::size_t s, ParseError &error, auto &&emit) {
                    constexpr std::size_t kRunRows = 1024; // a run's fields and text stay in L2
                    std::vector<CsvFieldRef> fields;
                    std::vector<std::uint64_t> lines;
                    fields.reserve(kRunRows * expected);
                    lines.reserve(kRunRows);
                    std::size_t pos = plan.start[s];
                    std::uint64_t line = plan.startLine[s];
                    while (pos < plan.start[s + 1]) {
                        fields.clear();
                        lines.clear();
                        pos = (plan.quoteFree ? parseRowsUnquoted : parseRows)(
                            data, pos, plan.start[s + 1], line, delimiter, expected, kRunRows,
                            fields, lines, error);
                        if (error.failed)
                            return;
                        if (!lines.empty())
                            emit(fields.data(), lines.data(), lines.size());
                    }
                });
            in.finishBatch(plan);
            ahead.consumed = in.consumed;
            bool any = false;
            for (const auto &result : ahead.rows.results)
                any |= result.rows > 0 || result.error.failed;
            if (any) // else only blank lines: read on
                return Status::success();
        }
    }

    void startAhead()
    {
        ahead.end = false;
        ahead.table.columns.resize(state.size());
        ahead.thread = std::thread([this] { ahead.status = sliceNext(); });
    }

    Result<bool> next(Table &chunk)
    {
        chunk.fileName = raw.fileName();
        chunk.diagnostics.clear();
        chunk.rows = 0;
        chunk.lines.clear();
        chunk.columns.resize(state.size());
        if (done)
            return false;
        if (pending) {
            pending = false;
            SB_TRY(convertPending(chunk));
            return true;
        }
        // The second and later batches: the one read ahead while the caller
        // worked on the previous chunk (from the third on; a caller reading
        // only the first chunk costs no extra batch).
        if (!prefetch)
            startAhead();
        ahead.thread.join();
        prefetch = false;
        Status status = std::move(ahead.status);
        ahead.status = Status::success();
        if (status.ok() && !ahead.end)
            status = joinSlices(ahead.rows, ahead.table);
        if (!status.ok() || ahead.end) {
            done = true;
            for (auto &col : chunk.columns) {
                col.numbers.clear();
                col.codes.clear();
            }
            if (!status.ok())
                return status.error();
            return false;
        }
        std::swap(chunk.columns, ahead.table.columns);
        std::swap(chunk.lines, ahead.table.lines);
        chunk.rows = ahead.table.rows;
        raw.m_impl->reported = ahead.consumed;
        startAhead();
        prefetch = true;
        return true;
    }

    std::vector<ColumnDiagnostic> diagnostics() const
    {
        std::vector<ColumnDiagnostic> out;
        const std::string &file = raw.fileName();
        for (const auto &s : state) {
            const std::string prefix = file + ": column '" + s.name + "': ";
            if (s.counts.rows > 0 && s.counts.empty == s.counts.rows) {
                out.push_back(
                    {s.name, "empty",
                     prefix + "all " + std::to_string(s.counts.rows) + " values are empty"});
                continue;
            }
            if (s.counts.rows > 0 && s.counts.values == 0 && s.counts.unparseable == 0 &&
                s.counts.nan > 0) {
                out.push_back({s.name, "all_nan",
                               prefix + "no value other than NaN (" + std::to_string(s.counts.nan) +
                                   " NaN, " + std::to_string(s.counts.empty) + " empty)"});
                continue;
            }
            if (!s.forced && s.type == ColumnType::Categorical && s.inferNumbers > 0 &&
                (s.inferText > 0 || s.inferDates > 0)) {
                out.push_back({s.name, "mixed_types",
                               prefix + "mixes numbers (" + std::to_string(s.inferNumbers) +
                                   ") and text (" + std::to_string(s.inferText + s.inferDates) +
                                   ", first '" + s.firstText + "' on line " +
                                   std::to_string(s.firstTextLine) +
                                   ") in the first rows; read as categorical"});
            }
            if (s.counts.unparseable > 0) {
                const bool numerical = s.type == ColumnType::Numerical;
                out.push_back({s.name, numerical && !s.forced ? "mixed_types" : "unparseable",
                               prefix + "is " + columnTypeName(s.type) + " but " +
                                   std::to_string(s.counts.unparseable) + " value" +
                                   (s.counts.unparseable == 1 ? " is" : "s are") + " not " +
                                   (numerical ? "numbers" : "ISO 8601 dates") + " (first '" +
                                   s.counts.firstBadValue + "' on line " +
                                   std::to_string(s.counts.firstBadLine) +
                                   "); treated as missing"});
            }
        }
        return out;
    }
};

TypedCsvReader::TypedCsvReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
TypedCsvReader::TypedCsvReader(TypedCsvReader &&) noexcept = default;
TypedCsvReader &TypedCsvReader::operator=(TypedCsvReader &&) noexcept = default;
TypedCsvReader::~TypedCsvReader() = default;

Result<TypedCsvReader> TypedCsvReader::open(const std::filesystem::path &path,
                                            const CsvOptions &options)
{
    SB_ASSIGN_OR_RETURN(CsvReader raw, CsvReader::open(path, options));
    auto impl = std::make_unique<Impl>(std::move(raw));
    SB_TRY(impl->setup(options));
    return TypedCsvReader(std::move(impl));
}

Result<TypedCsvReader> TypedCsvReader::fromString(std::string text, std::string name,
                                                  const CsvOptions &options)
{
    SB_ASSIGN_OR_RETURN(CsvReader raw,
                        CsvReader::fromString(std::move(text), std::move(name), options));
    auto impl = std::make_unique<Impl>(std::move(raw));
    SB_TRY(impl->setup(options));
    return TypedCsvReader(std::move(impl));
}

const std::vector<std::pair<std::string, ColumnType>> &TypedCsvReader::schema() const
{
    return m_impl->schema;
}
CsvReader &TypedCsvReader::raw()
{
    return m_impl->raw;
}
Result<bool> TypedCsvReader::next(Table &chunk)
{
    return m_impl->next(chunk);
}
std::vector<ColumnDiagnostic> TypedCsvReader::diagnostics() const
{
    return m_impl->diagnostics();
}

static Result<Table> readAll(TypedCsvReader &reader, const CsvOptions &options,
                             const CancelToken *cancel, const ProgressFn &progress)
{
    Table table;
    table.fileName = reader.raw().fileName();
    std::vector<int> target; // chunk column -> table column or -1 (not kept)
    for (const auto &[name, type] : reader.schema()) {
        if (!options.keep.empty() &&
            std::find(options.keep.begin(), options.keep.end(), name) == options.keep.end()) {
            target.push_back(-1);
            continue;
        }
        target.push_back(static_cast<int>(table.columns.size()));
        Column c;
        c.name = name;
        c.type = type;
        table.columns.push_back(std::move(c));
    }
    Table chunk;
    while (true) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, table.fileName + ": reading cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(chunk));
        if (!more)
            break;
        for (std::size_t i = 0; i < chunk.columns.size(); ++i) {
            if (target[i] < 0)
                continue;
            Column &dst = table.columns[static_cast<std::size_t>(target[i])];
            Column &src = chunk.columns[i];
            dst.categories = src.categories;
            if (table.rows == 0) {
                dst.numbers.swap(src.numbers);
                dst.codes.swap(src.codes);
                // Reserve for the whole file, estimated from the first chunk,
                // so large files are not copied on every growth step.
                const auto consumed = reader.raw().bytesConsumed();
                const auto size = reader.raw().fileSize();
                if (consumed > 0 && size > consumed) {
                    const auto estimate = static_cast<std::size_t>(
                        static_cast<double>(chunk.rows) * static_cast<double>(size) /
                        static_cast<double>(consumed) * 1.02);
                    if (dst.type == ColumnType::Categorical)
                        dst.codes.reserve(estimate);
                    else
                        dst.numbers.reserve(estimate);
                }
            } else {
                dst.numbers.insert(dst.numbers.end(), src.numbers.begin(), src.numbers.end());
                dst.codes.insert(dst.codes.end(), src.codes.begin(), src.codes.end());
            }
        }
        if (options.rowLines)
            table.lines.insert(table.lines.end(), chunk.lines.begin(), chunk.lines.end());
        table.rows += chunk.rows;
        if (progress && reader.raw().fileSize() > 0)
            progress(static_cast<double>(reader.raw().bytesConsumed()) /
                         static_cast<double>(reader.raw().fileSize()),
                     "reading " + table.fileName);
    }
    for (auto &c : table.columns)
        if (!c.categories)
            c.categories = std::make_shared<std::vector<std::string>>();
    table.diagnostics = reader.diagnostics();
    return table;
}

Result<Table> readCsv(const std::filesystem::path &path, const CsvOptions &options,
                      const CancelToken *cancel, const ProgressFn &progress)
{
    SB_ASSIGN_OR_RETURN(TypedCsvReader reader, TypedCsvReader::open(path, options));
    return readAll(reader, options, cancel, progress);
}

Result<Table> readCsvString(std::string text, std::string name, const CsvOptions &options)
{
    SB_ASSIGN_OR_RETURN(TypedCsvReader reader,
                        TypedCsvReader::fromString(std::move(text), std::move(name), options));
    return readAll(reader, options, nullptr, {});
}

} // namespace sb::eval
