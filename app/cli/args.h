// A small declarative argument parser for shardbench-cli subcommands.
//
// Usage inside a command:
//   ArgSpec spec("inspect MODEL.onnx", "Summarise an ONNX model.");
//   spec.positional("MODEL.onnx", "model file");
//   spec.option("batch", "N", "bind symbolic batch dims to N");
//   spec.multi("dim", "NAME=V", "bind a symbolic dim (repeatable)");
//   spec.flag("json", "print one JSON object");
//   auto parsed = spec.parse(args);  // prints help / errors itself
//   if (!parsed) return parsed.exitCode;
#pragma once

#include "core/common/result.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::cli {

// Raw arguments after the command name.
struct Args
{
    std::string command;
    std::vector<std::string> argv;
};

struct ParsedArgs
{
    bool ok = false;
    int exitCode = 0; // when !ok: 0 after --help, 2 after a usage error
    std::vector<std::string> positional;
    std::map<std::string, std::vector<std::string>> values; // option -> all given values
    std::map<std::string, bool> flags;

    explicit operator bool() const { return ok; }
    bool flag(const std::string &name) const;
    bool has(const std::string &name) const;
    std::string get(const std::string &name, const std::string &fallback = {}) const;
    const std::vector<std::string> &all(const std::string &name) const;
    // Integer/double options: a parse failure prints an error naming the option.
    Result<long long> getInt(const std::string &name, long long fallback) const;
    Result<double> getDouble(const std::string &name, double fallback) const;
};

class ArgSpec
{
public:
    ArgSpec(std::string usage, std::string description);
    ArgSpec &positional(std::string name, std::string help, bool required = true,
                        bool repeated = false);
    ArgSpec &option(std::string name, std::string valueName, std::string help,
                    std::string defaultValue = {});
    ArgSpec &multi(std::string name, std::string valueName, std::string help);
    ArgSpec &flag(std::string name, std::string help);
    // Marks an already declared option as mandatory: parse() then fails with a
    // usage error (exit 2) naming it when it is absent, and --help says so.
    ArgSpec &required(const std::string &name);
    // Appends free text (examples, notes) to --help.
    ArgSpec &epilog(std::string text);

    ParsedArgs parse(const Args &args) const;
    std::string help() const;

private:
    struct Positional
    {
        std::string name, help;
        bool required, repeated;
    };
    struct Option
    {
        std::string name, valueName, help, defaultValue;
        bool isFlag, repeated;
        bool isRequired = false;
    };
    const Option *findOption(const std::string &name) const;

    std::string m_usage, m_description, m_epilog;
    std::vector<Positional> m_positionals;
    std::vector<Option> m_options;
};

// Prints "shardbench-cli <command>: <message>" on stderr and returns the exit
// code that matches the error (2 for input errors, 4 for runtime, 130 cancel).
int reportError(const std::string &command, const Error &error);
int exitCodeFor(const Error &error);
// For errors while running a model: an op the device cannot run or an
// internal error there is a failed run (exit 4), not bad input (2) or 1.
int reportRunError(const std::string &command, Error error);

// Prints `json` as the one JSON document of a --json command: one line on
// stdout. Invalid UTF-8 in strings (a file name, a CSV label) is replaced by
// U+FFFD instead of failing the command.
void printJson(const nlohmann::json &json);

// True when stdout/stderr is a terminal (progress bars only there).
bool stderrIsTerminal();

} // namespace sb::cli
