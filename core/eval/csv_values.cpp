#include "core/eval/csv_detail.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

namespace sb::eval {

namespace {

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

} // namespace

using csv_detail::isNanText;
using csv_detail::parsePlainDecimal;
using csv_detail::trimBlanks;

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

} // namespace sb::eval
