#include "core/plan/plan_file.h"
#include "core/common/json_text.h"

#include <fstream>
#include <set>
#include <sstream>

namespace sb::plan {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

Error bad(const std::string &source, const std::string &message)
{
    return makeError(ErrorCode::InvalidInput, source + ": " + message);
}

Result<double> readNumber(const json &object, const std::string &key, const std::string &where,
                          double fallback, bool required)
{
    auto it = object.find(key);
    if (it == object.end()) {
        if (required)
            return bad(where, "missing \"" + key + "\"");
        return fallback;
    }
    if (!it->is_number() || it->get<double>() < 0)
        return bad(where, "\"" + key + "\" must be a non-negative number");
    return it->get<double>();
}

Result<std::string> readString(const json &object, const std::string &key, const std::string &where,
                               bool required)
{
    auto it = object.find(key);
    if (it == object.end()) {
        if (required)
            return bad(where, "missing \"" + key + "\"");
        return std::string{};
    }
    if (!it->is_string())
        return bad(where, "\"" + key + "\" must be a string");
    return it->get<std::string>();
}

Result<std::int64_t> readPositiveInt(const json &object, const std::string &key,
                                     const std::string &where)
{
    auto it = object.find(key);
    if (it == object.end())
        return bad(where, "missing \"" + key + "\"");
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1)
        return bad(where, "\"" + key + "\" must be an integer >= 1");
    return it->get<std::int64_t>();
}

const std::set<std::string> &knownKeys()
{
    static const std::set<std::string> keys = {
        "version", "model_sha256", "batch",  "microbatches", "objective",      "devices",
        "links",   "assignment",   "pinned", "dims",         "tensor_parallel"};
    return keys;
}

} // namespace

Result<Plan> parsePlan(const std::string &text, const std::string &source)
{
    json doc;
    try {
        doc = json::parse(text);
    } catch (const json::parse_error &error) {
        return bad(source, std::string("not valid JSON (") + error.what() + ")");
    }
    if (!doc.is_object())
        return bad(source, "a plan must be a JSON object");

    Plan plan;
    {
        auto it = doc.find("version");
        if (it == doc.end())
            return bad(source, "missing \"version\"");
        if (!it->is_number_integer() || it->get<int>() < 1)
            return bad(source, "\"version\" must be an integer >= 1");
        plan.version = it->get<int>();
        if (plan.version > kPlanVersion)
            return bad(source, "plan \"version\" " + std::to_string(plan.version) +
                                   " is newer than this reader (" + std::to_string(kPlanVersion) +
                                   ")");
    }
    SB_ASSIGN_OR_RETURN(plan.modelSha256, readString(doc, "model_sha256", source, true));
    SB_ASSIGN_OR_RETURN(plan.batch, readPositiveInt(doc, "batch", source));
    SB_ASSIGN_OR_RETURN(std::int64_t microbatches, readPositiveInt(doc, "microbatches", source));
    plan.microbatches = static_cast<int>(microbatches);
    SB_ASSIGN_OR_RETURN(plan.objective, readString(doc, "objective", source, false));

    auto devices = doc.find("devices");
    if (devices == doc.end() || !devices->is_array())
        return bad(source, "\"devices\" must be an array of device objects");
    for (std::size_t i = 0; i < devices->size(); ++i) {
        const json &entry = (*devices)[i];
        std::string where = source + ": devices[" + std::to_string(i) + "]";
        if (!entry.is_object())
            return bad(where, "must be an object");
        DeviceSpec device;
        SB_ASSIGN_OR_RETURN(device.id, readString(entry, "id", where, true));
        if (device.id.empty())
            return bad(where, "\"id\" is empty");
        if (plan.devices.indexOf(device.id) >= 0)
            return bad(where, "device \"" + device.id + "\" is listed twice");
        SB_ASSIGN_OR_RETURN(device.kind, readString(entry, "kind", where, false));
        SB_ASSIGN_OR_RETURN(device.name, readString(entry, "name", where, false));
        SB_ASSIGN_OR_RETURN(device.source, readString(entry, "source", where, false));
        SB_ASSIGN_OR_RETURN(double memory, readNumber(entry, "memory_bytes", where, 0, true));
        device.memoryBytes = static_cast<std::uint64_t>(memory);
        SB_ASSIGN_OR_RETURN(device.flops, readNumber(entry, "flops", where, 0, false));
        SB_ASSIGN_OR_RETURN(device.flopsFp16, readNumber(entry, "flops_fp16", where, 0, false));
        SB_ASSIGN_OR_RETURN(device.memoryBandwidth,
                            readNumber(entry, "memory_bandwidth", where, 0, false));
        SB_ASSIGN_OR_RETURN(device.pricePerHour,
                            readNumber(entry, "price_per_hour", where, 0, false));
        SB_ASSIGN_OR_RETURN(double threads, readNumber(entry, "threads", where, 0, false));
        device.threads = static_cast<int>(threads);
        plan.devices.devices.push_back(std::move(device));
    }

    if (auto links = doc.find("links"); links != doc.end()) {
        if (!links->is_array())
            return bad(source, "\"links\" must be an array");
        for (std::size_t i = 0; i < links->size(); ++i) {
            const json &entry = (*links)[i];
            std::string where = source + ": links[" + std::to_string(i) + "]";
            if (!entry.is_object())
                return bad(where, "must be an object");
            LinkSpec link;
            SB_ASSIGN_OR_RETURN(link.from, readString(entry, "from", where, true));
            SB_ASSIGN_OR_RETURN(link.to, readString(entry, "to", where, true));
            SB_ASSIGN_OR_RETURN(link.name, readString(entry, "name", where, false));
            SB_ASSIGN_OR_RETURN(link.bandwidth, readNumber(entry, "bandwidth", where, 0, true));
            if (link.bandwidth <= 0)
                return bad(where, "\"bandwidth\" must be > 0");
            SB_ASSIGN_OR_RETURN(link.latencySeconds,
                                readNumber(entry, "latency_s", where, 0, false));
            plan.devices.links.push_back(std::move(link));
        }
    }

    auto assignment = doc.find("assignment");
    if (assignment == doc.end() || !assignment->is_object())
        return bad(source, "\"assignment\" must be an object {node name: device id}");
    for (const auto &[node, device] : assignment->items()) {
        if (!device.is_string())
            return bad(source, "\"assignment\"[\"" + node + "\"] must be a device id string");
        plan.assignment[node] = device.get<std::string>();
    }

    if (auto pinned = doc.find("pinned"); pinned != doc.end()) {
        if (!pinned->is_array())
            return bad(source, "\"pinned\" must be an array of node names");
        for (std::size_t i = 0; i < pinned->size(); ++i) {
            if (!(*pinned)[i].is_string())
                return bad(source, "\"pinned\"[" + std::to_string(i) + "] must be a node name");
            plan.pinned.push_back((*pinned)[i].get<std::string>());
        }
    }

    if (auto dims = doc.find("dims"); dims != doc.end()) {
        if (!dims->is_object())
            return bad(source, "\"dims\" must be an object {symbol: size}");
        for (const auto &[symbol, size] : dims->items()) {
            if (!size.is_number_integer() || size.get<std::int64_t>() < 1)
                return bad(source, "\"dims\"[\"" + symbol + "\"] must be an integer >= 1");
            plan.dims[symbol] = size.get<std::int64_t>();
        }
    }

    if (auto tp = doc.find("tensor_parallel"); tp != doc.end()) {
        if (!tp->is_array())
            return bad(source, "\"tensor_parallel\" must be an array");
        plan.tensorParallel = *tp;
    }

    for (const auto &[key, value] : doc.items())
        if (!knownKeys().count(key))
            plan.extra[key] = value;
    return plan;
}

Result<Plan> readPlanFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open plan file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parsePlan(buffer.str(), path.string());
}

json deviceToJson(const DeviceSpec &device)
{
    json entry;
    entry["id"] = device.id;
    entry["kind"] = device.kind;
    entry["name"] = device.name;
    entry["memory_bytes"] = device.memoryBytes;
    entry["flops"] = device.flops;
    if (device.flopsFp16 > 0)
        entry["flops_fp16"] = device.flopsFp16;
    entry["memory_bandwidth"] = device.memoryBandwidth;
    entry["threads"] = device.threads;
    entry["price_per_hour"] = device.pricePerHour;
    entry["source"] = device.source;
    return entry;
}

json planToJson(const Plan &plan)
{
    json doc = plan.extra.is_object() ? plan.extra : json::object();
    doc["version"] = plan.version;
    doc["model_sha256"] = plan.modelSha256;
    doc["batch"] = plan.batch;
    doc["microbatches"] = plan.microbatches;
    if (!plan.objective.empty())
        doc["objective"] = plan.objective;
    json devices = json::array();
    for (const DeviceSpec &device : plan.devices.devices)
        devices.push_back(deviceToJson(device));
    doc["devices"] = devices;
    json links = json::array();
    for (const LinkSpec &link : plan.devices.links)
        links.push_back({{"from", link.from},
                         {"to", link.to},
                         {"name", link.name},
                         {"bandwidth", link.bandwidth},
                         {"latency_s", link.latencySeconds}});
    doc["links"] = links;
    json assignment = json::object();
    for (const auto &[node, device] : plan.assignment)
        assignment[node] = device;
    doc["assignment"] = assignment;
    doc["pinned"] = plan.pinned;
    if (!plan.dims.empty())
        doc["dims"] = plan.dims;
    doc["tensor_parallel"] = plan.tensorParallel.is_array() ? plan.tensorParallel : json::array();
    return doc;
}

Status writePlanFile(const Plan &plan, const fs::path &path)
{
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
        return makeError(ErrorCode::Io, path.string() + ": cannot write plan file");
    out << sb::jsonText(planToJson(plan), 2) << "\n";
    if (!out)
        return makeError(ErrorCode::Io, path.string() + ": write failed");
    return {};
}

} // namespace sb::plan
