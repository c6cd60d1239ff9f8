// Detectors for personal data in text values. Each detector decides whether a
// whole (trimmed) value IS such an item; they are deliberately conservative
// (checksums and range rules where the format has them) because a false
// "this column holds credit cards" is worse than a miss.
//
//   email        local@domain.tld, RFC 5322 "dot-atom" subset, TLD >= 2 letters
//   phone        E.164 (+ and 8-15 digits, separators allowed) or a North
//                American national number written with separators:
//                (415) 555-2671, 415-555-2671, 415.555.2671, 415 555 2671
//   credit_card  13-19 digits (single spaces/dashes allowed between groups),
//                Luhn-valid and a known issuer prefix (Visa, Mastercard, Amex,
//                Discover, JCB, Diners, UnionPay, Maestro)
//   ipv4         dotted quad, each 0-255, no leading zeros
//   ipv6         RFC 4291 text forms (:: compression, embedded IPv4)
//   iban         country code with its registered length, mod-97 == 1
//   us_ssn       AAA-GG-SSSS, area not 000/666/9xx, group not 00, serial not 0000
#pragma once

#include <string_view>
#include <vector>

namespace sb::eval {

enum class PiiKind
{
    Email,
    Phone,
    CreditCard,
    Ipv4,
    Ipv6,
    Iban,
    UsSsn
};
inline constexpr PiiKind kAllPiiKinds[] = {PiiKind::Email, PiiKind::Phone, PiiKind::CreditCard,
                                           PiiKind::Ipv4,  PiiKind::Ipv6,  PiiKind::Iban,
                                           PiiKind::UsSsn};

const char *piiKindName(PiiKind kind); // "email", "phone", "credit_card", ...

bool isEmail(std::string_view value);
bool isPhoneNumber(std::string_view value);
bool isCreditCardNumber(std::string_view value);
bool luhnValid(std::string_view digits); // digits only
bool isIpv4(std::string_view value);
bool isIpv6(std::string_view value);
bool isIban(std::string_view value);
bool isUsSsn(std::string_view value);

bool matchesPii(PiiKind kind, std::string_view value);

} // namespace sb::eval
