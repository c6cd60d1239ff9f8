// Shared by the store-backed commands (registry, deploy, checklist, audit,
// report, modelcard): the --db / --actor options and sub-command dispatch.
#pragma once

#include "app/cli/args.h"
#include "core/store/store.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace sb::cli {

// Adds --db PATH (default: the embedded database) and --actor NAME.
void addStoreOptions(ArgSpec &spec);
// Opens the store named by --db; errors are reported (exit code in *exitCode).
std::unique_ptr<store::Store> openStoreOrReport(const ParsedArgs &parsed,
                                                const std::string &command, int *exitCode);

struct SubCommand
{
    std::string name;
    std::string summary;
    std::function<int(Args &)> run;
};

// `shardbench-cli GROUP SUB [options]`: runs SUB with args.command = "GROUP SUB".
int dispatchSubCommand(Args &args, const std::string &description,
                       const std::vector<SubCommand> &subCommands);

} // namespace sb::cli
