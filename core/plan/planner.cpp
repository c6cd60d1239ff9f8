#include "core/plan/planner.h"

#include "core/plan/tensor_parallel.h"
#include "core/plan/validate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <functional>
#include <limits>
#include <optional>
#include <set>

namespace sb::plan {

using graph::Graph;
using graph::NodeId;
using graph::ValueId;

const char *objectiveName(Objective objective)
{
    return objective == Objective::Throughput ? "throughput" : "latency";
}

Result<Objective> parseObjective(const std::string &text)
{
    if (text == "throughput")
        return Objective::Throughput;
    if (text == "latency")
        return Objective::Latency;
    return makeError(ErrorCode::InvalidInput,
                     "--objective must be throughput or latency, got \"" + text + "\"");
}

// ---------------------------------------------------------------------------
// Pass 1: planning units. A unit is a maximal run of consecutive nodes (in the
// topological order) that share a block and a pin. Blocks the importer found
// (a transformer layer) stay whole unless a pin or a non-contiguous block
// interrupts them; pinned nodes never share a unit with free nodes, so pins
// constrain only themselves.
std::vector<PlanningUnit> collapseUnits(const Graph &graph, const std::vector<int> &nodePins)
{
    std::vector<PlanningUnit> units;
    const auto &nodes = graph.nodes();
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        int pin = n < nodePins.size() ? nodePins[n] : -1;
        std::int32_t block = nodes[n].block;
        bool extend = !units.empty() && block >= 0 && units.back().block == block &&
                      units.back().pinnedDevice == pin;
        if (extend) {
            units.back().endNode = static_cast<NodeId>(n + 1);
        } else {
            units.push_back(
                PlanningUnit{static_cast<NodeId>(n), static_cast<NodeId>(n + 1), block, pin});
        }
    }
    return units;
}

// ---------------------------------------------------------------------------
// Pass 2: per-unit costs and the bytes crossing every boundary between units.
void PlannerInput::finalize()
{
    const std::size_t count = unitCount();
    flopsPrefix.assign(count + 1, 0);
    bytesPrefix.assign(count + 1, 0);
    weightsPrefix.assign(count + 1, 0);
    streamBytesPrefix.assign(count + 1, 0);
    if (streamBytes.size() != count)
        streamBytes.assign(count, 0);
    for (std::size_t u = 0; u < count; ++u) {
        flopsPrefix[u + 1] = flopsPrefix[u] + flops[u];
        bytesPrefix[u + 1] = bytesPrefix[u] + bytes[u];
        weightsPrefix[u + 1] = weightsPrefix[u] + weights[u];
        streamBytesPrefix[u + 1] = streamBytesPrefix[u] + streamBytes[u];
    }
    if (cut.size() != count + 1)
        cut.resize(count + 1, 0);
    if (pin.size() != count)
        pin.resize(count, -1);
}

PlannerInput buildPlannerInput(const Graph &graph, const ModelFacts &facts,
                               const DeviceSet &devices, const std::vector<PlanningUnit> &units)
{
    PlannerInput input;
    const std::size_t deviceCount = devices.devices.size();
    for (const DeviceSpec &device : devices.devices)
        input.devices.push_back(PlannerInput::Device{device.id, deviceFlops(device),
                                                     deviceBandwidth(device), device.memoryBytes});
    input.linkBandwidth.assign(deviceCount, std::vector<double>(deviceCount, 0));
    input.linkLatency.assign(deviceCount, std::vector<double>(deviceCount, 0));
    for (std::size_t a = 0; a < deviceCount; ++a)
        for (std::size_t b = 0; b < deviceCount; ++b) {
            LinkSpec link = devices.link(devices.devices[a].id, devices.devices[b].id);
            input.linkBandwidth[a][b] =
                link.bandwidth > 0 ? link.bandwidth : devices.defaultLink.bandwidth;
            input.linkLatency[a][b] = link.latencySeconds;
        }

    const std::size_t unitCount = units.size();
    std::vector<std::size_t> unitOfNode(graph.nodes().size(), 0);
    input.flops.assign(unitCount, 0);
    input.bytes.assign(unitCount, 0);
    input.weights.assign(unitCount, 0);
    input.peakLive.assign(unitCount, 0);
    input.workspace.assign(unitCount, 0);
    input.pin.assign(unitCount, -1);
    for (std::size_t u = 0; u < unitCount; ++u) {
        const PlanningUnit &unit = units[u];
        input.pin[u] = unit.pinnedDevice;
        std::set<ValueId> unitWeights;
        for (NodeId n = unit.firstNode; n < unit.endNode; ++n) {
            const auto index = static_cast<std::size_t>(n);
            unitOfNode[index] = u;
            const cost::Cost &cost = facts.cost.nodes[index];
            input.flops[u] += cost.flops;
            input.bytes[u] += static_cast<double>(cost.paramBytes + cost.activationBytes);
            input.peakLive[u] = std::max(input.peakLive[u], facts.liveBytes[index]);
            input.workspace[u] = std::max(input.workspace[u], facts.nodeWorkspace[index]);
            for (ValueId in : graph.node(n).inputs)
                if (in != graph::kNoValue && graph.value(in).initializer &&
                    unitWeights.insert(in).second)
                    input.weights[u] += graph.value(in).initializer->byteSize();
        }
    }

    // cut[x] = activations produced in units < x and read by units >= x.
    std::vector<std::int64_t> delta(unitCount + 2, 0);
    const auto &values = graph.values();
    for (std::size_t v = 0; v < values.size(); ++v) {
        const graph::Value &value = values[v];
        if (value.initializer || value.producer == graph::kNoNode || value.consumers.empty())
            continue;
        std::size_t producerUnit = unitOfNode[static_cast<std::size_t>(value.producer)];
        std::size_t lastUnit = producerUnit;
        for (NodeId consumer : value.consumers)
            lastUnit = std::max(lastUnit, unitOfNode[static_cast<std::size_t>(consumer)]);
        if (lastUnit == producerUnit)
            continue;
        auto bytes = static_cast<std::int64_t>(runtime::transferBufferBytes(facts.valueBytes[v]));
        delta[producerUnit + 1] += bytes;
        delta[lastUnit + 1] -= bytes;
    }
    input.cut.assign(unitCount + 1, 0);
    std::int64_t running = 0;
    for (std::size_t x = 0; x <= unitCount; ++x) {
        running += delta[x];
        input.cut[x] = static_cast<std::uint64_t>(std::max<std::int64_t>(running, 0));
    }
    input.cut[0] = 0;
    input.cut[unitCount] = 0;
    input.finalize();
    return input;
}

double segmentComputeSeconds(const PlannerInput &input, int device, std::size_t begin,
                             std::size_t end)
{
    const auto &d = input.devices[static_cast<std::size_t>(device)];
    double seconds = (input.flopsPrefix[end] - input.flopsPrefix[begin]) / d.flops +
                     (input.bytesPrefix[end] - input.bytesPrefix[begin]) / d.bandwidth;
    if (input.streamSecondsPerByte && !input.streamBytesPrefix.empty()) {
        const double set = input.streamBytesPrefix[end] - input.streamBytesPrefix[begin];
        if (set > 0)
            seconds += set * input.streamSecondsPerByte(set);
    }
    return seconds;
}

double segmentTransferSeconds(const PlannerInput &input, int previousDevice, int device,
                              std::size_t begin)
{
    if (previousDevice < 0 || begin == 0 || input.cut[begin] == 0)
        return 0;
    const auto p = static_cast<std::size_t>(previousDevice);
    const auto d = static_cast<std::size_t>(device);
    return static_cast<double>(input.cut[begin]) / input.linkBandwidth[p][d] +
           input.linkLatency[p][d];
}

std::uint64_t segmentMemoryBytes(const PlannerInput &input, std::size_t begin, std::size_t end)
{
    std::uint64_t live = 0, workspace = 0;
    for (std::size_t u = begin; u < end; ++u) {
        live = std::max(live, input.peakLive[u]);
        workspace = std::max(workspace, input.workspace[u]);
    }
    return input.weightsPrefix[end] - input.weightsPrefix[begin] + live + workspace +
           kTransferBuffersCharged * input.cut[begin] + kTransferQueueDepth * input.cut[end];
}

bool segmentAllowed(const PlannerInput &input, int device, std::size_t begin, std::size_t end)
{
    for (std::size_t u = begin; u < end; ++u)
        if (input.pin[u] >= 0 && input.pin[u] != device)
            return false;
    return segmentMemoryBytes(input, begin, end) <=
           input.devices[static_cast<std::size_t>(device)].memoryBytes;
}

// ---------------------------------------------------------------------------
// Pass 3: exact DP. best[d][j] = the best objective over splits of units
// [0, j) whose last stage runs on device d and ends at j. A stage [i, j) on d
// follows either nothing (i == 0) or a stage ending at i on a device p < d.
// For fixed (d, j) we walk i downwards: compute time, weights, live and
// workspace only grow, so we stop as soon as the compute time alone cannot
// beat the best candidate or the monotone part of memory exceeds the cap.
namespace {

struct Choice
{
    int previousDevice = -1;
    std::size_t begin = 0;
};

double combine(Objective objective, double before, double stage)
{
    return objective == Objective::Throughput ? std::max(before, stage) : before + stage;
}

Split rebuild(const PlannerInput &input, const std::vector<std::vector<Choice>> &choice,
              int lastDevice, double value)
{
    Split split;
    split.objectiveValue = value;
    std::size_t end = input.unitCount();
    int device = lastDevice;
    while (device >= 0) {
        const Choice &c = choice[static_cast<std::size_t>(device)][end];
        SplitStage stage;
        stage.device = device;
        stage.beginUnit = c.begin;
        stage.endUnit = end;
        stage.computeSeconds = segmentComputeSeconds(input, device, c.begin, end);
        stage.transferSeconds = segmentTransferSeconds(input, c.previousDevice, device, c.begin);
        stage.memoryBytes = segmentMemoryBytes(input, c.begin, end);
        split.stages.push_back(stage);
        end = c.begin;
        device = c.previousDevice;
    }
    std::reverse(split.stages.begin(), split.stages.end());
    return split;
}

Error infeasible(const PlannerInput &input)
{
    // Name the obvious reasons: a unit larger than every device, pins out of order.
    for (std::size_t u = 0; u < input.unitCount(); ++u) {
        bool fits = false;
        for (std::size_t d = 0; d < input.devices.size(); ++d)
            if ((input.pin[u] < 0 || input.pin[u] == static_cast<int>(d)) &&
                segmentMemoryBytes(input, u, u + 1) <= input.devices[d].memoryBytes)
                fits = true;
        if (!fits)
            return makeError(ErrorCode::InvalidInput,
                             "no feasible plan: planning unit " + std::to_string(u) + " needs " +
                                 formatBytes(segmentMemoryBytes(input, u, u + 1)) +
                                 ", more than any allowed device holds");
    }
    int lastPin = -1;
    for (std::size_t u = 0; u < input.unitCount(); ++u)
        if (input.pin[u] >= 0) {
            if (input.pin[u] < lastPin)
                return makeError(ErrorCode::InvalidInput,
                                 "no feasible plan: pins put a later part of the model on device " +
                                     input.devices[static_cast<std::size_t>(input.pin[u])].id +
                                     ", which comes before " +
                                     input.devices[static_cast<std::size_t>(lastPin)].id +
                                     " in the device order (stages follow the --devices order)");
            lastPin = input.pin[u];
        }
    return makeError(ErrorCode::InvalidInput,
                     "no feasible plan: the model does not fit the devices' memory caps");
}

} // namespace

Result<Split> solveSplit(const PlannerInput &input, Objective objective, const CancelToken *cancel)
{
    const std::size_t units = input.unitCount();
    const std::size_t deviceCount = input.devices.size();
    if (units == 0)
        return Split{{}, 0.0};
    if (deviceCount == 0)
        return makeError(ErrorCode::InvalidInput, "no devices to plan for");
    if (input.flopsPrefix.size() != units + 1)
        return makeError(ErrorCode::Internal, "planner input not finalized");

    const double inf = std::numeric_limits<double>::infinity();
    std::vector<std::vector<double>> best(deviceCount, std::vector<double>(units + 1, inf));
    std::vector<std::vector<Choice>> choice(deviceCount, std::vector<Choice>(units + 1));
    // Latency only: entry[d][i] = min over p < d of best[p][i] + transfer(p, d, i),
    // known once column i is final; it makes the inner loop O(1) per (d, i, j).
    std::vector<std::vector<double>> entry(deviceCount, std::vector<double>(units + 1, inf));
    std::vector<std::vector<int>> entryFrom(deviceCount, std::vector<int>(units + 1, -1));

    // Prefix facts for the first stage [0, j): running maxima and pin counts.
    std::vector<std::uint64_t> livePrefix(units + 1, 0), workspacePrefix(units + 1, 0);
    std::vector<int> pinnedPrefix(units + 1, 0);
    std::vector<std::vector<int>> pinnedToPrefix(deviceCount, std::vector<int>(units + 1, 0));
    for (std::size_t u = 0; u < units; ++u) {
        livePrefix[u + 1] = std::max(livePrefix[u], input.peakLive[u]);
        workspacePrefix[u + 1] = std::max(workspacePrefix[u], input.workspace[u]);
        pinnedPrefix[u + 1] = pinnedPrefix[u] + (input.pin[u] >= 0 ? 1 : 0);
        for (std::size_t d = 0; d < deviceCount; ++d)
            pinnedToPrefix[d][u + 1] =
                pinnedToPrefix[d][u] + (input.pin[u] == static_cast<int>(d) ? 1 : 0);
    }

    for (std::size_t j = 1; j <= units; ++j) {
        if (cancel && (j & 63) == 0 && cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "planning cancelled");
        for (std::size_t d = 0; d < deviceCount; ++d) {
            const auto device = static_cast<int>(d);
            const std::uint64_t capacity = input.devices[d].memoryBytes;
            double &cell = best[d][j];
            // The whole prefix as the first stage (devices before d unused).
            if (pinnedPrefix[j] == pinnedToPrefix[d][j] &&
                input.weightsPrefix[j] + livePrefix[j] + workspacePrefix[j] +
                        kTransferQueueDepth * input.cut[j] <=
                    capacity) {
                cell = segmentComputeSeconds(input, device, 0, j);
                choice[d][j] = Choice{-1, 0};
            }
            if (d == 0)
                continue; // nothing can precede the first device
            std::uint64_t live = 0, workspace = 0;
            for (std::size_t i = j - 1; i >= 1; --i) {
                if (input.pin[i] >= 0 && input.pin[i] != device)
                    break; // every longer segment contains this pinned unit too
                live = std::max(live, input.peakLive[i]);
                workspace = std::max(workspace, input.workspace[i]);
                const std::uint64_t monotone =
                    input.weightsPrefix[j] - input.weightsPrefix[i] + live + workspace;
                if (monotone > capacity)
                    break;
                const double compute = segmentComputeSeconds(input, device, i, j);
                if (compute >= cell)
                    break; // transfer and earlier stages only add
                if (monotone + kTransferBuffersCharged * input.cut[i] +
                        kTransferQueueDepth * input.cut[j] >
                    capacity)
                    continue;
                if (objective == Objective::Latency) {
                    const double candidate = entry[d][i] + compute;
                    if (candidate < cell) {
                        cell = candidate;
                        choice[d][j] = Choice{entryFrom[d][i], i};
                    }
                    continue;
                }
                for (std::size_t p = 0; p < d; ++p) {
                    const double before = best[p][i];
                    if (before >= cell)
                        continue;
                    const double stage =
                        compute + segmentTransferSeconds(input, static_cast<int>(p), device, i);
                    const double candidate = std::max(before, stage);
                    if (candidate < cell) {
                        cell = candidate;
                        choice[d][j] = Choice{static_cast<int>(p), i};
                    }
                }
            }
        }
        if (objective == Objective::Latency && j < units)
            for (std::size_t d = 1; d < deviceCount; ++d)
                for (std::size_t p = 0; p < d; ++p) {
                    if (best[p][j] == inf)
                        continue;
                    const double value =
                        best[p][j] +
                        segmentTransferSeconds(input, static_cast<int>(p), static_cast<int>(d), j);
                    if (value < entry[d][j]) {
                        entry[d][j] = value;
                        entryFrom[d][j] = static_cast<int>(p);
                    }
                }
    }

    int bestDevice = -1;
    double bestValue = inf;
    for (std::size_t d = 0; d < deviceCount; ++d)
        if (best[d][units] < bestValue) {
            bestValue = best[d][units];
            bestDevice = static_cast<int>(d);
        }
    if (bestDevice < 0)
        return infeasible(input);
    return rebuild(input, choice, bestDevice, bestValue);
}

Result<Split> bruteForceSplit(const PlannerInput &input, Objective objective)
{
    const std::size_t units = input.unitCount();
    const int deviceCount = static_cast<int>(input.devices.size());
    Split best;
    std::vector<SplitStage> current;
    // Recursively choose the next stage: a device after the previous one and an end unit.
    std::function<void(std::size_t, int, double)> extend = [&](std::size_t begin, int previous,
                                                               double value) {
        if (begin == units) {
            if (value < best.objectiveValue) {
                best.objectiveValue = value;
                best.stages = current;
            }
            return;
        }
        for (int d = previous + 1; d < deviceCount; ++d)
            for (std::size_t end = begin + 1; end <= units; ++end) {
                if (!segmentAllowed(input, d, begin, end))
                    continue;
                SplitStage stage;
                stage.device = d;
                stage.beginUnit = begin;
                stage.endUnit = end;
                stage.computeSeconds = segmentComputeSeconds(input, d, begin, end);
                stage.transferSeconds = segmentTransferSeconds(input, previous, d, begin);
                stage.memoryBytes = segmentMemoryBytes(input, begin, end);
                double stageTime = stage.computeSeconds + stage.transferSeconds;
                current.push_back(stage);
                extend(end, d,
                       current.size() == 1 ? stageTime : combine(objective, value, stageTime));
                current.pop_back();
            }
    };
    if (units == 0)
        return Split{{}, 0.0};
    extend(0, -1, 0.0);
    if (best.stages.empty())
        return infeasible(input);
    return best;
}

// ---------------------------------------------------------------------------
// Pass 4: lower bound.
double lowerBound(const PlannerInput &input, Objective objective)
{
    const std::size_t units = input.unitCount();
    double largestUnit = 0, sumBest = 0;
    for (std::size_t u = 0; u < units; ++u) {
        double fastest = std::numeric_limits<double>::infinity();
        for (std::size_t d = 0; d < input.devices.size(); ++d) {
            if (input.pin[u] >= 0 && input.pin[u] != static_cast<int>(d))
                continue;
            fastest =
                std::min(fastest, segmentComputeSeconds(input, static_cast<int>(d), u, u + 1));
        }
        if (fastest == std::numeric_limits<double>::infinity())
            fastest = 0;
        largestUnit = std::max(largestUnit, fastest);
        sumBest += fastest;
    }
    if (objective == Objective::Latency)
        return sumBest;
    double totalRate = 0, totalBandwidth = 0;
    for (const auto &device : input.devices) {
        totalRate += device.flops;
        totalBandwidth += device.bandwidth;
    }
    double byFlops = totalRate > 0 ? input.flopsPrefix[units] / totalRate : 0;
    double byBytes = totalBandwidth > 0 ? input.bytesPrefix[units] / totalBandwidth : 0;
    return std::max({largestUnit, byFlops, byBytes});
}

// ---------------------------------------------------------------------------
// Pass 5: the plan file content. Pins are copied from the user's pins, never
// changed: the DP only places a pinned unit on its own device.
Plan emitPlan(const Graph &graph, const std::vector<PlanningUnit> &units, const Split &split,
              const DeviceSet &devices, const std::vector<int> &nodePins)
{
    Plan plan;
    plan.devices = devices;
    for (const SplitStage &stage : split.stages) {
        const std::string &id = devices.devices[static_cast<std::size_t>(stage.device)].id;
        for (std::size_t u = stage.beginUnit; u < stage.endUnit; ++u)
            for (NodeId n = units[u].firstNode; n < units[u].endNode; ++n)
                plan.assignment[graph.node(n).name] = id;
    }
    for (std::size_t n = 0; n < nodePins.size(); ++n)
        if (nodePins[n] >= 0)
            plan.pinned.push_back(graph.node(static_cast<NodeId>(n)).name);
    return plan;
}

// ---------------------------------------------------------------------------
// Pass 6: tensor parallelism over groups of consecutive devices.
Result<Plan> tensorParallelPlan(const Graph &graph, const ModelFacts &facts,
                                const DeviceSet &devices, const std::vector<PlanningUnit> &units,
                                const std::vector<int> &nodePins, Objective objective,
                                const TensorParallelOptions &options, const CancelToken *cancel)
{
    const int count = static_cast<int>(devices.devices.size());
    const int size = options.groupSize;
    if (size < 2 || size > count)
        return makeError(ErrorCode::InvalidInput, "tensor-parallel group size out of range");
    // Virtual devices: groups of `size` in list order, then singles.
    DeviceSet grouped;
    grouped.defaultLink = devices.defaultLink;
    std::vector<std::vector<int>> members;
    for (int first = 0; first < count;) {
        const int take = count - first >= size ? size : 1;
        std::vector<int> group;
        DeviceSpec merged = devices.devices[static_cast<std::size_t>(first)];
        merged.memoryBytes = 0;
        merged.flops = 0;
        merged.memoryBandwidth = 0;
        for (int i = first; i < first + take; ++i) {
            const DeviceSpec &device = devices.devices[static_cast<std::size_t>(i)];
            group.push_back(i);
            merged.memoryBytes += device.memoryBytes;
            merged.flops += deviceFlops(device);
            merged.memoryBandwidth += deviceBandwidth(device);
        }
        if (take > 1)
            merged.memoryBytes = static_cast<std::uint64_t>(
                static_cast<double>(merged.memoryBytes) * options.capacityScale);
        grouped.devices.push_back(merged);
        members.push_back(group);
        first += take;
    }
    for (const LinkSpec &link : devices.links)
        grouped.links.push_back(link);
    // Pins go to their group, which must be led by the pinned device.
    std::vector<int> groupOf(static_cast<std::size_t>(count), 0);
    for (std::size_t g = 0; g < members.size(); ++g)
        for (int d : members[g])
            groupOf[static_cast<std::size_t>(d)] = static_cast<int>(g);
    std::vector<int> groupedPins = nodePins;
    for (int &pin : groupedPins) {
        if (pin < 0)
            continue;
        const int g = groupOf[static_cast<std::size_t>(pin)];
        if (members[static_cast<std::size_t>(g)].front() != pin)
            return makeError(ErrorCode::InvalidInput,
                             "a pin to " + devices.devices[static_cast<std::size_t>(pin)].id +
                                 " keeps it out of a tensor-parallel group of " +
                                 std::to_string(size));
        pin = g;
    }
    std::vector<PlanningUnit> groupedUnits = units;
    for (PlanningUnit &unit : groupedUnits)
        if (unit.pinnedDevice >= 0)
            unit.pinnedDevice = groupOf[static_cast<std::size_t>(unit.pinnedDevice)];
    PlannerInput input = buildPlannerInput(graph, facts, grouped, groupedUnits);
    SB_ASSIGN_OR_RETURN(Split split, solveSplit(input, objective, cancel));
    Plan plan = emitPlan(graph, groupedUnits, split, grouped, groupedPins);
    plan.devices = devices;
    plan.tensorParallel = nlohmann::json::array();
    bool splitAny = false;
    for (const SplitStage &stage : split.stages) {
        const auto &group = members[static_cast<std::size_t>(stage.device)];
        if (group.size() < 2)
            continue;
        std::vector<NodeId> nodes;
        for (std::size_t u = stage.beginUnit; u < stage.endUnit; ++u)
            for (NodeId n = groupedUnits[u].firstNode; n < groupedUnits[u].endNode; ++n)
                nodes.push_back(n);
        const auto modes = proposeSplits(graph, nodes, static_cast<int>(group.size()));
        if (modes.empty())
            continue;
        nlohmann::json ids = nlohmann::json::array();
        for (int d : group)
            ids.push_back(devices.devices[static_cast<std::size_t>(d)].id);
        for (const char *mode : {"column", "row"}) {
            nlohmann::json names = nlohmann::json::array();
            for (const auto &[n, chosen] : modes)
                if (chosen == mode)
                    names.push_back(graph.node(n).name);
            if (!names.empty())
                plan.tensorParallel.push_back({{"nodes", names}, {"devices", ids}, {"mode", mode}});
        }
        splitAny = true;
    }
    if (!splitAny)
        return makeError(ErrorCode::InvalidInput,
                         "no stage on a device group has a block to split");
    return plan;
}

namespace {

// The validator's figure for the objective (seconds), or nullopt when invalid.
std::optional<double> validatedObjective(const Graph &graph, const Plan &plan, Objective objective,
                                         std::string *problem)
{
    const ValidationReport report = validatePlan(graph, plan, {});
    if (!report.ok() || !report.estimate) {
        for (const Problem &p : report.problems)
            if (!p.warning && problem) {
                *problem = p.code + ": " + p.message;
                break;
            }
        return std::nullopt;
    }
    return objective == Objective::Throughput ? report.estimate->stageSecondsMax
                                              : report.estimate->latencySeconds;
}

} // namespace

Result<PlannerResult> autoPlan(const Graph &graph, const DeviceSet &devices,
                               const PlannerOptions &options)
{
    const auto started = std::chrono::steady_clock::now();
    if (options.microbatches < 1 || options.batch < 1)
        return makeError(ErrorCode::InvalidInput, "batch and micro-batches must be >= 1");
    if (options.batch % options.microbatches != 0)
        return makeError(ErrorCode::InvalidInput,
                         "--microbatches " + std::to_string(options.microbatches) +
                             " does not divide --batch " + std::to_string(options.batch));
    if (devices.devices.empty())
        return makeError(ErrorCode::InvalidInput, "no devices to plan for");

    std::vector<int> nodePins(graph.nodes().size(), -1);
    for (const auto &[nodeName, deviceId] : options.pins) {
        auto node = graph.findNode(nodeName);
        if (!node)
            return makeError(ErrorCode::InvalidInput,
                             "--pin: the model has no node named \"" + nodeName + "\"");
        int device = devices.indexOf(deviceId);
        if (device < 0)
            return makeError(ErrorCode::InvalidInput, "--pin " + nodeName + "=" + deviceId +
                                                          ": \"" + deviceId +
                                                          "\" is not one of the --devices");
        nodePins[static_cast<std::size_t>(*node)] = device;
    }

    SB_ASSIGN_OR_RETURN(ModelFacts facts,
                        analyseModel(graph, options.batch / options.microbatches, options.dims));
    std::vector<PlanningUnit> units = collapseUnits(graph, nodePins);     // pass 1
    PlannerInput input = buildPlannerInput(graph, facts, devices, units); // pass 2
    if (options.nodeSeconds.size() == graph.nodes().size()) {
        // Predicted seconds as "FLOPs" at 1e9 per second on every device.
        constexpr double kScale = 1e9;
        const bool streamed = options.nodeWeightBytes.size() == graph.nodes().size() &&
                              static_cast<bool>(options.streamSecondsPerByte);
        if (streamed) {
            input.streamBytes.assign(units.size(), 0);
            input.streamSecondsPerByte = options.streamSecondsPerByte; // seconds, not scaled
        }
        for (std::size_t u = 0; u < units.size(); ++u) {
            input.flops[u] = 0;
            input.bytes[u] = 0;
            for (NodeId n = units[u].firstNode; n < units[u].endNode; ++n) {
                input.flops[u] += options.nodeSeconds[static_cast<std::size_t>(n)] * kScale;
                if (streamed)
                    input.streamBytes[u] += options.nodeWeightBytes[static_cast<std::size_t>(n)];
            }
        }
        for (auto &device : input.devices) {
            device.flops = kScale;
            device.bandwidth = kScale;
        }
        input.finalize();
    }
    auto solved = solveSplit(input, options.objective, options.cancel); // pass 3
    if (!solved && solved.error().code == ErrorCode::Cancelled)
        return solved.error();
    const double bound = lowerBound(input, options.objective); // pass 4

    PlannerResult result;
    Split split;
    if (solved) {
        split = std::move(*solved);
        result.plan = emitPlan(graph, units, split, devices, nodePins); // pass 5
    }
    // Pass 6: tensor parallelism, when the pipeline cannot fit or for latency.
    const bool tryTensorParallel = options.tensorParallel && devices.devices.size() >= 2 &&
                                   (!solved || options.objective == Objective::Latency);
    std::optional<Plan> bestParallel;
    double bestParallelValue = std::numeric_limits<double>::infinity();
    std::string parallelProblem;
    if (tryTensorParallel) {
        Plan probe = result.plan;
        probe.batch = options.batch;
        probe.microbatches = options.microbatches;
        probe.dims = options.dims;
        for (int size = 2; size <= static_cast<int>(devices.devices.size()) && size <= 8; ++size)
            for (double scale : {1.0, 0.75, 0.5}) {
                TensorParallelOptions tp{size, scale};
                auto candidate = tensorParallelPlan(graph, facts, devices, units, nodePins,
                                                    options.objective, tp, options.cancel);
                if (!candidate) {
                    if (candidate.error().code == ErrorCode::Cancelled)
                        return candidate.error();
                    parallelProblem = candidate.error().message;
                    break; // a smaller capacity will not help
                }
                candidate->batch = options.batch;
                candidate->microbatches = options.microbatches;
                candidate->dims = options.dims;
                auto value =
                    validatedObjective(graph, *candidate, options.objective, &parallelProblem);
                if (!value)
                    continue; // over a shard's capacity: ask the DP for smaller stages
                if (*value < bestParallelValue) {
                    bestParallelValue = *value;
                    bestParallel = std::move(*candidate);
                }
                break;
            }
        std::optional<double> pipelineValue;
        if (solved)
            pipelineValue = validatedObjective(graph, probe, options.objective, nullptr);
        if (bestParallel && pipelineValue && bestParallelValue > 0.9 * *pipelineValue)
            bestParallel.reset();
    }
    if (!solved && !bestParallel)
        return tryTensorParallel && !parallelProblem.empty()
                   ? makeError(solved.error().code,
                               solved.error().message +
                                   "; splitting blocks across device groups did not help "
                                   "either (" +
                                   parallelProblem + ")")
                   : solved.error();
    if (bestParallel) {
        result.plan = std::move(*bestParallel);
        split.objectiveValue = bestParallelValue;
    }
    result.plan.modelSha256 = options.modelSha256;
    result.plan.batch = options.batch;
    result.plan.microbatches = options.microbatches;
    result.plan.objective = objectiveName(options.objective);
    result.plan.dims = options.dims;
    // Write every link explicitly, so the plan file is self-contained.
    result.plan.devices.links.clear();
    for (const DeviceSpec &a : devices.devices)
        for (const DeviceSpec &b : devices.devices)
            if (a.id != b.id)
                result.plan.devices.links.push_back(devices.link(a.id, b.id));
    result.unitCount = units.size();
    result.objectiveValue = split.objectiveValue;
    result.lowerBound = std::min(bound, split.objectiveValue);
    result.gap =
        result.lowerBound > 0 ? (split.objectiveValue - result.lowerBound) / result.lowerBound : 0;
    result.split = std::move(split);
    result.planSeconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
}

} // namespace sb::plan
