// The plan file as JSON: {version, model_sha256, batch, microbatches,
// devices: [ids], assignment: {node name -> device id}, pinned: [node names]}
// (the format of issue 4). Read/written by the GUI until core/plan's plan
// file API is on main; errors name the node or device that does not fit.
#pragma once

#include "core/common/result.h"
#include "ui/graph/placement_model.h"

#include <QString>

namespace sb::ui {

struct PlanSettings
{
    int batch = 1;
    int microbatches = 1;
};

std::string planToJson(const PlacementModel &placement, const PlanSettings &settings,
                       const std::string &modelSha256);

struct LoadedPlan
{
    std::vector<int> assignment;
    std::vector<bool> pinned;
    PlanSettings settings;
    std::string modelSha256;
};

// Devices are matched by id against the placement model's device list.
Result<LoadedPlan> planFromJson(const std::string &text, const PlacementModel &placement,
                                const std::string &fileName);

} // namespace sb::ui
