#include "app/cli/pipeline_cli.h"

#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace sb::cli {

namespace {

CancelToken g_interrupt;

extern "C" void onInterrupt(int)
{
    g_interrupt.cancel();
}

} // namespace

const CancelToken &interruptToken()
{
    static const bool installed = [] {
        std::signal(SIGINT, onInterrupt);
        return true;
    }();
    (void)installed;
    return g_interrupt;
}

Result<LoadedModel> loadModel(const std::filesystem::path &path)
{
    LoadedModel model;
    SB_ASSIGN_OR_RETURN(model.graph, graph::importOnnxFile(path));
    SB_ASSIGN_OR_RETURN(model.sha256, sha256File(path));
    return model;
}

void addLocalDeviceOptions(ArgSpec &spec)
{
    spec.option("cpu-devices", "N", "split this machine's cores into N CPU devices", "2");
    spec.multi("memory-cap", "DEV=SIZE",
               "memory cap of a local device, e.g. cpu:0=2GiB (repeatable; default: RAM / N)");
    spec.option("calibration", "FILE",
                "measured device figures (default: " + plan::defaultCalibrationPath().string() +
                    " when present)");
}

Result<plan::DeviceSet> localDevicesFromArgs(const ParsedArgs &parsed)
{
    plan::LocalDeviceOptions options;
    SB_ASSIGN_OR_RETURN(long long cpuDevices, parsed.getInt("cpu-devices", 2));
    options.cpuDevices = static_cast<int>(cpuDevices);
    for (const std::string &text : parsed.all("memory-cap")) {
        SB_ASSIGN_OR_RETURN(auto cap, plan::parseMemoryCap(text));
        options.memoryCaps[cap.first] = cap.second;
    }
    if (parsed.has("calibration"))
        options.calibrationPath = parsed.get("calibration");
    return plan::discoverLocalDevices(options);
}

void addPlanOptions(ArgSpec &spec)
{
    spec.option("plan", "PLAN.json", "run pipelined across devices as this plan says");
    spec.option("microbatches", "M", "micro-batches per batch with --plan (default: the plan's)");
    spec.option("trace", "FILE.json",
                "with --plan: write the (stage, micro-batch) timeline as Chrome trace JSON "
                "(and FILE.timeline.json for the GUI)");
    spec.option("launcher", "local|mpi",
                "with --plan: stages as threads of this process (local) or as MPI ranks "
                "started by mpirun (mpi; needed for HOST/... devices)",
                "local");
    spec.option("hosts", "HOST:SLOTS,...",
                "--launcher mpi: hosts and their slots; the first must be this machine "
                "(default: localhost with a slot per device)");
    spec.option("hostfile", "FILE", "--launcher mpi: an Open MPI hostfile instead of --hosts");
    spec.option("worker", "PATH",
                "--launcher mpi: shardbench-worker on every host (default: next to this "
                "program, so the same build path on every host)");
    spec.option("heartbeat-timeout", "S",
                "--launcher mpi: end the run when a rank sends no heartbeat for S seconds", "10");
    spec.flag("dry-run", "--launcher mpi: print the mpirun command and exit");
    spec.option("db", "PATH",
                "with --plan: store the run in this Shardbench database (the GUI's Runs page "
                "lists it; `calibrate --from-runs` learns from it)");
}

bool wantsPlan(const ParsedArgs &parsed)
{
    // MPI options without --plan go to runPlanned, which says what is missing.
    return parsed.has("plan") || parsed.get("launcher", "local") != "local" ||
           parsed.flag("dry-run") || parsed.has("db");
}

} // namespace sb::cli
