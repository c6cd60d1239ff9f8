// `shardbench-cli devices`: the local devices the planner and runner use.
#include "app/cli/command.h"
#include "app/cli/pipeline_cli.h"

#include "core/plan/mpi_run.h"
#include "core/plan/plan_file.h"

#include <cstdio>
#include <filesystem>
#include <iostream>

namespace sb::cli {
namespace {

// devices --hosts: every host's devices, probed through mpirun.
int listHostDevices(const std::string &command, const ParsedArgs &parsed)
{
    Result<std::vector<plan::HostSlots>> hosts = parsed.has("hostfile")
                                                     ? plan::readHostfile(parsed.get("hostfile"))
                                                     : plan::parseHostList(parsed.get("hosts"));
    if (!hosts)
        return reportError(command, hosts.error());
    auto cpuDevices = parsed.getInt("cpu-devices", 2);
    if (!cpuDevices)
        return reportError(command, cpuDevices.error());
    auto probes = plan::probeHosts(
        *hosts, parsed.get("worker"), static_cast<int>(*cpuDevices),
        [&](const std::string &line) { std::cerr << line << "\n"; }, &interruptToken());
    if (!probes)
        return reportError(command, probes.error());
    std::vector<plan::HostLink> links;
    const std::filesystem::path linksPath = parsed.has("host-links")
                                                ? std::filesystem::path(parsed.get("host-links"))
                                                : plan::defaultHostLinksPath();
    if (auto loaded = plan::loadHostLinks(linksPath))
        links = std::move(*loaded);
    else if (parsed.has("host-links"))
        return reportError(command, loaded.error());
    const plan::DeviceSet set = plan::remoteDeviceSet(*probes, links);
    if (parsed.flag("json")) {
        nlohmann::json list = nlohmann::json::array();
        for (const plan::HostProbe &probe : *probes) {
            nlohmann::json devices = nlohmann::json::array();
            for (const auto &device : probe.devices)
                devices.push_back(plan::deviceToJson(device));
            list.push_back({{"host", probe.host},
                            {"hostname", probe.hostname},
                            {"hardware_threads", probe.hardwareThreads},
                            {"memory_bytes", probe.memoryBytes},
                            {"devices", devices}});
        }
        nlohmann::json linkList = nlohmann::json::array();
        for (const auto &link : set.links)
            linkList.push_back({{"from", link.from},
                                {"to", link.to},
                                {"name", link.name},
                                {"bandwidth", link.bandwidth},
                                {"latency_s", link.latencySeconds}});
        printJson(nlohmann::json{{"hosts", list}, {"links", linkList}});
        return kExitOk;
    }
    for (const plan::HostProbe &probe : *probes) {
        std::printf("%s (%s): %d threads, %s\n", probe.host.c_str(), probe.hostname.c_str(),
                    probe.hardwareThreads, plan::formatBytes(probe.memoryBytes).c_str());
        for (const auto &device : probe.devices)
            std::printf("  %-20s %-5s %7d %12s %16s\n", device.id.c_str(), device.kind.c_str(),
                        device.threads, plan::formatBytes(device.memoryBytes).c_str(),
                        plan::formatRate(device.flops).c_str());
    }
    std::printf("%zu measured links between hosts\n", set.links.size());
    return kExitOk;
}

int runDevices(Args &args)
{
    ArgSpec spec("devices [--cpu-devices N] [--memory-cap DEV=SIZE]... [--hosts H:S,...] [--json]",
                 "List this machine's devices: CPU devices made by splitting the cores (each\n"
                 "with its own thread pool and memory cap) and CUDA GPUs when built with CUDA.\n"
                 "Rates come from `shardbench-cli calibrate` when it has run, else defaults.");
    addLocalDeviceOptions(spec);
    spec.flag("catalog", "also list the what-if catalogue (resources/devices.json)");
    spec.option("hosts", "HOST[:SLOTS],...",
                "probe these hosts through mpirun (shardbench-worker --probe on each); "
                "device ids become HOST/cpu:N");
    spec.option("hostfile", "FILE", "an Open MPI hostfile instead of --hosts");
    spec.option("worker", "PATH",
                "shardbench-worker on every host (default: next to this program)");
    spec.option("host-links", "FILE",
                "measured links between hosts (default: " + plan::defaultHostLinksPath().string() +
                    " when present; written by calibrate --hosts)");
    spec.flag("json", "print one JSON object");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    if (parsed.has("hosts") || parsed.has("hostfile"))
        return listHostDevices(args.command, parsed);
    auto devices = localDevicesFromArgs(parsed);
    if (!devices)
        return reportError(args.command, devices.error());
    std::optional<plan::Catalog> catalog;
    if (parsed.flag("catalog")) {
        auto loaded = plan::loadCatalog();
        if (!loaded)
            return reportError(args.command, loaded.error());
        catalog = std::move(loaded).value();
    }
    if (parsed.flag("json")) {
        nlohmann::json doc;
        nlohmann::json list = nlohmann::json::array();
        for (const auto &device : devices->devices)
            list.push_back(plan::deviceToJson(device));
        doc["devices"] = list;
        doc["local_link"] = {{"name", devices->defaultLink.name},
                             {"bandwidth", devices->defaultLink.bandwidth},
                             {"latency_s", devices->defaultLink.latencySeconds}};
        if (catalog) {
            nlohmann::json entries = nlohmann::json::array();
            for (const auto &device : catalog->devices)
                entries.push_back({{"name", device.name},
                                   {"kind", device.kind},
                                   {"memory_bytes", device.memoryBytes},
                                   {"fp32_flops", device.flopsFp32},
                                   {"fp16_flops", device.flopsFp16},
                                   {"memory_bandwidth", device.memoryBandwidth},
                                   {"price_per_hour", device.pricePerHour},
                                   {"source", device.source}});
            doc["catalog"] = entries;
        }
        printJson(doc);
        return kExitOk;
    }
    std::printf("%-8s %-5s %7s %12s %16s %14s  %s\n", "id", "kind", "threads", "memory",
                "fp32 rate", "bandwidth", "source");
    for (const auto &device : devices->devices)
        std::printf("%-8s %-5s %7d %12s %16s %11.1f GB/s  %s\n", device.id.c_str(),
                    device.kind.c_str(), device.threads,
                    plan::formatBytes(device.memoryBytes).c_str(),
                    plan::formatRate(device.flops).c_str(), device.memoryBandwidth / 1e9,
                    device.source.c_str());
    std::printf("link between local devices: %s, %.1f GB/s, %.0f us\n",
                devices->defaultLink.name.c_str(), devices->defaultLink.bandwidth / 1e9,
                devices->defaultLink.latencySeconds * 1e6);
    if (catalog) {
        std::printf("\nwhat-if catalogue (--devices catalog:NAME*N):\n");
        for (const auto &device : catalog->devices)
            std::printf("  %-22s %-5s %10s %16s %9.0f GB/s  $%.2f/h\n", device.name.c_str(),
                        device.kind.c_str(), plan::formatBytes(device.memoryBytes).c_str(),
                        plan::formatRate(device.flopsFp32).c_str(), device.memoryBandwidth / 1e9,
                        device.pricePerHour);
    }
    return kExitOk;
}

const CommandRegistrar registrar{"devices", "List local devices (CPU splits, CUDA GPUs)",
                                 runDevices};

} // namespace
} // namespace sb::cli
