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

namespace sb::eval {

namespace {

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

bool isBlank(char c)
{
    return c == ' ' || c == '\t';
}

std::string_view trimBlanks(std::string_view s)
{
    while (!s.empty() && isBlank(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && isBlank(s.back()))
        s.remove_suffix(1);
    return s;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
long long daysFromCivil(long long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<long long>(doe) - 719468;
}

void civilFromDays(long long z, long long &y, unsigned &m, unsigned &d)
{
    z += 719468;
    const long long era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<long long>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int &value)
{
    if (at + n > s.size())
        return false;
    value = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        value = value * 10 + (s[i] - '0');
    }
    return true;
}

bool isNanText(std::string_view s)
{
    s = trimBlanks(s);
    if (!s.empty() && (s.front() == '+' || s.front() == '-'))
        s.remove_prefix(1);
    return s.size() == 3 && (s[0] == 'n' || s[0] == 'N') && (s[1] == 'a' || s[1] == 'A') &&
           (s[2] == 'n' || s[2] == 'N');
}

} // namespace

// ---- value parsers ------------------------------------------------------------

namespace {

// Clinger's fast path for plain decimals ([-]digits[.digits], at most 20
// characters, integer mantissa <= 2^53, so at most 18 fraction digits): the
// mantissa and 10^k are exact doubles, so one IEEE division rounds
// correctly and gives the same double as std::from_chars. Anything else
// (exponents, long mantissas, inf/nan) returns false for the full parser.
bool parsePlainDecimal(const char *p, const char *end, double &value)
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
int digitRun(std::uint64_t digits)
{
    const std::uint64_t flags = ((digits + 0x7676767676767676ULL) | digits) & 0x8080808080808080ULL;
    return flags ? std::countr_zero(flags) / 8 : 8;
}

// The number formed by the first k (0..8) digit values of `digits`
// (the first is the most significant): eight digits combined in three
// multiplications (as in fast_float's parse_eight_digits_unrolled).
std::uint64_t digitsValue(std::uint64_t digits, int k)
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
bool parsePlainDecimalPadded(const char *p, const char *end, double &value)
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

} // namespace

bool parseCsvNumber(std::string_view text, double &value)
{
    if (!text.empty() && parsePlainDecimal(text.data(), text.data() + text.size(), value))
        return true;
    std::string_view s = trimBlanks(text);
    if (s.empty())
        return false;
    if (s.front() == '+') {
        s.remove_prefix(1);
        if (s.empty() || s.front() == '-' || s.front() == '+')
            return false;
    }
    const char *first = s.data();
    const char *last = s.data() + s.size();
    auto [ptr, ec] = std::from_chars(first, last, value, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) {
        // Overflow/underflow: strtod semantics (inf or 0 with the sign).
        std::string copy(s);
        value = std::strtod(copy.c_str(), nullptr);
        return ptr == last;
    }
    return ec == std::errc() && ptr == last;
}

bool parseIsoDatetime(std::string_view text, double &secondsSinceEpoch)
{
    std::string_view s = trimBlanks(text);
    int year, month, day;
    if (s.size() < 10 || !digits(s, 0, 4, year) || s[4] != '-' || !digits(s, 5, 2, month) ||
        s[7] != '-' || !digits(s, 8, 2, day))
        return false;
    static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12 || day < 1)
        return false;
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (day > kDays[month - 1] + (month == 2 && leap ? 1 : 0))
        return false;
    double seconds = 0;
    std::size_t pos = 10;
    if (pos < s.size()) {
        if (s[pos] != 'T' && s[pos] != 't' && s[pos] != ' ')
            return false;
        int hour, minute, second = 0;
        if (!digits(s, pos + 1, 2, hour) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !digits(s, pos + 4, 2, minute))
            return false;
        pos += 6;
        double fraction = 0;
        if (pos < s.size() && s[pos] == ':') {
            if (!digits(s, pos + 1, 2, second))
                return false;
            pos += 3;
            if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
                double scale = 0.1;
                std::size_t q = pos + 1;
                while (q < s.size() && s[q] >= '0' && s[q] <= '9') {
                    fraction += (s[q] - '0') * scale;
                    scale /= 10;
                    ++q;
                }
                if (q == pos + 1)
                    return false;
                pos = q;
            }
        }
        if (hour > 24 || minute > 59 || second > 60 || (hour == 24 && (minute || second)))
            return false;
        seconds = hour * 3600.0 + minute * 60.0 + second + fraction;
        if (pos < s.size()) {
            if ((s[pos] == 'Z' || s[pos] == 'z') && pos + 1 == s.size()) {
                pos += 1;
            } else if (s[pos] == '+' || s[pos] == '-') {
                const int sign = s[pos] == '+' ? 1 : -1;
                int offH, offM = 0;
                if (!digits(s, pos + 1, 2, offH))
                    return false;
                std::size_t q = pos + 3;
                if (q < s.size() && s[q] == ':')
                    ++q;
                if (q < s.size()) {
                    if (!digits(s, q, 2, offM))
                        return false;
                    q += 2;
                }
                if (q != s.size() || offH > 23 || offM > 59)
                    return false;
                seconds -= sign * (offH * 3600.0 + offM * 60.0);
                pos = q;
            } else {
                return false;
            }
        }
    }
    secondsSinceEpoch = static_cast<double>(daysFromCivil(year, static_cast<unsigned>(month),
                                                          static_cast<unsigned>(day))) *
                            86400.0 +
                        seconds;
    return true;
}

std::string formatIsoDatetime(double secondsSinceEpoch)
{
    if (!std::isfinite(secondsSinceEpoch))
        return {};
    const double floorSeconds = std::floor(secondsSinceEpoch);
    long long total = static_cast<long long>(floorSeconds);
    long long days = total / 86400;
    long long rem = total % 86400;
    if (rem < 0) {
        rem += 86400;
        --days;
    }
    long long y;
    unsigned m, d;
    civilFromDays(days, y, m, d);
    char out[64];
    std::snprintf(out, sizeof out, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", y, m, d, rem / 3600,
                  (rem / 60) % 60, rem % 60);
    std::string result = out;
    const double frac = secondsSinceEpoch - floorSeconds;
    if (frac > 0) {
        std::snprintf(out, sizeof out, "%.6f", frac); // "0.xxxxxx"
        std::string f = out + 1;
        while (!f.empty() && f.back() == '0')
            f.pop_back();
        result.insert(result.size() - 1, f);
    }
    return result;
}

std::string formatNumber(double value)
{
    if (std::isnan(value))
        return "nan";
    if (std::isinf(value))
        return value > 0 ? "inf" : "-inf";
    char buf[32];
    auto [ptr, ec] = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, ec == std::errc() ? ptr : buf);
}

// ---- CsvReader ------------------------------------------------------------------

struct CsvReader::Impl
{
    std::string name;
    CsvOptions options;
    unsigned threads = 1;
    std::unique_ptr<std::FILE, FileCloser> file;
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

    std::string errorText(const ParseError &e) const
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
        // kPadding readable bytes after the input (parsePlainDecimalPadded).
        if (buf.size() < valid + want + kPadding)
            buf.resize(valid + want + kPadding);
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
            if (valid + want > kMaxBatchBytes)
                return makeError(ErrorCode::InvalidInput,
                                 name + ":" + std::to_string(line) +
                                     ": row longer than 2 GiB (unterminated quoted field?)");
            want = std::max(want, valid);
        }
    }

    std::size_t countQuotes(std::size_t begin, std::size_t end) const
    {
        return countByte(buf.data() + begin, end - begin, '"');
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
        ParseError error;
        std::size_t pos =
            parseRows(buf.data(), start, cut, line, options.delimiter, 0, 1, fields, lines, error);
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
        bool quoteFree = false; // no quote in [0, cut): parseRowsUnquoted() applies
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
        const std::size_t slices =
            cut < kParallelMinBytes ? 1 : std::max<std::size_t>(1, std::size_t(threads) * 2);
        std::vector<std::size_t> rawStart(slices + 1);
        for (std::size_t s = 0; s <= slices; ++s)
            rawStart[s] = cut / slices * s;
        rawStart[slices] = cut;
        std::vector<std::size_t> quoteCount(slices), newlineCount(slices);
        parallelFor(slices, threads, [&](std::size_t s) {
            quoteCount[s] = plan.quoteFree ? 0 : countQuotes(rawStart[s], rawStart[s + 1]);
            newlineCount[s] = countByte(data + rawStart[s], rawStart[s + 1] - rawStart[s], '\n');
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
        std::vector<ParseError> sliceErrors(slices);
        parallelFor(slices, threads, [&](std::size_t s) {
            if (plan.start[s] >= plan.start[s + 1])
                return;
            sliceFields[s].reserve((plan.start[s + 1] - plan.start[s]) / 6 + 16);
            std::uint64_t sliceLine = plan.startLine[s];
            (plan.quoteFree ? parseRowsUnquoted : parseRows)(
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

// ---- typed layer ------------------------------------------------------------------

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
