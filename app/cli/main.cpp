// shardbench-cli: every workbench action as a headless command.
#include "app/cli/command.h"
#include "core/runtime/heap_policy.h"
#include "kernels/registry.h"

#include <algorithm>
#include <csignal>
#include <cstring>
#include <iostream>

namespace {

void printUsage()
{
    auto &all = sb::cli::commands();
    std::sort(all.begin(), all.end(), [](const auto &a, const auto &b) { return a.name < b.name; });
    std::cout << "Usage: shardbench-cli <command> [options]\n\n"
                 "Deploy and evaluate ONNX models with model parallelism, headless.\n\n"
                 "Commands:\n";
    for (const auto &command : all) {
        std::string head = "  " + command.name;
        std::cout << head << std::string(head.size() < 16 ? 16 - head.size() : 1, ' ')
                  << command.summary << "\n";
    }
    std::cout << "\nRun 'shardbench-cli <command> --help' for a command's options.\n"
                 "Exit codes: 0 ok; 1 a check found a problem (conformance, audit chain)\n"
                 "or another failure (I/O, internal); 2 bad input or usage; 3 an evaluation\n"
                 "or monitoring gate failed; 4 a run failed; 130 cancelled.\n"
                 "--json prints one JSON object on one line of stdout; messages go to stderr.\n"
                 "--db PATH always names a Shardbench database. The store commands (registry,\n"
                 "deploy, checklist, audit, report, modelcard, monitor, feedback, calibrate,\n"
                 "serve, demo) work on one: the default database unless --db names another.\n"
                 "The analysis commands (eval, drift, quality, robustness, poisoning, privacy)\n"
                 "store their report only when --db is given.\n";
}

} // namespace

int main(int argc, char **argv)
{
    // Runs allocate the same large blocks each time: keep them mapped (heap_policy.h).
    (void)sb::runtime::keepRunBuffersMapped();
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
        std::strcmp(argv[1], "help") == 0) {
        printUsage();
        return argc < 2 ? sb::cli::kExitBadInput : sb::cli::kExitOk;
    }
    if (std::strcmp(argv[1], "--version") == 0) {
        std::cout << "shardbench-cli " SHARDBENCH_VERSION "\n";
        return 0;
    }
    // Registers the kernels and the device kinds (CUDA) before anything lists
    // or creates devices: the planner asks the device factory, not a kind's library.
    (void)sb::kernels::defaultRegistry();
    sb::cli::Args args;
    args.command = argv[1];
    for (int i = 2; i < argc; ++i)
        args.argv.emplace_back(argv[i]);
    for (const auto &command : sb::cli::commands()) {
        if (command.name != args.command)
            continue;
        // The core reports errors as results; this catches what a library
        // below it may still throw (JSON of invalid UTF-8, allocation) so the
        // user gets a message and exit 1 instead of an abort.
        try {
            return command.run(args);
        } catch (const std::exception &e) {
            std::cerr << "shardbench-cli " << args.command << ": internal error: " << e.what()
                      << "\n";
            return sb::cli::kExitFailure;
        }
    }
    std::cerr << "shardbench-cli: unknown command '" << args.command
              << "'. Run 'shardbench-cli --help' for the list.\n";
    return sb::cli::kExitBadInput;
}
