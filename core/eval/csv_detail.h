// Private to core/eval's CSV files (csv.cpp: splitting rows and the raw
// CsvReader; csv_values.cpp: value parsers; csv_typed.cpp: typed columns and
// type inference). Not part of the public API: include csv.h instead.
//
// Contracts:
//  - Batches live in a buffer with kPadding readable bytes after the input,
//    so parsePlainDecimalPadded may read 8 bytes past a field's end.
//  - parseRows / parseRowsUnquoted parse whole rows of buf[begin, end): `end`
//    is a row boundary (or the end of input); fields are appended as offsets
//    relative to buf (quoted fields unescaped in place), row start lines to
//    `lines`; expected == 0 accepts any field count (the header). They stop
//    after maxRows rows and return the position after the last parsed row,
//    `line` then being the physical line there. A problem fills `error`
//    (file-independent: line, column, what) and stops. parseRowsUnquoted is
//    for input the caller checked holds no quote: same rows, fields, lines
//    and errors, 64 bytes at a time.
//  - The value helpers are inline: they run once per field.
#pragma once

#include "core/eval/csv.h"
#include "core/eval/parallel.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sb::eval {

namespace csv_detail {

constexpr std::size_t kMaxBatchBytes = std::size_t(1) << 31; // field offsets are 32-bit
constexpr std::size_t kParallelMinBytes = std::size_t(1) << 20;
constexpr std::size_t kPadding = 16;

struct FileCloser
{
    void operator()(std::FILE *f) const
    {
        if (f)
            std::fclose(f);
    }
};

struct ParseError
{
    bool failed = false;
    std::uint64_t line = 0;
    int column = -1; // -1: row-level
    std::string what;
};

// How many bytes of p[0, n) equal c (SSE2: sixteen at a time).
std::size_t countByte(const char *p, std::size_t n, char c);

std::size_t parseRowsUnquoted(char *buf, std::size_t begin, std::size_t end, std::uint64_t &line,
                              char delim, std::size_t expected, std::size_t maxRows,
                              std::vector<CsvFieldRef> &fields, std::vector<std::uint64_t> &lines,
                              ParseError &error);
std::size_t parseRows(char *buf, std::size_t begin, std::size_t end, std::uint64_t &line,
                      char delim, std::size_t expected, std::size_t maxRows,
                      std::vector<CsvFieldRef> &fields, std::vector<std::uint64_t> &lines,
                      ParseError &error);

inline bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

inline std::string_view trimBlanks(std::string_view s)
{
    while (!s.empty() && isBlank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isBlank(s.back()))
        s.remove_suffix(1);
    return s;
}

inline bool isNanText(std::string_view s)
{
    s = trimBlanks(s);
    if (!s.empty() && (s.front() == '+' || s.front() == '-'))
        s.remove_prefix(1);
    return s.size() == 3 && (s[0] == 'n' || s[0] == 'N') && (s[1] == 'a' || s[1] == 'A') &&
           (s[2] == 'n' || s[2] == 'N');
}

// Clinger's fast path for plain decimals ([-]digits[.digits], at most 20
// characters, integer mantissa <= 2^53, so at most 18 fraction digits): the
// mantissa and 10^k are exact doubles, so one IEEE division rounds
// correctly and gives the same double as std::from_chars. Anything else
// (exponents, long mantissas, inf/nan) returns false for the full parser.
inline bool parsePlainDecimal(const char *p, const char *end, double &value)
{
    static constexpr double kPow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                        1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                        1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    // At most 20 characters ('-', '.', 18 digits): no overflow checks needed.
    if (end - p > 20)
        return false;
    const bool negative = *p == '-';
    p += negative;
    const char *digitsBegin = p;
    std::uint64_t mantissa = 0;
    while (p < end && static_cast<unsigned>(*p - '0') < 10)
        mantissa = mantissa * 10 + static_cast<unsigned>(*p++ - '0');
    int digitCount = static_cast<int>(p - digitsBegin), fraction = 0;
    if (p < end && *p == '.') {
        const char *fractionBegin = ++p;
        while (p < end && static_cast<unsigned>(*p - '0') < 10)
            mantissa = mantissa * 10 + static_cast<unsigned>(*p++ - '0');
        fraction = static_cast<int>(p - fractionBegin);
        digitCount += fraction;
    }
    if (p != end || digitCount == 0 || mantissa > (std::uint64_t(1) << 53))
        return false;
    double v = static_cast<double>(mantissa);
    if (fraction > 0)
        v /= kPow10[fraction];
    value = negative ? -v : v;
    return true;
}

// Eight characters (little-endian word) as digit values ('0' -> 0); how
// many of the first ones are digits (0..8).
inline int digitRun(std::uint64_t digits)
{
    const std::uint64_t flags = ((digits + 0x7676767676767676ULL) | digits) & 0x8080808080808080ULL;
    return flags ? std::countr_zero(flags) / 8 : 8;
}

// The number formed by the first k (0..8) digit values of `digits`
// (the first is the most significant): eight digits combined in three
// multiplications (as in fast_float's parse_eight_digits_unrolled).
inline std::uint64_t digitsValue(std::uint64_t digits, int k)
{
    if (k == 0)
        return 0;
    std::uint64_t v = digits << (8 * (8 - k)); // leading zeros in the low bytes
    v = v * 10 + (v >> 8);
    return (((v & 0x000000FF000000FFULL) * 0x000F424000000064ULL) +
            (((v >> 16) & 0x000000FF000000FFULL) * 0x0000271000000001ULL)) >>
           32;
}

// parsePlainDecimal() for text inside a buffer with at least 8 readable
// bytes after `end`: the integer and fraction digits eight at a time. Same
// mantissa and division, so the same double; false where that would be.
inline bool parsePlainDecimalPadded(const char *p, const char *end, double &value)
{
    static constexpr std::uint64_t kPow10Int[] = {1,      10,      100,      1000,     10000,
                                                  100000, 1000000, 10000000, 100000000};
    const char *const text = p;
    if (end - p > 20)
        return false;
    const bool negative = p < end && *p == '-';
    p += negative;
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= 0x3030303030303030ULL;
    const int intDigits = std::min<int>(digitRun(word), static_cast<int>(end - p));
    if (intDigits == 8)
        return parsePlainDecimal(text, end, value);
    std::uint64_t mantissa = digitsValue(word, intDigits);
    p += intDigits;
    int fraction = 0;
    if (p < end && *p == '.') {
        ++p;
        std::memcpy(&word, p, 8);
        word ^= 0x3030303030303030ULL;
        fraction = std::min<int>(digitRun(word), static_cast<int>(end - p));
        if (fraction == 8)
            return parsePlainDecimal(text, end, value);
        mantissa = mantissa * kPow10Int[fraction] + digitsValue(word, fraction);
        p += fraction;
    }
    if (p != end || intDigits + fraction == 0)
        return false;
    static constexpr double kPow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7};
    double v = static_cast<double>(mantissa);
    if (fraction > 0)
        v /= kPow10[fraction];
    value = negative ? -v : v;
    return true;
}

} // namespace csv_detail

// ---- CsvReader ------------------------------------------------------------------

struct CsvReader::Impl
{
    std::string name;
    CsvOptions options;
    unsigned threads = 1;
    std::unique_ptr<std::FILE, csv_detail::FileCloser> file;
    std::string memory;
    std::size_t memoryPos = 0;
    bool fromMemory = false;
    bool eof = false;

    std::vector<char> buf;
    std::size_t valid = 0;      // bytes of buf holding input
    std::size_t consumedTo = 0; // bytes of buf handed out in the current batch
    std::uint64_t line = 1;     // physical line at buf[consumedTo]
    std::uint64_t size = 0;
    std::uint64_t consumed = 0; // input bytes split into rows so far
    std::uint64_t reported = 0; // of those, handed out (bytesConsumed())

    std::vector<std::string> header;
    std::unordered_map<std::string, int> headerIndex;
    std::vector<std::vector<CsvFieldRef>> sliceFields;
    std::vector<std::vector<std::uint64_t>> sliceLines;

    std::string errorText(const csv_detail::ParseError &e) const
    {
        std::string text = name + ":" + std::to_string(e.line) + ": ";
        if (e.column >= 0) {
            text += "column ";
            if (static_cast<std::size_t>(e.column) < header.size())
                text += "'" + header[e.column] + "'";
            else
                text += std::to_string(e.column + 1) + " (beyond the header)";
            text += ": ";
        }
        return text + e.what;
    }

    // Reads up to `want` more bytes at buf[valid]. Returns an error on I/O failure.
    Status readMore(std::size_t want)
    {
        // csv_detail::kPadding readable bytes after the input (parsePlainDecimalPadded).
        if (buf.size() < valid + want + csv_detail::kPadding)
            buf.resize(valid + want + csv_detail::kPadding);
        std::size_t got = 0;
        if (fromMemory) {
            got = std::min(want, memory.size() - memoryPos);
            std::memcpy(buf.data() + valid, memory.data() + memoryPos, got);
            memoryPos += got;
        } else {
            got = std::fread(buf.data() + valid, 1, want, file.get());
            if (got < want && std::ferror(file.get()))
                return makeError(ErrorCode::Io, name + ": read error");
        }
        if (got < want)
            eof = true;
        valid += got;
        return Status::success();
    }

    // Drops the consumed prefix and reads until the buffer holds at least one
    // complete row (or the input ends). Returns the cut: the end of the last
    // complete row in buf[0, valid).
    // `want`: bytes to read first (0: a batch).
    Result<std::size_t> fill(std::size_t want = 0)
    {
        if (consumedTo > 0) {
            std::memmove(buf.data(), buf.data() + consumedTo, valid - consumedTo);
            valid -= consumedTo;
            consumedTo = 0;
        }
        if (want == 0)
            want = options.batchBytes;
        while (true) {
            if (!eof) {
                SB_TRY(readMore(want));
            }
            if (eof)
                return valid;
            if (!std::memchr(buf.data(), '"', valid)) {
                // No quotes: the cut is after the last LF.
                for (std::size_t i = valid; i-- > 0;)
                    if (buf[i] == '\n')
                        return i + 1;
            }
            // Quote parity at the end, then walk back to the last LF outside quotes.
            const std::size_t quotes = countQuotes(0, valid);
            bool inQuotes = (quotes & 1) != 0;
            for (std::size_t i = valid; i-- > 0;) {
                const char c = buf[i];
                if (c == '"')
                    inQuotes = !inQuotes;
                else if (c == '\n' && !inQuotes)
                    return i + 1;
            }
            // No complete row yet: a huge row. Read more.
            if (valid + want > csv_detail::kMaxBatchBytes)
                return makeError(ErrorCode::InvalidInput,
                                 name + ":" + std::to_string(line) +
                                     ": row longer than 2 GiB (unterminated quoted field?)");
            want = std::max(want, valid);
        }
    }

    std::size_t countQuotes(std::size_t begin, std::size_t end) const
    {
        return csv_detail::countByte(buf.data() + begin, end - begin, '"');
    }

    Status parseHeader()
    {
        // A little input for the header (readers opened only for it, and
        // probes, should not read a whole batch); more if its row is long.
        SB_ASSIGN_OR_RETURN(std::size_t cut,
                            fill(std::min<std::size_t>(options.batchBytes, 1 << 16)));
        std::size_t start = 0;
        if (valid >= 3 && static_cast<unsigned char>(buf[0]) == 0xEF &&
            static_cast<unsigned char>(buf[1]) == 0xBB &&
            static_cast<unsigned char>(buf[2]) == 0xBF)
            start = 3;
        std::vector<CsvFieldRef> fields;
        std::vector<std::uint64_t> lines;
        csv_detail::ParseError error;
        std::size_t pos = csv_detail::parseRows(buf.data(), start, cut, line, options.delimiter, 0,
                                                1, fields, lines, error);
        if (error.failed)
            return makeError(ErrorCode::InvalidInput, errorText(error));
        if (lines.empty())
            return makeError(ErrorCode::InvalidInput, name + ": empty file (no header row)");
        for (std::size_t i = 0; i < fields.size(); ++i) {
            std::string column(buf.data() + fields[i].offset, fields[i].length);
            if (!headerIndex.emplace(column, static_cast<int>(i)).second)
                return makeError(ErrorCode::InvalidInput, name + ":" + std::to_string(lines[0]) +
                                                              ": duplicate column '" + column +
                                                              "' in the header");
            header.push_back(std::move(column));
        }
        consumedTo = pos;
        consumed += pos;
        reported = consumed;
        return Status::success();
    }

    // The next batch of whole rows, split for the threads: slice s holds the
    // rows in [start[s], start[s + 1]) of buf, from physical line
    // startLine[s]; startLine.back() is the line at the cut. cut == 0: the
    // input has ended. finishBatch() hands the batch out.
    struct SlicePlan
    {
        std::size_t cut = 0;
        bool quoteFree = false; // no quote in [0, cut): csv_detail::parseRowsUnquoted() applies
        std::vector<std::size_t> start;
        std::vector<std::uint64_t> startLine;
        std::size_t slices() const { return start.size() - 1; }
        // At most this many rows start in slice s (each ends at an LF, but
        // the input's last row).
        std::size_t rowBound(std::size_t s) const
        {
            return static_cast<std::size_t>(startLine[s + 1] - startLine[s]) + 1;
        }
    };

    Result<SlicePlan> planBatch()
    {
        SlicePlan plan;
        SB_ASSIGN_OR_RETURN(plan.cut, fill());
        if (plan.cut == 0)
            return plan;
        const std::size_t cut = plan.cut;
        const char *data = buf.data();
        plan.quoteFree = !std::memchr(data, '"', cut);

        // Split [0, cut) into slices; each slice starts at the first row
        // boundary at or after its raw start (found from the quote parity).
        const std::size_t slices = cut < csv_detail::kParallelMinBytes
                                       ? 1
                                       : std::max<std::size_t>(1, std::size_t(threads) * 2);
        std::vector<std::size_t> rawStart(slices + 1);
        for (std::size_t s = 0; s <= slices; ++s)
            rawStart[s] = cut / slices * s;
        rawStart[slices] = cut;
        std::vector<std::size_t> quoteCount(slices), newlineCount(slices);
        parallelFor(slices, threads, [&](std::size_t s) {
            quoteCount[s] = plan.quoteFree ? 0 : countQuotes(rawStart[s], rawStart[s + 1]);
            newlineCount[s] =
                csv_detail::countByte(data + rawStart[s], rawStart[s + 1] - rawStart[s], '\n');
        });
        std::vector<std::size_t> &start = plan.start;
        std::vector<std::uint64_t> &startLine = plan.startLine;
        start.assign(slices + 1, cut);
        startLine.assign(slices + 1, 0);
        start[0] = 0;
        startLine[0] = line;
        std::size_t parity = 0;
        std::uint64_t linesBefore = line;
        for (std::size_t s = 1; s < slices; ++s) {
            parity += quoteCount[s - 1];
            linesBefore += newlineCount[s - 1];
            bool inQuotes = (parity & 1) != 0;
            std::uint64_t lineHere = linesBefore;
            std::size_t i = rawStart[s];
            for (; i < cut; ++i) {
                const char c = data[i];
                if (c == '"') {
                    inQuotes = !inQuotes;
                } else if (c == '\n') {
                    ++lineHere;
                    if (!inQuotes) {
                        ++i;
                        break;
                    }
                }
            }
            start[s] = std::max(i, start[s - 1]);
            startLine[s] = lineHere;
        }
        start[slices] = cut;
        startLine[slices] = linesBefore + newlineCount[slices - 1];
        return plan;
    }

    void finishBatch(const SlicePlan &plan)
    {
        line = plan.startLine.back();
        consumedTo = plan.cut;
        consumed += plan.cut;
    }

    Result<bool> next(CsvBatch &batch)
    {
        batch.rows = 0;
        batch.columns = header.size();
        batch.fields.clear();
        batch.lines.clear();
        SB_ASSIGN_OR_RETURN(SlicePlan plan, planBatch());
        batch.data = buf.data();
        if (plan.cut == 0)
            return false;
        char *data = buf.data();
        const std::size_t expected = header.size();
        const std::size_t slices = plan.slices();

        // Kept across batches: large vectors freed and re-allocated per batch
        // would page-fault their memory in again every time.
        sliceFields.resize(std::max(sliceFields.size(), slices));
        sliceLines.resize(std::max(sliceLines.size(), slices));
        for (std::size_t s = 0; s < slices; ++s) {
            sliceFields[s].clear();
            sliceLines[s].clear();
        }
        std::vector<csv_detail::ParseError> sliceErrors(slices);
        parallelFor(slices, threads, [&](std::size_t s) {
            if (plan.start[s] >= plan.start[s + 1])
                return;
            sliceFields[s].reserve((plan.start[s + 1] - plan.start[s]) / 6 + 16);
            std::uint64_t sliceLine = plan.startLine[s];
            (plan.quoteFree ? csv_detail::parseRowsUnquoted : csv_detail::parseRows)(
                data, plan.start[s], plan.start[s + 1], sliceLine, options.delimiter, expected,
                std::numeric_limits<std::size_t>::max(), sliceFields[s], sliceLines[s],
                sliceErrors[s]);
        });
        for (std::size_t s = 0; s < slices; ++s)
            if (sliceErrors[s].failed)
                return makeError(ErrorCode::InvalidInput, errorText(sliceErrors[s]));
        std::size_t totalFields = 0, totalRows = 0;
        for (std::size_t s = 0; s < slices; ++s) {
            totalFields += sliceFields[s].size();
            totalRows += sliceLines[s].size();
        }
        batch.fields.reserve(totalFields);
        batch.lines.reserve(totalRows);
        for (std::size_t s = 0; s < slices; ++s) {
            batch.fields.insert(batch.fields.end(), sliceFields[s].begin(), sliceFields[s].end());
            batch.lines.insert(batch.lines.end(), sliceLines[s].begin(), sliceLines[s].end());
        }
        batch.rows = totalRows;
        finishBatch(plan);
        reported = consumed;
        if (totalRows == 0) // only blank lines in this stretch
            return next(batch);
        return true;
    }
};

} // namespace sb::eval
