#include "core/eval/csv.h"

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
#include "core/eval/csv_detail.h"

namespace sb::eval {

namespace {

// Position of the first delimiter, LF or quote in buf[pos, end) (end when
// none): eight bytes at a time (a byte equal to one of them makes a zero
// byte in x ^ pattern; the lowest flagged byte is exact), then byte by byte.
std::size_t scanUnquoted(const char *buf, std::size_t pos, std::size_t end, char delim)
{
    constexpr std::uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;
    const std::uint64_t d = kOnes * static_cast<unsigned char>(delim);
    const std::uint64_t n = kOnes * static_cast<unsigned char>('\n');
    const std::uint64_t q = kOnes * static_cast<unsigned char>('"');
    auto zeroBytes = [](std::uint64_t x) { return (x - kOnes) & ~x & kHigh; };
    // Little-endian only: the lowest flagged byte is the first in memory.
    while (std::endian::native == std::endian::little && pos + 8 <= end) {
        std::uint64_t word;
        std::memcpy(&word, buf + pos, 8);
        const std::uint64_t hits = zeroBytes(word ^ d) | zeroBytes(word ^ n) | zeroBytes(word ^ q);
        if (hits)
            return pos + static_cast<std::size_t>(std::countr_zero(hits) / 8);
        pos += 8;
    }
    while (pos < end && buf[pos] != delim && buf[pos] != '\n' && buf[pos] != '"')
        ++pos;
    return pos;
}

// Bits of the delimiters and LFs among 64 bytes at p (bit i: p[i]).
struct StructuralBits
{
    std::uint64_t delimiters = 0, newlines = 0;
};

StructuralBits structuralBits(const char *p, char delim)
{
    StructuralBits bits;
#if defined(__SSE2__)
    const __m128i d = _mm_set1_epi8(delim), n = _mm_set1_epi8('\n');
    for (int k = 0; k < 4; ++k) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + 16 * k));
        bits.delimiters |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(
                               _mm_movemask_epi8(_mm_cmpeq_epi8(block, d))))
                           << (16 * k);
        bits.newlines |= static_cast<std::uint64_t>(static_cast<std::uint16_t>(
                             _mm_movemask_epi8(_mm_cmpeq_epi8(block, n))))
                         << (16 * k);
    }
#else
    for (int i = 0; i < 64; ++i) {
        bits.delimiters |= static_cast<std::uint64_t>(p[i] == delim) << i;
        bits.newlines |= static_cast<std::uint64_t>(p[i] == '\n') << i;
    }
#endif
    return bits;
}

} // namespace

namespace csv_detail {

// How many bytes of p[0, n) equal c (SSE2: sixteen at a time).
std::size_t countByte(const char *p, std::size_t n, char c)
{
    std::size_t count = 0, i = 0;
#if defined(__SSE2__)
    const __m128i needle = _mm_set1_epi8(c);
    while (i + 16 <= n) {
        // Up to 255 blocks per byte-wide lane, then a horizontal sum.
        __m128i lanes = _mm_setzero_si128();
        const std::size_t stop = std::min(n - 15, i + 255 * 16);
        for (; i < stop; i += 16) {
            const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i *>(p + i));
            lanes = _mm_sub_epi8(lanes, _mm_cmpeq_epi8(block, needle));
        }
        const __m128i sums = _mm_sad_epu8(lanes, _mm_setzero_si128());
        count += static_cast<std::size_t>(_mm_cvtsi128_si32(sums)) +
                 static_cast<std::size_t>(_mm_cvtsi128_si32(_mm_srli_si128(sums, 8)));
    }
#endif
    for (; i < n; ++i)
        count += p[i] == c;
    return count;
}

// parseRows() for input without quotes (the caller checked): the same rows,
// fields, lines and errors, found from bit masks of the delimiters and LFs
// of 64 bytes at a time instead of byte by byte.
std::size_t parseRowsUnquoted(char *buf, std::size_t begin, std::size_t end, std::uint64_t &line,
                              char delim, std::size_t expected, std::size_t maxRows,
                              std::vector<CsvFieldRef> &fields, std::vector<std::uint64_t> &lines,
                              ParseError &error)
{
    if (begin >= end || maxRows == 0)
        return begin;
    std::size_t rows = 0, column = 0, fieldStart = begin;
    std::uint64_t rowLine = line;
    auto field = [&](std::size_t stop) {
        fields.push_back({static_cast<std::uint32_t>(fieldStart),
                          static_cast<std::uint32_t>(stop - fieldStart)});
        ++column;
    };
    // The row ends at the LF at p (or at the end of input): false on a
    // field-count error.
    auto rowEnd = [&](std::size_t p) {
        std::size_t stop = p;
        if (stop > fieldStart && buf[stop - 1] == '\r')
            --stop;
        field(stop);
        if (expected != 0 && column != expected) {
            error = {true, rowLine, -1,
                     "row has " + std::to_string(column) + " field" + (column == 1 ? "" : "s") +
                         ", the header has " + std::to_string(expected)};
            return false;
        }
        lines.push_back(rowLine);
        ++rows;
        column = 0;
        return true;
    };
    for (std::size_t block = begin; block < end; block += 64) {
        StructuralBits bits;
        if (block + 64 <= end) {
            bits = structuralBits(buf + block, delim);
        } else {
            char tail[64];
            const std::size_t n = end - block;
            std::memcpy(tail, buf + block, n);
            std::memset(tail + n, delim == 'x' ? 'y' : 'x', 64 - n);
            bits = structuralBits(tail, delim);
        }
        std::uint64_t any = bits.delimiters | bits.newlines;
        while (any) {
            const int bit = std::countr_zero(any);
            any &= any - 1;
            const std::size_t p = block + static_cast<std::size_t>(bit);
            if (!((bits.newlines >> bit) & 1)) {
                field(p);
                fieldStart = p + 1;
                continue;
            }
            // A blank line (LF or CRLF) at the start of a row is skipped.
            const bool blank = column == 0 && (p == fieldStart ||
                                               (p == fieldStart + 1 && buf[fieldStart] == '\r'));
            if (!blank && !rowEnd(p))
                return p;
            ++line;
            fieldStart = p + 1;
            rowLine = line;
            if (rows == maxRows)
                return p + 1;
        }
    }
    // The last row without a final LF.
    if (fieldStart < end || column > 0) {
        if (!rowEnd(end))
            return end;
    }
    return end;
}

// Parses whole rows in buf[begin, end). `end` is a row boundary (or the end of
// input). Appends fields (offsets relative to buf) and row start lines.
// expected == 0 accepts any field count (header). Stops after maxRows rows.
// Returns the position after the last parsed row; `line` is then the
// physical line there.
std::size_t parseRows(char *buf, std::size_t begin, std::size_t end, std::uint64_t &line,
                      char delim, std::size_t expected, std::size_t maxRows,
                      std::vector<CsvFieldRef> &fields, std::vector<std::uint64_t> &lines,
                      ParseError &error)
{
    std::size_t pos = begin;
    std::size_t rows = 0;
    while (pos < end && rows < maxRows) {
        // Blank lines (LF or CRLF) are skipped.
        if (buf[pos] == '\n') {
            ++pos;
            ++line;
            continue;
        }
        if (buf[pos] == '\r' && pos + 1 < end && buf[pos + 1] == '\n') {
            pos += 2;
            ++line;
            continue;
        }
        const std::uint64_t rowLine = line;
        const std::size_t firstField = fields.size();
        std::size_t column = 0;
        bool rowDone = false;
        while (!rowDone) {
            if (pos < end && buf[pos] == '"') {
                const std::uint64_t fieldLine = line;
                std::size_t read = pos + 1;
                std::size_t write = read;
                const std::size_t fieldStart = read;
                while (true) {
                    const void *hit = std::memchr(buf + read, '"', end - read);
                    if (!hit) {
                        error = {true, fieldLine, static_cast<int>(column),
                                 "unterminated quoted field"};
                        return pos;
                    }
                    std::size_t quote = static_cast<const char *>(hit) - buf;
                    line += static_cast<std::uint64_t>(std::count(buf + read, buf + quote, '\n'));
                    if (write != read)
                        std::memmove(buf + write, buf + read, quote - read);
                    write += quote - read;
                    if (quote + 1 < end && buf[quote + 1] == '"') {
                        buf[write++] = '"';
                        read = quote + 2;
                        continue;
                    }
                    pos = quote + 1;
                    break;
                }
                fields.push_back({static_cast<std::uint32_t>(fieldStart),
                                  static_cast<std::uint32_t>(write - fieldStart)});
                if (pos >= end) {
                    rowDone = true;
                } else if (buf[pos] == delim) {
                    ++pos;
                } else if (buf[pos] == '\n') {
                    ++pos;
                    ++line;
                    rowDone = true;
                } else if (buf[pos] == '\r' && pos + 1 < end && buf[pos + 1] == '\n') {
                    pos += 2;
                    ++line;
                    rowDone = true;
                } else {
                    error = {true, line, static_cast<int>(column),
                             std::string("unexpected character '") + buf[pos] +
                                 "' after the closing quote"};
                    return pos;
                }
            } else {
                const std::size_t start = pos;
                pos = scanUnquoted(buf, pos, end, delim);
                if (pos < end && buf[pos] == '"') {
                    error = {true, line, static_cast<int>(column),
                             "quote inside an unquoted field (quote the whole field and "
                             "double the quote)"};
                    return pos;
                }
                std::size_t stop = pos;
                const bool atRowEnd = pos >= end || buf[pos] == '\n';
                if (atRowEnd && stop > start && buf[stop - 1] == '\r')
                    --stop;
                fields.push_back(
                    {static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(stop - start)});
                if (atRowEnd) {
                    if (pos < end) {
                        ++pos;
                        ++line;
                    }
                    rowDone = true;
                } else {
                    ++pos; // delimiter
                }
            }
            ++column;
        }
        const std::size_t count = fields.size() - firstField;
        if (expected != 0 && count != expected) {
            error = {true, rowLine, -1,
                     "row has " + std::to_string(count) + " field" + (count == 1 ? "" : "s") +
                         ", the header has " + std::to_string(expected)};
            return pos;
        }
        lines.push_back(rowLine);
        ++rows;
    }
    return pos;
}

} // namespace csv_detail

CsvReader::CsvReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
CsvReader::CsvReader(CsvReader &&) noexcept = default;
CsvReader &CsvReader::operator=(CsvReader &&) noexcept = default;
CsvReader::~CsvReader() = default;

Result<CsvReader> CsvReader::open(const std::filesystem::path &path, const CsvOptions &options)
{
    auto impl = std::make_unique<Impl>();
    impl->name = path.string();
    impl->options = options;
    impl->threads = options.threads ? options.threads : defaultThreadCount();
    if (impl->options.batchBytes < 4096)
        impl->options.batchBytes = 4096;
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        return makeError(ErrorCode::NotFound, impl->name + ": no such file");
    if (std::filesystem::is_directory(path, ec))
        return makeError(ErrorCode::InvalidInput, impl->name + ": is a directory");
    impl->file.reset(std::fopen(path.c_str(), "rb"));
    if (!impl->file)
        return makeError(ErrorCode::Io,
                         impl->name + ": cannot open: " + std::string(std::strerror(errno)));
    impl->size = std::filesystem::file_size(path, ec);
    SB_TRY(impl->parseHeader());
    return CsvReader(std::move(impl));
}

Result<CsvReader> CsvReader::fromString(std::string text, std::string name,
                                        const CsvOptions &options)
{
    auto impl = std::make_unique<Impl>();
    impl->name = std::move(name);
    impl->options = options;
    impl->threads = options.threads ? options.threads : defaultThreadCount();
    if (impl->options.batchBytes < 16)
        impl->options.batchBytes = 16;
    impl->fromMemory = true;
    impl->size = text.size();
    impl->memory = std::move(text);
    SB_TRY(impl->parseHeader());
    return CsvReader(std::move(impl));
}

const std::vector<std::string> &CsvReader::header() const
{
    return m_impl->header;
}
int CsvReader::columnIndex(std::string_view name) const
{
    auto it = m_impl->headerIndex.find(std::string(name));
    return it == m_impl->headerIndex.end() ? -1 : it->second;
}
const std::string &CsvReader::fileName() const
{
    return m_impl->name;
}
std::uint64_t CsvReader::fileSize() const
{
    return m_impl->size;
}
std::uint64_t CsvReader::bytesConsumed() const
{
    return m_impl->reported;
}
Result<bool> CsvReader::next(CsvBatch &batch)
{
    return m_impl->next(batch);
}

} // namespace sb::eval
