// shardbench-cli subcommand registry. Each subcommand lives in its own file
// and registers itself with a static CommandRegistrar, so adding a command
// never touches main.cpp:
//
//   static int runInspect(sb::cli::Args &args);
//   static const sb::cli::CommandRegistrar reg{"inspect", "Summarise a model", runInspect};
#pragma once

#include "app/cli/args.h"

#include <functional>
#include <string>
#include <vector>

namespace sb::cli {

// Exit codes (public interface, see README).
inline constexpr int kExitOk = 0;
// 1: a check found a problem (a failed conformance case, a broken audit
// chain), or another failure (I/O, an internal error).
inline constexpr int kExitCheckFailed = 1;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitBadInput = 2; // bad input or usage
inline constexpr int kExitGateFailed = 3;
inline constexpr int kExitRunFailed = 4;
inline constexpr int kExitCancelled = 130;

using CommandFn = std::function<int(Args &args)>;

struct Command
{
    std::string name;    // e.g. "inspect" or "registry" (sub-subcommands parse args.positional)
    std::string summary; // one line for `shardbench-cli --help`
    CommandFn run;
};

std::vector<Command> &commands();

struct CommandRegistrar
{
    CommandRegistrar(std::string name, std::string summary, CommandFn run)
    {
        commands().push_back(Command{std::move(name), std::move(summary), std::move(run)});
    }
};

} // namespace sb::cli
