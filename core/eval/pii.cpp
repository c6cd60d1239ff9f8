#include "core/eval/pii.h"

#include <arpa/inet.h>

#include <array>
#include <cctype>
#include <cstring>
#include <string>

namespace sb::eval {

namespace {

std::string_view trim(std::string_view v)
{
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front())))
        v.remove_prefix(1);
    while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back())))
        v.remove_suffix(1);
    return v;
}

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}
bool isAlpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool isAlnum(char c)
{
    return isDigit(c) || isAlpha(c);
}

bool allDigits(std::string_view v)
{
    if (v.empty())
        return false;
    for (char c : v)
        if (!isDigit(c))
            return false;
    return true;
}

int prefixNumber(std::string_view digits, std::size_t length)
{
    int value = 0;
    for (std::size_t i = 0; i < length && i < digits.size(); ++i)
        value = value * 10 + (digits[i] - '0');
    return value;
}

bool knownCardPrefix(std::string_view d)
{
    const std::size_t n = d.size();
    if (d[0] == '4')
        return n == 13 || n == 16 || n == 19; // Visa
    int p2 = prefixNumber(d, 2), p3 = prefixNumber(d, 3), p4 = prefixNumber(d, 4),
        p6 = prefixNumber(d, 6);
    if (p2 >= 51 && p2 <= 55)
        return n == 16; // Mastercard
    if (p4 >= 2221 && p4 <= 2720)
        return n == 16; // Mastercard 2-series
    if (p2 == 34 || p2 == 37)
        return n == 15; // American Express
    if (p4 == 6011 || p2 == 65 || (p3 >= 644 && p3 <= 649) || (p6 >= 622126 && p6 <= 622925))
        return n >= 16 && n <= 19; // Discover
    if (p4 >= 3528 && p4 <= 3589)
        return n >= 16 && n <= 19; // JCB
    if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39 || p4 == 3095)
        return n >= 14 && n <= 19; // Diners Club
    if (p2 == 62)
        return n >= 16 && n <= 19; // UnionPay
    if (p4 == 5018 || p4 == 5020 || p4 == 5038 || p4 == 5893 || p4 == 6304 || p4 == 6759 ||
        p4 == 6761 || p4 == 6762 || p4 == 6763)
        return n >= 12 && n <= 19; // Maestro
    return false;
}

struct IbanLength
{
    const char *country;
    int length;
};
// SWIFT IBAN registry lengths.
constexpr IbanLength kIbanLengths[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24},
    {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18},
    {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27},
    {"GT", 28}, {"HR", 21}, {"HU", 28}, {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27},
    {"JO", 30}, {"KW", 30}, {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20},
    {"LV", 21}, {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
    {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24}, {"PL", 28},
    {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33}, {"SA", 24}, {"SC", 31},
    {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"SO", 23}, {"ST", 25}, {"SV", 28},
    {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
};

} // namespace

const char *piiKindName(PiiKind kind)
{
    switch (kind) {
    case PiiKind::Email:
        return "email";
    case PiiKind::Phone:
        return "phone";
    case PiiKind::CreditCard:
        return "credit_card";
    case PiiKind::Ipv4:
        return "ipv4";
    case PiiKind::Ipv6:
        return "ipv6";
    case PiiKind::Iban:
        return "iban";
    case PiiKind::UsSsn:
        return "us_ssn";
    }
    return "?";
}

bool isEmail(std::string_view value)
{
    value = trim(value);
    if (value.size() > 254)
        return false;
    auto at = value.find('@');
    if (at == std::string_view::npos || at == 0 ||
        value.find('@', at + 1) != std::string_view::npos)
        return false;
    std::string_view local = value.substr(0, at), domain = value.substr(at + 1);
    if (local.size() > 64 || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos)
        return false;
    static constexpr std::string_view localExtra = "!#$%&'*+/=?^_`{|}~.-";
    for (char c : local)
        if (!isAlnum(c) && localExtra.find(c) == std::string_view::npos)
            return false;
    // domain: labels of [A-Za-z0-9-], not starting/ending with '-', at least two labels
    std::size_t labels = 0, start = 0;
    std::string_view lastLabel;
    while (start <= domain.size()) {
        auto dot = domain.find('.', start);
        std::string_view label = domain.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
            return false;
        for (char c : label)
            if (!isAlnum(c) && c != '-')
                return false;
        ++labels;
        lastLabel = label;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    if (labels < 2 || lastLabel.size() < 2)
        return false;
    for (char c : lastLabel)
        if (!isAlpha(c))
            return false;
    return true;
}

bool isPhoneNumber(std::string_view value)
{
    value = trim(value);
    if (value.empty() || value.size() > 32)
        return false;
    std::string digits;
    int separators = 0, openParen = 0, parenGroups = 0;
    bool plus = value.front() == '+';
    char prev = 0;
    for (std::size_t i = plus ? 1 : 0; i < value.size(); ++i) {
        char c = value[i];
        if (isDigit(c)) {
            digits.push_back(c);
        } else if (c == ' ' || c == '-' || c == '.') {
            if (prev == ' ' || prev == '-' || prev == '.')
                return false; // doubled separators
            ++separators;
        } else if (c == '(') {
            if (openParen)
                return false;
            openParen = 1;
        } else if (c == ')') {
            if (!openParen)
                return false;
            openParen = 0;
            ++parenGroups;
        } else {
            return false;
        }
        prev = c;
    }
    if (openParen || parenGroups > 1)
        return false;
    if (plus) {
        // E.164: country code starts 1-9, 8 to 15 digits in all
        return digits.size() >= 8 && digits.size() <= 15 && digits[0] != '0';
    }
    // National (North American) format: 10 digits in groups 3-3-4 with separators,
    // area and exchange codes starting 2-9. Bare digit runs are not accepted.
    if (digits.size() != 10 || (separators + parenGroups) < 2)
        return false;
    // group structure check: split on non-digits
    std::array<std::size_t, 3> expected{3, 3, 4};
    std::size_t group = 0, run = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        bool digit = i < value.size() && isDigit(value[i]);
        if (digit) {
            ++run;
        } else if (run > 0) {
            if (group >= 3 || run != expected[group])
                return false;
            ++group;
            run = 0;
        }
    }
    if (group != 3)
        return false;
    return digits[0] >= '2' && digits[3] >= '2';
}

bool luhnValid(std::string_view digits)
{
    if (digits.empty())
        return false;
    int total = 0;
    bool doubleIt = false;
    for (auto it = digits.rbegin(); it != digits.rend(); ++it) {
        if (!isDigit(*it))
            return false;
        int d = *it - '0';
        if (doubleIt) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        total += d;
        doubleIt = !doubleIt;
    }
    return total % 10 == 0;
}

bool isCreditCardNumber(std::string_view value)
{
    value = trim(value);
    std::string digits;
    char separator = 0;
    char prev = 0;
    for (char c : value) {
        if (isDigit(c)) {
            digits.push_back(c);
        } else if (c == ' ' || c == '-') {
            if (separator && c != separator)
                return false; // mixed separators
            if (!isDigit(prev))
                return false;
            separator = c;
        } else {
            return false;
        }
        prev = c;
    }
    if (!isDigit(prev) || digits.size() < 13 || digits.size() > 19)
        return false;
    return knownCardPrefix(digits) && luhnValid(digits);
}

bool isIpv4(std::string_view value)
{
    value = trim(value);
    int parts = 0;
    std::size_t start = 0;
    while (true) {
        auto dot = value.find('.', start);
        std::string_view part = value.substr(
            start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (!allDigits(part) || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
            return false;
        if (prefixNumber(part, part.size()) > 255)
            return false;
        ++parts;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return parts == 4;
}

bool isIpv6(std::string_view value)
{
    value = trim(value);
    if (value.size() < 2 || value.size() > 45)
        return false;
    int colons = 0;
    for (char c : value) {
        if (c == ':')
            ++colons;
        else if (!std::isxdigit(static_cast<unsigned char>(c)) && c != '.')
            return false;
    }
    if (colons < 2)
        return false;
    std::string text(value);
    unsigned char buffer[16];
    return inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

bool isIban(std::string_view value)
{
    value = trim(value);
    std::string compact;
    for (char c : value) {
        if (c == ' ')
            continue;
        if (!isAlnum(c))
            return false;
        compact.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    if (compact.size() < 15 || compact.size() > 34 || !isAlpha(compact[0]) ||
        !isAlpha(compact[1]) || !isDigit(compact[2]) || !isDigit(compact[3]))
        return false;
    int expected = 0;
    for (const auto &entry : kIbanLengths)
        if (compact.compare(0, 2, entry.country) == 0)
            expected = entry.length;
    if (expected == 0 || static_cast<int>(compact.size()) != expected)
        return false;
    // mod-97 of the rearranged string with letters as 10..35, computed piecewise
    std::string moved = compact.substr(4) + compact.substr(0, 4);
    int remainder = 0;
    for (char c : moved) {
        int v = isDigit(c) ? c - '0' : c - 'A' + 10;
        remainder = v >= 10 ? (remainder * 100 + v) % 97 : (remainder * 10 + v) % 97;
    }
    return remainder == 1;
}

bool isUsSsn(std::string_view value)
{
    value = trim(value);
    if (value.size() != 11 || value[3] != '-' || value[6] != '-')
        return false;
    std::string_view area = value.substr(0, 3), group = value.substr(4, 2),
                     serial = value.substr(7, 4);
    if (!allDigits(area) || !allDigits(group) || !allDigits(serial))
        return false;
    int a = prefixNumber(area, 3);
    if (a == 0 || a == 666 || a >= 900)
        return false;
    return prefixNumber(group, 2) != 0 && prefixNumber(serial, 4) != 0;
}

bool matchesPii(PiiKind kind, std::string_view value)
{
    switch (kind) {
    case PiiKind::Email:
        return isEmail(value);
    case PiiKind::Phone:
        return isPhoneNumber(value);
    case PiiKind::CreditCard:
        return isCreditCardNumber(value);
    case PiiKind::Ipv4:
        return isIpv4(value);
    case PiiKind::Ipv6:
        return isIpv6(value);
    case PiiKind::Iban:
        return isIban(value);
    case PiiKind::UsSsn:
        return isUsSsn(value);
    }
    return false;
}

} // namespace sb::eval
