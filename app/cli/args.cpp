#include "app/cli/args.h"
#include "core/common/json_text.h"

#include "app/cli/command.h"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <unistd.h>

namespace sb::cli {

std::vector<Command> &commands()
{
    static std::vector<Command> registry;
    return registry;
}

bool ParsedArgs::flag(const std::string &name) const
{
    auto it = flags.find(name);
    return it != flags.end() && it->second;
}

bool ParsedArgs::has(const std::string &name) const
{
    auto it = values.find(name);
    return it != values.end() && !it->second.empty();
}

std::string ParsedArgs::get(const std::string &name, const std::string &fallback) const
{
    auto it = values.find(name);
    if (it == values.end() || it->second.empty())
        return fallback;
    return it->second.back();
}

const std::vector<std::string> &ParsedArgs::all(const std::string &name) const
{
    static const std::vector<std::string> empty;
    auto it = values.find(name);
    return it == values.end() ? empty : it->second;
}

Result<long long> ParsedArgs::getInt(const std::string &name, long long fallback) const
{
    if (!has(name))
        return fallback;
    std::string text = get(name);
    long long value = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || ptr != text.data() + text.size())
        return makeError(ErrorCode::InvalidInput,
                         "--" + name + " expects an integer, got '" + text + "'");
    return value;
}

Result<double> ParsedArgs::getDouble(const std::string &name, double fallback) const
{
    if (!has(name))
        return fallback;
    std::string text = get(name);
    try {
        std::size_t used = 0;
        double value = std::stod(text, &used);
        if (used != text.size())
            throw std::invalid_argument(text);
        return value;
    } catch (...) {
        return makeError(ErrorCode::InvalidInput,
                         "--" + name + " expects a number, got '" + text + "'");
    }
}

ArgSpec::ArgSpec(std::string usage, std::string description)
    : m_usage(std::move(usage)), m_description(std::move(description))
{}

ArgSpec &ArgSpec::positional(std::string name, std::string help, bool required, bool repeated)
{
    m_positionals.push_back({std::move(name), std::move(help), required, repeated});
    return *this;
}

ArgSpec &ArgSpec::option(std::string name, std::string valueName, std::string help,
                         std::string defaultValue)
{
    m_options.push_back({std::move(name), std::move(valueName), std::move(help),
                         std::move(defaultValue), false, false});
    return *this;
}

ArgSpec &ArgSpec::multi(std::string name, std::string valueName, std::string help)
{
    m_options.push_back({std::move(name), std::move(valueName), std::move(help), {}, false, true});
    return *this;
}

ArgSpec &ArgSpec::flag(std::string name, std::string help)
{
    m_options.push_back({std::move(name), {}, std::move(help), {}, true, false});
    return *this;
}

ArgSpec &ArgSpec::required(const std::string &name)
{
    for (auto &option : m_options)
        if (option.name == name)
            option.isRequired = true;
    return *this;
}

ArgSpec &ArgSpec::epilog(std::string text)
{
    m_epilog = std::move(text);
    return *this;
}

const ArgSpec::Option *ArgSpec::findOption(const std::string &name) const
{
    for (const auto &option : m_options)
        if (option.name == name)
            return &option;
    return nullptr;
}

std::string ArgSpec::help() const
{
    std::ostringstream out;
    out << "Usage: shardbench-cli " << m_usage << "\n\n" << m_description << "\n";
    if (!m_positionals.empty()) {
        out << "\nArguments:\n";
        for (const auto &p : m_positionals) {
            std::string head = "  " + p.name + (p.repeated ? "..." : "");
            out << head << std::string(head.size() < 28 ? 28 - head.size() : 1, ' ') << p.help
                << (p.required ? "" : " (optional)") << "\n";
        }
    }
    out << "\nOptions:\n";
    for (const auto &o : m_options) {
        std::string head = "  --" + o.name + (o.isFlag ? "" : " " + o.valueName);
        out << head << std::string(head.size() < 28 ? 28 - head.size() : 1, ' ') << o.help;
        if (o.isRequired)
            out << " (required)";
        if (o.repeated)
            out << " (repeatable)";
        if (!o.defaultValue.empty())
            out << " [default: " << o.defaultValue << "]";
        out << "\n";
    }
    out << "  --help                    show this help\n";
    if (!m_epilog.empty())
        out << "\n" << m_epilog << "\n";
    return out.str();
}

ParsedArgs ArgSpec::parse(const Args &args) const
{
    ParsedArgs parsed;
    auto usageError = [&](const std::string &message) {
        std::cerr << "shardbench-cli " << args.command << ": " << message << "\n"
                  << "Try 'shardbench-cli " << args.command << " --help'.\n";
        parsed.ok = false;
        parsed.exitCode = kExitBadInput;
        return parsed;
    };
    bool onlyPositional = false;
    for (std::size_t i = 0; i < args.argv.size(); ++i) {
        const std::string &arg = args.argv[i];
        if (!onlyPositional && arg == "--") {
            onlyPositional = true;
            continue;
        }
        if (!onlyPositional && (arg == "--help" || arg == "-h")) {
            std::cout << help();
            parsed.ok = false;
            parsed.exitCode = kExitOk;
            return parsed;
        }
        if (!onlyPositional && arg.rfind("--", 0) == 0 && arg.size() > 2) {
            std::string name = arg.substr(2);
            std::string value;
            bool inlineValue = false;
            if (auto eq = name.find('='); eq != std::string::npos) {
                value = name.substr(eq + 1);
                name = name.substr(0, eq);
                inlineValue = true;
            }
            const Option *option = findOption(name);
            if (!option)
                return usageError("unknown option --" + name);
            if (option->isFlag) {
                if (inlineValue)
                    return usageError("--" + name + " takes no value");
                parsed.flags[name] = true;
                continue;
            }
            if (!inlineValue) {
                if (i + 1 >= args.argv.size())
                    return usageError("--" + name + " needs a value (" + option->valueName + ")");
                value = args.argv[++i];
            }
            parsed.values[name].push_back(value);
            continue;
        }
        parsed.positional.push_back(arg);
    }
    // Check positional counts.
    std::size_t required = 0;
    bool anyRepeated = false;
    for (const auto &p : m_positionals) {
        required += p.required ? 1 : 0;
        anyRepeated = anyRepeated || p.repeated;
    }
    if (parsed.positional.size() < required)
        return usageError("missing argument " + m_positionals[parsed.positional.size()].name);
    if (!anyRepeated && parsed.positional.size() > m_positionals.size())
        return usageError("unexpected argument '" + parsed.positional[m_positionals.size()] + "'");
    for (const auto &o : m_options)
        if (o.isRequired && !parsed.has(o.name))
            return usageError("--" + o.name + " " + o.valueName + " is required");
    for (const auto &o : m_options) {
        if (!o.isFlag && !o.repeated && !o.defaultValue.empty() && !parsed.has(o.name))
            parsed.values[o.name].push_back(o.defaultValue);
    }
    parsed.ok = true;
    return parsed;
}

int exitCodeFor(const Error &error)
{
    switch (error.code) {
    case ErrorCode::InvalidInput:
    case ErrorCode::Unsupported:
    case ErrorCode::NotFound:
    case ErrorCode::Conflict:
        return kExitBadInput;
    case ErrorCode::Runtime:
        return kExitRunFailed;
    case ErrorCode::Cancelled:
        return kExitCancelled;
    case ErrorCode::Io:
    case ErrorCode::Internal:
        return kExitFailure;
    }
    return kExitFailure;
}

int reportError(const std::string &command, const Error &error)
{
    std::cerr << "shardbench-cli " << command << ": " << error.message << "\n";
    return exitCodeFor(error);
}

int reportRunError(const std::string &command, Error error)
{
    if (error.code == ErrorCode::Unsupported || error.code == ErrorCode::Internal)
        error.code = ErrorCode::Runtime;
    return reportError(command, error);
}

bool stderrIsTerminal()
{
    return ::isatty(STDERR_FILENO) != 0;
}

void printJson(const nlohmann::json &json)
{
    std::cout << jsonText(json) << "\n";
}

} // namespace sb::cli
