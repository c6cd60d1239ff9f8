#include "app/cli/eval_common.h"

#include "app/cli/command.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

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

std::string formatJsonNumber(const nlohmann::json &value, int precision)
{
    if (!value.is_number())
        return "n/a";
    std::ostringstream s;
    s << std::fixed << std::setprecision(precision) << value.get<double>();
    return s.str();
}

int reportGates(const std::string &command, const std::vector<eval::GateResult> &gates)
{
    int code = kExitOk;
    for (const auto &g : gates)
        if (!g.passed) {
            std::cerr << "shardbench-cli " << command << ": gate failed: " << g.expr << " (value "
                      << (std::isfinite(g.value) ? std::to_string(g.value) : "undefined") << ")\n";
            code = kExitGateFailed;
        }
    return code;
}

Status writeJsonFile(const std::string &path, const nlohmann::json &json)
{
    std::ofstream file(path);
    file << json.dump(2) << "\n";
    if (!file)
        return makeError(ErrorCode::Io, path + ": cannot write");
    return {};
}

} // namespace sb::cli
