// Shared CLI pieces for the planning and pipeline commands (devices, plan,
// validate, calibrate) and the --plan path of `run` and `bench`.
//
// The pipelined path of `run` / `bench` is in planned_run.h.
#pragma once

#include "app/cli/args.h"

#include "core/common/cancel.h"
#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/plan/devices.h"
#include "core/plan/plan_file.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace sb::cli {

struct LoadedModel
{
    std::shared_ptr<graph::Graph> graph;
    std::string sha256;
};
Result<LoadedModel> loadModel(const std::filesystem::path &path);

// --cpu-devices N, --memory-cap DEV=SIZE (repeatable), --calibration FILE.
void addLocalDeviceOptions(ArgSpec &spec);
Result<plan::DeviceSet> localDevicesFromArgs(const ParsedArgs &parsed);

// --plan PLAN.json, --microbatches M, --trace FILE.json
void addPlanOptions(ArgSpec &spec);
bool wantsPlan(const ParsedArgs &parsed);

// SIGINT -> this token (installed on first use); cancels long runs cleanly.
const CancelToken &interruptToken();

} // namespace sb::cli
