#include "core/eval/memory_limit.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <unistd.h>

namespace sb::eval {

std::size_t physicalMemoryBytes()
{
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long pageSize = sysconf(_SC_PAGE_SIZE);
    if (pages <= 0 || pageSize <= 0)
        return 0;
    return static_cast<std::size_t>(pages) * static_cast<std::size_t>(pageSize);
}

std::size_t defaultMemoryLimit()
{
    const std::size_t physical = physicalMemoryBytes();
    if (physical == 0)
        return std::size_t(1) << 30;
    return std::max<std::size_t>(physical / 16, std::size_t(256) << 20);
}

Result<std::size_t> parseMemorySize(const std::string &text)
{
    auto bad = [&] {
        return makeError(ErrorCode::InvalidInput,
                         "memory size '" + text +
                             "': expected bytes or a number with k, M, G (binary units), "
                             "e.g. 1.5G or 800M, at least 64M");
    };
    double value = 0;
    const char *begin = text.data(), *end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(begin, end, value);
    if (ec != std::errc() || !(value > 0))
        return bad();
    std::string unit(ptr, end);
    std::transform(unit.begin(), unit.end(), unit.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    double scale = 1;
    if (unit.empty() || unit == "b")
        scale = 1;
    else if (unit == "k" || unit == "kb" || unit == "kib")
        scale = 1024.0;
    else if (unit == "m" || unit == "mb" || unit == "mib")
        scale = 1024.0 * 1024;
    else if (unit == "g" || unit == "gb" || unit == "gib")
        scale = 1024.0 * 1024 * 1024;
    else
        return bad();
    const double bytes = value * scale;
    if (bytes < 64.0 * 1024 * 1024 || bytes > 1e18)
        return bad();
    return static_cast<std::size_t>(bytes);
}

} // namespace sb::eval
