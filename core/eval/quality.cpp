#include "core/eval/quality.h"

#include "core/eval/memory_limit.h"
#include "core/eval/parallel.h"
#include "core/eval/pii.h"
#include "core/eval/radix_sort.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

namespace sb::eval {

namespace {

constexpr std::uint64_t kMissingHash = 0x6d697373696e6721ULL;

std::uint64_t mix64(std::uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

std::uint64_t numberKey(double v)
{
    if (v == 0.0)
        v = 0.0; // -0 == +0
    return std::bit_cast<std::uint64_t>(v);
}

std::uint64_t hashNumber(double v)
{
    if (std::isnan(v))
        return kMissingHash;
    return mix64(numberKey(v) ^ 0x4e554d4245520000ULL);
}

std::uint64_t hashText(std::string_view text)
{
    // A text that is a number hashes like that number, so a value typed as
    // numerical in one file and categorical in another still compares equal.
    double number = 0.0;
    if (parseCsvNumber(text, number) && !std::isnan(number))
        return hashNumber(number);
    std::uint64_t h = 1469598103934665603ULL; // FNV-1a
    for (unsigned char c : text) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    return mix64(h ^ 0x5445585400000000ULL);
}

std::uint64_t combine(std::uint64_t seed, std::uint64_t value)
{
    return mix64(seed * 0x9E3779B97F4A7C15ULL + value);
}

// Open-addressing set of 64-bit keys (exact distinct count) up to a limit.
class ExactSet
{
public:
    explicit ExactSet(std::size_t limit) : m_limit(limit) {}
    // false once the limit is exceeded (the set is then dropped)
    bool insert(std::uint64_t key)
    {
        if (m_overflow)
            return false;
        if (key == 0) {
            if (!m_hasZero) {
                m_hasZero = true;
                ++m_size;
            }
            return true;
        }
        if ((m_size + 1) * 2 > m_slots.size()) {
            if (m_size + 1 > m_limit) {
                m_overflow = true;
                m_slots.clear();
                m_slots.shrink_to_fit();
                return false;
            }
            grow();
        }
        std::size_t mask = m_slots.size() - 1;
        for (std::size_t i = mix64(key) & mask;; i = (i + 1) & mask) {
            if (m_slots[i] == key)
                return true;
            if (m_slots[i] == 0) {
                m_slots[i] = key;
                ++m_size;
                return true;
            }
        }
    }
    bool overflow() const { return m_overflow; }
    std::size_t size() const { return m_size; }

private:
    void grow()
    {
        std::vector<std::uint64_t> old = std::move(m_slots);
        m_slots.assign(std::max<std::size_t>(64, old.size() * 2), 0);
        std::size_t mask = m_slots.size() - 1;
        for (std::uint64_t key : old) {
            if (key == 0)
                continue;
            std::size_t i = mix64(key) & mask;
            while (m_slots[i] != 0)
                i = (i + 1) & mask;
            m_slots[i] = key;
        }
    }
    std::vector<std::uint64_t> m_slots;
    std::size_t m_limit;
    std::size_t m_size = 0;
    bool m_hasZero = false;
    bool m_overflow = false;
};

// HyperLogLog with 2^16 registers (standard error ~0.4%).
class HyperLogLog
{
public:
    HyperLogLog() : m_registers(std::size_t(1) << kBits, 0) {}
    void add(std::uint64_t key)
    {
        std::uint64_t h = mix64(key ^ 0x484c4c0000000000ULL);
        std::size_t index = h >> (64 - kBits);
        std::uint64_t rest = (h << kBits) | (std::uint64_t(1) << (kBits - 1));
        auto rank = static_cast<std::uint8_t>(std::countl_zero(rest) + 1);
        m_registers[index] = std::max(m_registers[index], rank);
    }
    double estimate() const
    {
        const double m = static_cast<double>(m_registers.size());
        double sum = 0.0;
        std::size_t zeros = 0;
        for (auto r : m_registers) {
            sum += std::ldexp(1.0, -r);
            zeros += r == 0;
        }
        double alpha = 0.7213 / (1.0 + 1.079 / m);
        double e = alpha * m * m / sum;
        if (e <= 2.5 * m && zeros > 0)
            e = m * std::log(m / static_cast<double>(zeros));
        return e;
    }

private:
    static constexpr int kBits = 16;
    std::vector<std::uint8_t> m_registers;
};

struct ColumnAccumulator
{
    std::string name;
    ColumnType type = ColumnType::Numerical;
    std::size_t missing = 0;
    std::size_t present = 0;
    // numerical / datetime
    double min = std::numeric_limits<double>::infinity();
    double max = -std::numeric_limits<double>::infinity();
    long double sum = 0.0L;
    ExactSet exact;
    HyperLogLog hll;
    std::size_t cardMatches = 0; // integer values that are valid card numbers
    // categorical
    std::vector<std::size_t> codeCounts;
    std::vector<std::uint64_t> codeHashes;
    std::shared_ptr<std::vector<std::string>> categories;

    explicit ColumnAccumulator(std::size_t limit) : exact(limit) {}

    void add(const Column &column)
    {
        if (column.type == ColumnType::Categorical) {
            categories = column.categories;
            std::size_t dictionary = categories ? categories->size() : 0;
            if (codeCounts.size() < dictionary)
                codeCounts.resize(dictionary, 0);
            for (std::size_t i = codeHashes.size(); i < dictionary; ++i)
                codeHashes.push_back(hashText((*categories)[i]));
            for (std::int32_t code : column.codes) {
                if (code < 0) {
                    ++missing;
                } else {
                    ++present;
                    ++codeCounts[static_cast<std::size_t>(code)];
                }
            }
            return;
        }
        for (double v : column.numbers) {
            if (std::isnan(v)) {
                ++missing;
                continue;
            }
            ++present;
            min = std::min(min, v);
            max = std::max(max, v);
            sum += v;
            std::uint64_t key = numberKey(v);
            if (!exact.overflow())
                exact.insert(key);
            hll.add(key);
            if (type == ColumnType::Numerical && v >= 1e11 && v < 9007199254740992.0 &&
                v == std::floor(v)) {
                char digits[32];
                std::snprintf(digits, sizeof(digits), "%.0f", v);
                if (isCreditCardNumber(digits))
                    ++cardMatches;
            }
        }
    }
};

std::vector<std::uint64_t> rowHashes(const Table &chunk, const std::vector<int> &columns,
                                     const std::vector<ColumnAccumulator *> &accumulators,
                                     unsigned threads)
{
    std::vector<std::uint64_t> hashes(chunk.rows);
    const std::size_t block = 65536;
    std::size_t blocks = (chunk.rows + block - 1) / block;
    parallelFor(blocks, threads, [&](std::size_t b) {
        std::size_t begin = b * block, end = std::min(chunk.rows, begin + block);
        for (std::size_t r = begin; r < end; ++r)
            hashes[r] = 0x1234567ULL;
        for (std::size_t k = 0; k < columns.size(); ++k) {
            const Column &column = chunk.columns[static_cast<std::size_t>(columns[k])];
            if (column.type == ColumnType::Categorical) {
                const auto &codeHashes = accumulators[k]->codeHashes;
                for (std::size_t r = begin; r < end; ++r) {
                    std::int32_t code = column.codes[r];
                    hashes[r] =
                        combine(hashes[r], code < 0 ? kMissingHash
                                                    : codeHashes[static_cast<std::size_t>(code)]);
                }
            } else {
                for (std::size_t r = begin; r < end; ++r)
                    hashes[r] = combine(hashes[r], hashNumber(column.numbers[r]));
            }
        }
    });
    return hashes;
}

// Sorts in parallel (sorted runs merged pairwise).
template <typename T> void parallelSort(std::vector<T> &values, unsigned threads)
{
    if (threads == 0)
        threads = defaultThreadCount();
    std::size_t parts =
        std::min<std::size_t>(threads, std::max<std::size_t>(1, values.size() / 100000));
    if (parts <= 1) {
        std::sort(values.begin(), values.end());
        return;
    }
    std::vector<std::size_t> bounds(parts + 1);
    for (std::size_t p = 0; p <= parts; ++p)
        bounds[p] = values.size() * p / parts;
    parallelFor(parts, threads, [&](std::size_t p) {
        std::sort(values.begin() + static_cast<std::ptrdiff_t>(bounds[p]),
                  values.begin() + static_cast<std::ptrdiff_t>(bounds[p + 1]));
    });
    for (std::size_t width = 1; width < parts; width *= 2)
        for (std::size_t p = 0; p + width < parts; p += 2 * width) {
            std::size_t mid = bounds[p + width], end = bounds[std::min(parts, p + 2 * width)];
            std::inplace_merge(values.begin() + static_cast<std::ptrdiff_t>(bounds[p]),
                               values.begin() + static_cast<std::ptrdiff_t>(mid),
                               values.begin() + static_cast<std::ptrdiff_t>(end));
        }
}

// (feature hash, label hash) of every row, for duplicates and label
// conflicts. Kept in memory when they fit the memory budget (with the sort's
// scratch); otherwise partitioned by the top bits of the feature hash into
// temporary files (equal feature hashes land in the same partition), and
// each partition is sorted and counted on its own.
class RowPairStore
{
public:
    using Pair = std::pair<std::uint64_t, std::uint64_t>;

    RowPairStore(std::size_t estimatedRows, std::size_t budgetBytes)
    {
        // Sorting a partition needs its pairs (16 bytes) and as much scratch.
        const double need = 32.0 * static_cast<double>(estimatedRows) * 1.1;
        while (m_bits < 8 && need / static_cast<double>(std::size_t(1) << m_bits) >
                                 static_cast<double>(budgetBytes))
            ++m_bits;
        if (m_bits == 0) {
            m_memory.reserve(estimatedRows);
            return;
        }
        for (std::size_t p = 0; p < (std::size_t(1) << m_bits); ++p) {
            std::FILE *file = std::tmpfile();
            m_files.emplace_back(file);
            m_buffers.emplace_back();
        }
    }

    Status add(std::span<const std::uint64_t> features, std::span<const std::uint64_t> labels)
    {
        if (m_bits == 0) {
            for (std::size_t i = 0; i < features.size(); ++i)
                m_memory.emplace_back(features[i], labels.empty() ? 0 : labels[i]);
            return {};
        }
        for (std::size_t i = 0; i < features.size(); ++i) {
            const std::size_t p = features[i] >> (64 - m_bits);
            m_buffers[p].emplace_back(features[i], labels.empty() ? 0 : labels[i]);
            if (m_buffers[p].size() >= kBufferPairs)
                SB_TRY(flush(p));
        }
        return {};
    }

    struct Counts
    {
        std::size_t duplicates = 0, conflictGroups = 0, conflictRows = 0;
    };

    Result<Counts> count(unsigned threads)
    {
        Counts counts;
        if (m_bits == 0) {
            countSorted(m_memory, threads, counts);
            return counts;
        }
        for (std::size_t p = 0; p < m_files.size(); ++p) {
            SB_TRY(flush(p));
            std::FILE *file = m_files[p].get();
            if (!file)
                return makeError(ErrorCode::Io, "quality: cannot create a temporary file");
            const long bytes = std::ftell(file);
            std::vector<Pair> pairs(static_cast<std::size_t>(bytes) / sizeof(Pair));
            std::rewind(file);
            if (!pairs.empty() &&
                std::fread(pairs.data(), sizeof(Pair), pairs.size(), file) != pairs.size())
                return makeError(ErrorCode::Io, "quality: cannot read back a temporary file");
            m_files[p].reset();
            countSorted(pairs, threads, counts);
        }
        return counts;
    }

private:
    static constexpr std::size_t kBufferPairs = 1 << 15; // 512 KiB per partition

    struct FileCloser
    {
        void operator()(std::FILE *f) const
        {
            if (f)
                std::fclose(f);
        }
    };

    Status flush(std::size_t p)
    {
        auto &buffer = m_buffers[p];
        if (buffer.empty())
            return {};
        std::FILE *file = m_files[p].get();
        if (!file || std::fwrite(buffer.data(), sizeof(Pair), buffer.size(), file) != buffer.size())
            return makeError(ErrorCode::Io, "quality: cannot write a temporary file (disk full? "
                                            "raise --memory-limit to keep row hashes in memory)");
        buffer.clear();
        return {};
    }

    // Sorts by (feature, label) and counts: rows whose pair was seen before
    // are duplicates; feature groups with more than one label conflict.
    static void countSorted(std::vector<Pair> &pairs, unsigned threads, Counts &counts)
    {
        std::vector<std::uint64_t> keys(pairs.size());
        std::vector<std::uint64_t> labels(pairs.size());
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            keys[i] = pairs[i].first;
            labels[i] = pairs[i].second;
        }
        std::vector<Pair>().swap(pairs);
        radixSort<std::uint64_t>(keys, labels, threads);
        std::size_t i = 0;
        while (i < keys.size()) {
            std::size_t j = i;
            while (j < keys.size() && keys[j] == keys[i])
                ++j;
            std::sort(labels.begin() + static_cast<std::ptrdiff_t>(i),
                      labels.begin() + static_cast<std::ptrdiff_t>(j));
            std::size_t distinctLabels = 1;
            for (std::size_t k = i + 1; k < j; ++k) {
                if (labels[k] != labels[k - 1])
                    ++distinctLabels;
                else
                    ++counts.duplicates;
            }
            if (distinctLabels > 1) {
                ++counts.conflictGroups;
                counts.conflictRows += j - i;
            }
            i = j;
        }
    }

    int m_bits = 0;
    std::vector<Pair> m_memory;
    std::vector<std::unique_ptr<std::FILE, FileCloser>> m_files;
    std::vector<std::vector<Pair>> m_buffers;
};

} // namespace

Result<QualityReport> analyzeQuality(const std::filesystem::path &path,
                                     const QualityOptions &options, const CancelToken *cancel,
                                     const ProgressFn &progress)
{
    SB_ASSIGN_OR_RETURN(auto reader, TypedCsvReader::open(path, options.csv));
    QualityReport report;
    report.fileName = reader.raw().fileName();
    const auto &schema = reader.schema();
    const unsigned threads = options.csv.threads == 0 ? defaultThreadCount() : options.csv.threads;

    int labelIndex = -1;
    if (!options.label.empty()) {
        for (std::size_t c = 0; c < schema.size(); ++c)
            if (schema[c].first == options.label)
                labelIndex = static_cast<int>(c);
        if (labelIndex < 0)
            return makeError(ErrorCode::InvalidInput,
                             report.fileName + ": no label column '" + options.label + "'");
        report.hasLabel = true;
    }

    std::vector<std::unique_ptr<ColumnAccumulator>> accumulators;
    for (const auto &[name, type] : schema) {
        accumulators.push_back(std::make_unique<ColumnAccumulator>(options.exactUniqueLimit));
        accumulators.back()->name = name;
        accumulators.back()->type = type;
    }
    std::vector<int> featureColumns;
    std::vector<ColumnAccumulator *> featureAccumulators;
    for (std::size_t c = 0; c < schema.size(); ++c)
        if (static_cast<int>(c) != labelIndex) {
            featureColumns.push_back(static_cast<int>(c));
            featureAccumulators.push_back(accumulators[c].get());
        }

    // Rows: estimated from the first batch, for the memory plan of the row hashes.
    std::size_t estimatedRows = 0;
    {
        CsvOptions probeOptions = options.csv;
        probeOptions.batchBytes = std::min<std::size_t>(probeOptions.batchBytes, 4 << 20);
        SB_ASSIGN_OR_RETURN(auto probe, TypedCsvReader::open(path, probeOptions));
        Table first;
        SB_ASSIGN_OR_RETURN(bool any, probe.next(first));
        if (any && probe.raw().bytesConsumed() > 0)
            estimatedRows = static_cast<std::size_t>(
                static_cast<double>(first.rows) * static_cast<double>(probe.raw().fileSize()) /
                static_cast<double>(probe.raw().bytesConsumed()) * 1.05);
    }
    const std::size_t limit = options.memoryLimit ? options.memoryLimit : defaultMemoryLimit();
    const std::size_t overhead = 8 * options.csv.batchBytes + (std::size_t(64) << 20);
    RowPairStore rowPairs(estimatedRows, limit > overhead ? limit - overhead : limit / 4);
    // Numerical labels counted by their bits, as text at the end.
    std::unordered_map<std::uint64_t, std::size_t> numericLabelCounts;
    std::vector<std::uint64_t> labelHashes;

    Table chunk;
    while (true) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "quality analysis cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(chunk));
        if (!more)
            break;
        parallelFor(chunk.columns.size(), threads,
                    [&](std::size_t c) { accumulators[c]->add(chunk.columns[c]); });
        auto hashes = rowHashes(chunk, featureColumns, featureAccumulators, threads);
        labelHashes.clear();
        if (labelIndex >= 0) {
            const Column &label = chunk.columns[static_cast<std::size_t>(labelIndex)];
            const ColumnAccumulator &acc = *accumulators[static_cast<std::size_t>(labelIndex)];
            labelHashes.resize(chunk.rows);
            for (std::size_t r = 0; r < chunk.rows; ++r) {
                if (label.type == ColumnType::Categorical) {
                    std::int32_t code = label.codes[r];
                    labelHashes[r] =
                        code < 0 ? kMissingHash : acc.codeHashes[static_cast<std::size_t>(code)];
                } else {
                    labelHashes[r] = hashNumber(label.numbers[r]);
                    if (!std::isnan(label.numbers[r]) && numericLabelCounts.size() < 100000)
                        ++numericLabelCounts[std::bit_cast<std::uint64_t>(label.numbers[r])];
                }
            }
        }
        SB_TRY(rowPairs.add(hashes, labelHashes));
        report.rows += chunk.rows;
        if (progress && reader.raw().fileSize() > 0)
            progress(0.9 * static_cast<double>(reader.raw().bytesConsumed()) /
                         static_cast<double>(reader.raw().fileSize()),
                     "reading " + report.fileName + ": " + std::to_string(report.rows) + " rows");
    }

    // Columns
    std::map<std::string, ColumnDiagnostic> diagnostics;
    for (const auto &d : reader.diagnostics())
        diagnostics[d.column] = d;
    report.columns.resize(accumulators.size());
    parallelFor(accumulators.size(), threads, [&](std::size_t c) {
        const ColumnAccumulator &acc = *accumulators[c];
        ColumnQuality &out = report.columns[c];
        out.name = acc.name;
        out.type = columnTypeName(acc.type);
        out.missing = acc.missing;
        out.missingShare =
            report.rows ? static_cast<double>(acc.missing) / static_cast<double>(report.rows) : 0.0;
        if (acc.type == ColumnType::Categorical) {
            std::size_t unique = 0;
            std::vector<std::size_t> piiCounts(std::size(kAllPiiKinds), 0);
            for (std::size_t code = 0; code < acc.codeCounts.size(); ++code) {
                if (acc.codeCounts[code] == 0)
                    continue;
                ++unique;
                const std::string &text = (*acc.categories)[code];
                for (std::size_t k = 0; k < std::size(kAllPiiKinds); ++k)
                    if (matchesPii(kAllPiiKinds[k], text))
                        piiCounts[k] += acc.codeCounts[code];
            }
            out.unique = unique;
            for (std::size_t k = 0; k < piiCounts.size(); ++k) {
                double share = acc.present ? static_cast<double>(piiCounts[k]) /
                                                 static_cast<double>(acc.present)
                                           : 0.0;
                if (piiCounts[k] > 0 && share >= options.piiMinShare)
                    out.pii.push_back({piiKindName(kAllPiiKinds[k]), piiCounts[k], share});
            }
        } else {
            if (acc.exact.overflow()) {
                out.unique = static_cast<std::size_t>(std::llround(acc.hll.estimate()));
                out.uniqueApproximate = true;
            } else {
                out.unique = acc.exact.size();
            }
            if (acc.present > 0) {
                if (acc.type == ColumnType::Datetime) {
                    out.minText = formatIsoDatetime(acc.min);
                    out.maxText = formatIsoDatetime(acc.max);
                } else {
                    out.min = acc.min;
                    out.max = acc.max;
                    out.mean = static_cast<double>(acc.sum / static_cast<long double>(acc.present));
                }
            }
            double share = acc.present ? static_cast<double>(acc.cardMatches) /
                                             static_cast<double>(acc.present)
                                       : 0.0;
            if (acc.cardMatches > 0 && share >= options.piiMinShare)
                out.pii.push_back({piiKindName(PiiKind::CreditCard), acc.cardMatches, share});
        }
        out.constant = out.unique <= 1;
        if (auto it = diagnostics.find(acc.name); it != diagnostics.end()) {
            out.diagnostic = it->second.message;
            out.diagnosticKind = it->second.kind;
        }
    });

    // Rows: duplicates and label conflicts through (feature hash, label hash) pairs.
    if (progress)
        progress(0.9, "counting duplicates: " + std::to_string(report.rows) + " rows");
    {
        SB_ASSIGN_OR_RETURN(auto counts, rowPairs.count(threads));
        report.duplicateRows = counts.duplicates;
        report.labelConflictGroups = counts.conflictGroups;
        report.labelConflictRows = counts.conflictRows;
    }
    if (labelIndex >= 0) {
        // Class balance
        const ColumnAccumulator &acc = *accumulators[static_cast<std::size_t>(labelIndex)];
        std::map<std::string, std::size_t> counts;
        if (acc.type == ColumnType::Categorical) {
            for (std::size_t code = 0; code < acc.codeCounts.size(); ++code)
                if (acc.codeCounts[code] > 0)
                    counts[(*acc.categories)[code]] += acc.codeCounts[code];
        } else {
            for (const auto &[bits, count] : numericLabelCounts)
                counts[formatNumber(std::bit_cast<double>(bits))] += count;
        }
        std::size_t labelled = 0;
        for (const auto &[label, count] : counts)
            labelled += count;
        for (const auto &[label, count] : counts)
            report.classBalance.push_back(
                {label, count,
                 labelled ? static_cast<double>(count) / static_cast<double>(labelled) : 0.0});
    }
    if (progress)
        progress(1.0, "quality");
    return report;
}

namespace {

// Hashes of the given columns (by name) of every row of a file.
Result<std::vector<std::uint64_t>> hashFileRows(const std::filesystem::path &path,
                                                const std::vector<std::string> &names,
                                                const QualityOptions &options,
                                                const CancelToken *cancel)
{
    CsvOptions csv = options.csv;
    csv.columns = names;
    SB_ASSIGN_OR_RETURN(auto reader, TypedCsvReader::open(path, csv));
    const unsigned threads = csv.threads == 0 ? defaultThreadCount() : csv.threads;
    const auto &schema = reader.schema();
    // Keep the caller's column order so both files hash the same way.
    std::vector<int> order;
    for (const auto &name : names)
        for (std::size_t c = 0; c < schema.size(); ++c)
            if (schema[c].first == name)
                order.push_back(static_cast<int>(c));
    std::vector<std::unique_ptr<ColumnAccumulator>> accumulators;
    std::vector<ColumnAccumulator *> ordered;
    for (std::size_t c = 0; c < schema.size(); ++c) {
        accumulators.push_back(std::make_unique<ColumnAccumulator>(0));
        accumulators.back()->type = schema[c].second;
    }
    for (int c : order)
        ordered.push_back(accumulators[static_cast<std::size_t>(c)].get());
    std::vector<std::uint64_t> all;
    Table chunk;
    while (true) {
        if (cancel && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "leakage check cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(chunk));
        if (!more)
            break;
        // Only the dictionary hashes are needed from the accumulators here.
        for (std::size_t c = 0; c < chunk.columns.size(); ++c) {
            const Column &column = chunk.columns[c];
            if (column.type != ColumnType::Categorical)
                continue;
            auto &acc = *accumulators[c];
            for (std::size_t i = acc.codeHashes.size();
                 column.categories && i < column.categories->size(); ++i)
                acc.codeHashes.push_back(hashText((*column.categories)[i]));
        }
        auto hashes = rowHashes(chunk, order, ordered, threads);
        all.insert(all.end(), hashes.begin(), hashes.end());
    }
    return all;
}

} // namespace

Result<LeakageReport> findLeakage(const std::filesystem::path &train,
                                  const std::filesystem::path &test, const QualityOptions &options,
                                  const CancelToken *cancel)
{
    SB_ASSIGN_OR_RETURN(auto trainReader, CsvReader::open(train, options.csv));
    SB_ASSIGN_OR_RETURN(auto testReader, CsvReader::open(test, options.csv));
    LeakageReport report;
    for (const auto &name : testReader.header())
        if (name != options.label && trainReader.columnIndex(name) >= 0)
            report.columns.push_back(name);
    if (report.columns.empty())
        return makeError(ErrorCode::InvalidInput, testReader.fileName() + " and " +
                                                      trainReader.fileName() +
                                                      " share no feature column");
    SB_ASSIGN_OR_RETURN(auto trainHashes, hashFileRows(train, report.columns, options, cancel));
    SB_ASSIGN_OR_RETURN(auto testHashes, hashFileRows(test, report.columns, options, cancel));
    const unsigned threads = options.csv.threads == 0 ? defaultThreadCount() : options.csv.threads;
    parallelSort(trainHashes, threads);
    report.trainRows = trainHashes.size();
    report.testRows = testHashes.size();
    for (std::uint64_t h : testHashes)
        report.testRowsInTrain += std::binary_search(trainHashes.begin(), trainHashes.end(), h);
    report.share = report.testRows ? static_cast<double>(report.testRowsInTrain) /
                                         static_cast<double>(report.testRows)
                                   : 0.0;
    return report;
}

} // namespace sb::eval
