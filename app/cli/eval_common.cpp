#include "app/cli/eval_common.h"

namespace sb::cli {

std::vector<std::string> splitList(const std::string &text)
{
    std::vector<std::string> out;
    std::string item;
    auto flush = [&] {
        const auto a = item.find_first_not_of(" \t");
        const auto b = item.find_last_not_of(" \t");
        if (a != std::string::npos)
            out.push_back(item.substr(a, b - a + 1));
        item.clear();
    };
    for (char c : text) {
        if (c == ',')
            flush();
        else
            item += c;
    }
    flush();
    return out;
}

} // namespace sb::cli
