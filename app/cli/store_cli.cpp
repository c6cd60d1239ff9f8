#include "app/cli/store_cli.h"

#include "app/cli/command.h"
#include "core/common/paths.h"

#include <iostream>

namespace sb::cli {

void addStoreOptions(ArgSpec &spec)
{
    spec.option("db", "PATH", "database file", defaultDatabasePath().string());
    spec.option("actor", "NAME", "who is acting, for the audit log [default: $USER]");
}

std::unique_ptr<store::Store> openStoreOrReport(const ParsedArgs &parsed,
                                                const std::string &command, int *exitCode)
{
    store::OpenOptions options;
    options.actor = parsed.get("actor");
    auto opened = store::Store::open(parsed.get("db", defaultDatabasePath().string()), options);
    if (!opened.ok()) {
        *exitCode = reportError(command, opened.error());
        return nullptr;
    }
    *exitCode = kExitOk;
    return std::move(opened).value();
}

int dispatchSubCommand(Args &args, const std::string &description,
                       const std::vector<SubCommand> &subCommands)
{
    auto printHelp = [&](std::ostream &out) {
        out << "Usage: shardbench-cli " << args.command << " <sub-command> [options]\n\n"
            << description << "\n\nSub-commands:\n";
        for (const auto &sub : subCommands) {
            std::string head = "  " + sub.name;
            out << head << std::string(head.size() < 14 ? 14 - head.size() : 1, ' ') << sub.summary
                << "\n";
        }
        out << "\nRun 'shardbench-cli " << args.command
            << " <sub-command> --help' for its options.\n";
    };
    if (args.argv.empty()) {
        printHelp(std::cerr);
        return kExitBadInput;
    }
    const std::string &name = args.argv.front();
    if (name == "--help" || name == "-h" || name == "help") {
        printHelp(std::cout);
        return kExitOk;
    }
    for (const auto &sub : subCommands) {
        if (sub.name == name) {
            Args subArgs;
            subArgs.command = args.command + " " + name;
            subArgs.argv.assign(args.argv.begin() + 1, args.argv.end());
            return sub.run(subArgs);
        }
    }
    std::cerr << "shardbench-cli " << args.command << ": unknown sub-command '" << name << "'\n";
    printHelp(std::cerr);
    return kExitBadInput;
}

} // namespace sb::cli
