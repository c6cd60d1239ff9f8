// The headless main job (`shardbench-cli demo`, run by `./scripts/run
// --headless`). Each capability adds a step in its own file with a static
// DemoStepRegistrar; steps run in `order` and print what they did.
#pragma once

#include "core/common/result.h"

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <string>

namespace sb::cli {

struct DemoContext
{
    std::filesystem::path resources; // resources/ folder
    std::filesystem::path database;  // the embedded SQLite file
    std::filesystem::path workDir;   // scratch folder for this run (plans, traces, reports)
    int cpuDevices = 2;
    std::ostream *out = nullptr; // where steps print their summary
};

struct DemoStep
{
    int order;        // 10 model summary, 20 devices, 30 plan+run, 40 eval, 50 store...
    std::string name; // printed as a section heading
    std::function<Status(DemoContext &)> run;
};

std::vector<DemoStep> &demoSteps();

struct DemoStepRegistrar
{
    DemoStepRegistrar(int order, std::string name, std::function<Status(DemoContext &)> run)
    {
        demoSteps().push_back(DemoStep{order, std::move(name), std::move(run)});
    }
};

} // namespace sb::cli
