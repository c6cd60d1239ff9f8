#include "app/cli/eval_common.h"

#include "app/cli/command.h"

#include "core/eval/memory_limit.h"

#include <chrono>
#include <cstdio>
#include <memory>

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
            std::cerr << "shardbench-cli " << command << ": gate failed: " << g.expr << " (";
            const char *separator = "";
            for (const auto &[name, value] : g.values) {
                std::cerr << separator << (g.values.size() == 1 ? "value" : name) << " "
                          << (std::isfinite(value) ? std::to_string(value) : "undefined");
                separator = ", ";
            }
            std::cerr << ")\n";
            code = kExitGateFailed;
        }
    return code;
}

Status writeJsonFile(const std::string &path, const nlohmann::json &json)
{
    std::ofstream file(path);
    file << json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    if (!file)
        return makeError(ErrorCode::Io, path + ": cannot write");
    return {};
}

void addStreamingOptions(ArgSpec &spec, bool memoryLimit)
{
    if (memoryLimit)
        spec.option("memory-limit", "SIZE",
                    "bound the memory of per-row state (e.g. 1.5G, 800M): more passes over the\n"
                    "file or spilled partitions instead of more memory (default 1/16 of RAM)");
    spec.flag("progress",
              "progress (rows read, rate, ETA) on stderr even when it is not a terminal");
}

Result<std::size_t> memoryLimitFromArgs(const ParsedArgs &parsed)
{
    if (!parsed.has("memory-limit"))
        return eval::defaultMemoryLimit();
    auto limit = eval::parseMemorySize(parsed.get("memory-limit"));
    if (!limit)
        return makeError(ErrorCode::InvalidInput, "--memory-limit: " + limit.error().message);
    return *limit;
}

ProgressFn evaluationProgress(const std::string &what, const ParsedArgs &parsed)
{
    const bool wanted = parsed.flag("progress") || (stderrIsTerminal() && !parsed.flag("json"));
    if (!wanted)
        return {};
    using Clock = std::chrono::steady_clock;
    struct State
    {
        Clock::time_point start = Clock::now();
        Clock::time_point last{};
        bool done = false;
    };
    auto state = std::make_shared<State>();
    const bool terminal = stderrIsTerminal();
    return [what, state, terminal](double fraction, const std::string &message) {
        const auto now = Clock::now();
        const bool finished = fraction >= 1.0;
        if (state->done ||
            (!finished && now - state->last < std::chrono::milliseconds(terminal ? 200 : 2000)))
            return;
        state->last = now;
        const double elapsed = std::chrono::duration<double>(now - state->start).count();
        std::string line =
            what + ": " + std::to_string(static_cast<int>(fraction * 100)) + "% " + message;
        // "<N> rows" in the message gives the rate.
        const auto at = message.rfind(" rows");
        if (at != std::string::npos && elapsed > 0) {
            auto begin = message.find_last_not_of("0123456789", at - 1);
            begin = begin == std::string::npos ? 0 : begin + 1;
            if (begin < at) {
                const double rows = std::strtod(message.substr(begin, at - begin).c_str(), nullptr);
                char rate[64];
                std::snprintf(rate, sizeof rate, ", %.2fM rows/s", rows / elapsed / 1e6);
                line += rate;
            }
        }
        char tail[64];
        if (finished)
            std::snprintf(tail, sizeof tail, ", %.1f s", elapsed);
        else if (fraction > 0.001)
            std::snprintf(tail, sizeof tail, ", ETA %.0f s", elapsed * (1 - fraction) / fraction);
        else
            tail[0] = '\0';
        line += tail;
        if (terminal)
            std::fprintf(stderr, "\r%-100s%s", line.c_str(), finished ? "\n" : "");
        else
            std::fprintf(stderr, "%s\n", line.c_str());
        std::fflush(stderr);
        state->done = finished;
    };
}

} // namespace sb::cli
