#include "ui/graph/plan_json.h"

#include <nlohmann/json.hpp>

namespace sb::ui {

std::string planToJson(const PlacementModel &placement, const PlanSettings &settings,
                       const std::string &modelSha256)
{
    nlohmann::json plan;
    plan["version"] = 1;
    plan["model_sha256"] = modelSha256;
    plan["batch"] = settings.batch;
    plan["microbatches"] = settings.microbatches;
    nlohmann::json devices = nlohmann::json::array();
    for (const auto &device : placement.devices())
        devices.push_back(device.id.toStdString());
    plan["devices"] = devices;
    nlohmann::json assignment = nlohmann::json::object();
    nlohmann::json pinned = nlohmann::json::array();
    const auto &graph = *placement.modelData()->graph;
    for (int n = 0; n < int(graph.nodes().size()); ++n) {
        const int d = placement.deviceOf(n);
        if (d >= 0)
            assignment[graph.node(n).name] = placement.devices()[d].id.toStdString();
        if (placement.isPinned(n))
            pinned.push_back(graph.node(n).name);
    }
    plan["assignment"] = assignment;
    plan["pinned"] = pinned;
    return plan.dump(2) + "\n";
}

Result<LoadedPlan> planFromJson(const std::string &text, const PlacementModel &placement,
                                const std::string &fileName)
{
    const auto json = nlohmann::json::parse(text, nullptr, false);
    if (json.is_discarded() || !json.is_object())
        return makeError(ErrorCode::InvalidInput, fileName + ": not a JSON object");
    const auto &graph = *placement.modelData()->graph;
    LoadedPlan plan;
    plan.assignment.assign(graph.nodes().size(), -1);
    plan.pinned.assign(graph.nodes().size(), false);
    plan.settings.batch = json.value("batch", 1);
    plan.settings.microbatches = json.value("microbatches", 1);
    plan.modelSha256 = json.value("model_sha256", std::string());
    if (!json.contains("assignment") || !json["assignment"].is_object())
        return makeError(ErrorCode::InvalidInput, fileName + ": missing 'assignment' object");
    for (const auto &[name, device] : json["assignment"].items()) {
        const auto node = graph.findNode(name);
        if (!node)
            return makeError(ErrorCode::InvalidInput,
                             fileName + ": assignment names node '" + name +
                                 "', which is not in the model");
        if (!device.is_string())
            return makeError(ErrorCode::InvalidInput,
                             fileName + ": device of node '" + name + "' is not a string");
        const int index = placement.deviceIndex(QString::fromStdString(device.get<std::string>()));
        if (index < 0)
            return makeError(ErrorCode::InvalidInput,
                             fileName + ": node '" + name + "' is assigned to unknown device '" +
                                 device.get<std::string>() + "'");
        plan.assignment[std::size_t(*node)] = index;
    }
    if (json.contains("pinned")) {
        for (const auto &name : json["pinned"]) {
            const auto node = name.is_string() ? graph.findNode(name.get<std::string>())
                                               : std::nullopt;
            if (!node)
                return makeError(ErrorCode::InvalidInput,
                                 fileName + ": pinned node " + name.dump() + " is not in the model");
            plan.pinned[std::size_t(*node)] = true;
        }
    }
    return plan;
}

} // namespace sb::ui
