// Demo step 20: the local devices the planner and the pipeline runner use.
#include "app/cli/demo.h"

#include "core/plan/devices.h"

#include <cstdio>
#include <filesystem>
#include <ostream>

namespace sb::cli {
namespace {

Status demoDevices(DemoContext &context)
{
    plan::LocalDeviceOptions options;
    options.cpuDevices = context.cpuDevices;
    SB_ASSIGN_OR_RETURN(plan::DeviceSet devices, plan::discoverLocalDevices(options));
    std::ostream &out = *context.out;
    char line[256];
    for (const plan::DeviceSpec &device : devices.devices) {
        std::snprintf(line, sizeof line, "%-7s %-4s %d thread(s), cap %s, %s (%s)\n",
                      device.id.c_str(), device.kind.c_str(), device.threads,
                      plan::formatBytes(device.memoryBytes).c_str(),
                      plan::formatRate(device.flops).c_str(), device.source.c_str());
        out << line;
    }
    std::snprintf(line, sizeof line, "local link: %s, %.1f GB/s\n",
                  devices.defaultLink.name.c_str(), devices.defaultLink.bandwidth / 1e9);
    out << line;
    SB_ASSIGN_OR_RETURN(plan::Catalog catalog,
                        plan::loadCatalog(context.resources / "devices.json"));
    out << "what-if catalogue: " << catalog.devices.size()
        << " device models (shardbench-cli devices --catalog)\n";
    return {};
}

const DemoStepRegistrar registrar{20, "Devices", demoDevices};

} // namespace
} // namespace sb::cli
