// `shardbench-cli demo`: the main job on the embedded defaults.
#include "app/cli/command.h"
#include "app/cli/demo.h"

#include "core/common/paths.h"

#include <algorithm>
#include <chrono>
#include <iostream>

namespace sb::cli {

std::vector<DemoStep> &demoSteps()
{
    static std::vector<DemoStep> steps;
    return steps;
}

namespace {

int runDemo(Args &args)
{
    ArgSpec spec("demo [--db PATH] [--cpu-devices N] [--work-dir DIR]",
                 "Run the main job on the embedded defaults: the bundled demo models, a SQLite\n"
                 "file under the user's data dir and the local CPU devices. Prints what it did.");
    spec.option("db", "PATH", "database file", defaultDatabasePath().string());
    spec.option("cpu-devices", "N", "number of local CPU devices", "2");
    spec.option("work-dir", "DIR", "folder for plans, traces and reports",
                (userDataDir() / "demo").string());
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;

    DemoContext context;
    context.resources = resourceDir();
    context.database = parsed.get("db");
    context.workDir = parsed.get("work-dir");
    auto cpuDevices = parsed.getInt("cpu-devices", 2);
    if (!cpuDevices)
        return reportError(args.command, cpuDevices.error());
    context.cpuDevices = static_cast<int>(*cpuDevices);
    context.out = &std::cout;
    std::error_code ec;
    std::filesystem::create_directories(context.workDir, ec);

    auto steps = demoSteps();
    std::sort(steps.begin(), steps.end(),
              [](const DemoStep &a, const DemoStep &b) { return a.order < b.order; });
    std::cout << "Shardbench " SHARDBENCH_VERSION " main job (headless)\n"
              << "resources: " << context.resources.string() << "\n";
    for (const auto &step : steps) {
        std::cout << "\n== " << step.name << " ==\n";
        auto started = std::chrono::steady_clock::now();
        Status status = step.run(context);
        if (!status.ok())
            return reportError(args.command, status.error().withContext(step.name));
        auto ms =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        std::cout << "(" << step.name << ": " << static_cast<long long>(ms) << " ms)\n";
    }
    return kExitOk;
}

const CommandRegistrar registrar{"demo", "Run the main job on the embedded defaults (headless)",
                                 runDemo};

} // namespace
} // namespace sb::cli
