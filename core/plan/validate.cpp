#include "core/plan/validate.h"

#include "core/plan/tensor_parallel.h"

#include "core/common/sha256.h"
#include "core/cost/cost_model.h"
#include "core/plan/planner.h"
#include "core/runtime/run_summary.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <set>
#include <sstream>

namespace sb::plan {

using graph::Graph;
using graph::NodeId;
using graph::ValueId;
using nlohmann::json;

namespace {

// Every value a node reads, including outer-scope values of subgraph bodies.
template <typename Fn> void forEachInput(const graph::Node &node, Fn &&fn)
{
    for (ValueId in : node.inputs)
        if (in != graph::kNoValue)
            fn(in);
    for (ValueId in : node.implicitInputs)
        if (in != graph::kNoValue)
            fn(in);
}

std::string joinNames(const std::vector<std::string> &names, std::size_t limit = 8)
{
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < limit; ++i)
        text += (i ? ", " : "") + std::string("'") + names[i] + "'";
    if (names.size() > limit)
        text += ", ... (" + std::to_string(names.size()) + " in all)";
    return text;
}

struct Edge
{
    NodeId producer;
    NodeId consumer;
    ValueId value;
};

// Builds the stage graph, appending problems instead of stopping at the first.
// Nodes without a (known) device are left out, so cycles and memory among the
// assigned nodes are still checked; `complete` says whether every node is in
// and the devices form no cycle. With a cycle the stages are still built (in
// order of their first node), so the memory of each device can be checked.
StageGraph buildStages(const Graph &graph, const Plan &plan, std::vector<Problem> &problems,
                       bool *complete = nullptr)
{
    const auto &nodes = graph.nodes();
    const std::size_t deviceCount = plan.devices.devices.size();
    std::vector<int> deviceOfNode(nodes.size(), -1);
    std::vector<std::string> unassigned;
    std::map<std::string, std::vector<std::string>> unknownDevices;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        auto it = plan.assignment.find(nodes[n].name);
        if (it == plan.assignment.end()) {
            unassigned.push_back(nodes[n].name);
            continue;
        }
        int device = plan.devices.indexOf(it->second);
        if (device < 0)
            unknownDevices[it->second].push_back(nodes[n].name);
        deviceOfNode[n] = device;
    }
    std::vector<std::string> unknownNodes;
    for (const auto &[name, device] : plan.assignment)
        if (!graph.findNode(name))
            unknownNodes.push_back(name);

    bool structural = true;
    if (!unassigned.empty()) {
        problems.push_back(Problem{"unassigned_node",
                                   false,
                                   std::to_string(unassigned.size()) +
                                       " node(s) have no device: " + joinNames(unassigned),
                                   unassigned,
                                   {}});
        structural = false;
    }
    for (const auto &[device, names] : unknownDevices) {
        problems.push_back(Problem{"unknown_device",
                                   false,
                                   "device \"" + device +
                                       "\" is not in the plan's \"devices\" but runs " +
                                       joinNames(names),
                                   names,
                                   {device}});
        structural = false;
    }
    if (!unknownNodes.empty())
        problems.push_back(Problem{"unknown_node",
                                   false,
                                   "\"assignment\" names node(s) the model does not have: " +
                                       joinNames(unknownNodes),
                                   unknownNodes,
                                   {}});

    // Device-level edges with one example (producer, consumer, value) each,
    // plus the full edge list for cycle reports.
    std::vector<std::vector<std::vector<Edge>>> edges(deviceCount,
                                                      std::vector<std::vector<Edge>>(deviceCount));
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        const int to = deviceOfNode[n];
        if (to < 0)
            continue;
        forEachInput(nodes[n], [&](ValueId in) {
            const graph::Value &value = graph.value(in);
            if (value.initializer || value.producer == graph::kNoNode)
                return;
            const int from = deviceOfNode[static_cast<std::size_t>(value.producer)];
            if (from >= 0 && from != to)
                edges[static_cast<std::size_t>(from)][static_cast<std::size_t>(to)].push_back(
                    Edge{value.producer, static_cast<NodeId>(n), in});
        });
    }

    // Tarjan's strongly connected components over devices.
    std::vector<int> index(deviceCount, -1), low(deviceCount, 0), component(deviceCount, -1);
    std::vector<bool> onStack(deviceCount, false);
    std::vector<int> stack;
    int counter = 0, components = 0;
    std::function<void(int)> visit = [&](int v) {
        const auto uv = static_cast<std::size_t>(v);
        index[uv] = low[uv] = counter++;
        stack.push_back(v);
        onStack[uv] = true;
        for (std::size_t w = 0; w < deviceCount; ++w) {
            if (edges[uv][w].empty())
                continue;
            if (index[w] < 0) {
                visit(static_cast<int>(w));
                low[uv] = std::min(low[uv], low[w]);
            } else if (onStack[w]) {
                low[uv] = std::min(low[uv], index[w]);
            }
        }
        if (low[uv] == index[uv]) {
            int w;
            do {
                w = stack.back();
                stack.pop_back();
                onStack[static_cast<std::size_t>(w)] = false;
                component[static_cast<std::size_t>(w)] = components;
            } while (w != v);
            ++components;
        }
    };
    for (std::size_t d = 0; d < deviceCount; ++d)
        if (index[d] < 0)
            visit(static_cast<int>(d));

    bool cyclic = false;
    for (int c = 0; c < components; ++c) {
        std::vector<std::string> cycleDevices;
        for (std::size_t d = 0; d < deviceCount; ++d)
            if (component[d] == c)
                cycleDevices.push_back(plan.devices.devices[d].id);
        if (cycleDevices.size() < 2)
            continue;
        cyclic = true;
        std::set<std::string> cycleNodes;
        std::string detail;
        std::size_t listed = 0, total = 0;
        for (std::size_t a = 0; a < deviceCount; ++a)
            for (std::size_t b = 0; b < deviceCount; ++b) {
                if (component[a] != c || component[b] != c || a == b)
                    continue;
                for (const Edge &edge : edges[a][b]) {
                    ++total;
                    cycleNodes.insert(graph.node(edge.producer).name);
                    cycleNodes.insert(graph.node(edge.consumer).name);
                    if (listed++ < 6)
                        detail += "; " + plan.devices.devices[a].id + " -> " +
                                  plan.devices.devices[b].id + ": '" +
                                  graph.node(edge.producer).name + "' -> '" +
                                  graph.node(edge.consumer).name + "' (value '" +
                                  graph.value(edge.value).name + "')";
                }
            }
        if (total > 6)
            detail += "; ... (" + std::to_string(total) + " edges in all)";
        std::string cycleText;
        for (const std::string &device : cycleDevices)
            cycleText += device + " -> ";
        cycleText += cycleDevices.front();
        problems.push_back(Problem{"device_cycle",
                                   false,
                                   "stages form a cycle between devices " + cycleText +
                                       " (data goes back and forth)" + detail,
                                   {cycleNodes.begin(), cycleNodes.end()},
                                   cycleDevices});
    }
    if (complete)
        *complete = structural && !cyclic;

    // Stage order: topological order of the device DAG, ties broken by the
    // device's first node, so a linear split keeps its natural order. Devices
    // on a cycle never reach in-degree 0: they follow in first-node order.
    std::vector<NodeId> firstNode(deviceCount, static_cast<NodeId>(nodes.size()));
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        if (deviceOfNode[n] < 0)
            continue;
        auto d = static_cast<std::size_t>(deviceOfNode[n]);
        firstNode[d] = std::min(firstNode[d], static_cast<NodeId>(n));
    }
    std::vector<int> indegree(deviceCount, 0);
    for (std::size_t a = 0; a < deviceCount; ++a)
        for (std::size_t b = 0; b < deviceCount; ++b)
            if (a != b && !edges[a][b].empty())
                ++indegree[b];
    std::vector<int> stageOfDevice(deviceCount, -1);
    StageGraph stageGraph;
    std::vector<bool> done(deviceCount, false);
    for (;;) {
        int pick = -1;
        for (std::size_t d = 0; d < deviceCount; ++d)
            if (!done[d] && indegree[d] == 0 &&
                (pick < 0 || firstNode[d] < firstNode[static_cast<std::size_t>(pick)]))
                pick = static_cast<int>(d);
        if (pick < 0 && cyclic)
            for (std::size_t d = 0; d < deviceCount; ++d)
                if (!done[d] &&
                    (pick < 0 || firstNode[d] < firstNode[static_cast<std::size_t>(pick)]))
                    pick = static_cast<int>(d);
        if (pick < 0)
            break;
        const auto up = static_cast<std::size_t>(pick);
        done[up] = true;
        for (std::size_t b = 0; b < deviceCount; ++b)
            if (b != up && !edges[up][b].empty())
                --indegree[b];
        if (firstNode[up] == static_cast<NodeId>(nodes.size()))
            continue; // a device without nodes is not a stage
        stageOfDevice[up] = static_cast<int>(stageGraph.stages.size());
        stageGraph.stages.push_back(Stage{plan.devices.devices[up].id, {}});
    }
    stageGraph.stageOfNode.assign(nodes.size(), -1);
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        if (deviceOfNode[n] < 0)
            continue;
        int stage = stageOfDevice[static_cast<std::size_t>(deviceOfNode[n])];
        stageGraph.stageOfNode[n] = stage;
        stageGraph.stages[static_cast<std::size_t>(stage)].nodes.push_back(static_cast<NodeId>(n));
    }

    // Transfers: every activation read by a stage other than its producer's.
    std::map<ValueId, std::set<int>> readers;
    for (std::size_t n = 0; n < nodes.size(); ++n) {
        const int stage = stageGraph.stageOfNode[n];
        if (stage < 0)
            continue;
        forEachInput(nodes[n], [&](ValueId in) {
            const graph::Value &value = graph.value(in);
            if (value.initializer || value.producer == graph::kNoNode)
                return;
            const int from = stageGraph.stageOfNode[static_cast<std::size_t>(value.producer)];
            if (from >= 0 && from != stage)
                readers[in].insert(stage);
        });
    }
    for (const auto &[value, stages] : readers)
        stageGraph.transfers.push_back(StageTransfer{
            value, stageGraph.stageOfNode[static_cast<std::size_t>(graph.value(value).producer)],
            std::vector<int>(stages.begin(), stages.end())});
    return stageGraph;
}

} // namespace

Result<StageGraph> buildStageGraph(const Graph &graph, const Plan &plan)
{
    std::vector<Problem> problems;
    bool complete = false;
    StageGraph stages = buildStages(graph, plan, problems, &complete);
    if (!complete) {
        std::string message = "invalid plan";
        for (const Problem &problem : problems)
            message += "\n  " + problem.code + ": " + problem.message;
        return makeError(ErrorCode::InvalidInput, message);
    }
    return stages;
}

bool ValidationReport::ok() const
{
    return std::none_of(problems.begin(), problems.end(),
                        [](const Problem &problem) { return !problem.warning; });
}

PlanEstimate estimatePlan(const Graph &graph, const Plan &plan, const StageGraph &stageGraph,
                          const ModelFacts &facts, int effectiveMicrobatches)
{
    PlanEstimate estimate;
    estimate.microbatchSize = facts.microbatchSize;
    estimate.microbatches = effectiveMicrobatches;
    estimate.exact = facts.exact;
    const std::size_t stageCount = stageGraph.stages.size();

    // Values each stage receives and sends (distinct values: in-process and
    // shared-buffer transports send one buffer to every reader).
    std::vector<std::uint64_t> received(stageCount, 0), sent(stageCount, 0);
    std::vector<std::set<ValueId>> leaves(stageCount); // values that must outlive their stage
    std::map<std::pair<int, int>, LinkEstimate> links;
    for (const StageTransfer &transfer : stageGraph.transfers) {
        const std::uint64_t bytes = facts.valueBytes[static_cast<std::size_t>(transfer.value)];
        // In a transfer buffer each value starts 64-byte aligned.
        const std::uint64_t buffered = runtime::transferBufferBytes(bytes);
        sent[static_cast<std::size_t>(transfer.fromStage)] += buffered;
        leaves[static_cast<std::size_t>(transfer.fromStage)].insert(transfer.value);
        for (int to : transfer.toStages) {
            received[static_cast<std::size_t>(to)] += buffered;
            LinkEstimate &link = links[{transfer.fromStage, to}];
            link.bytes += bytes;
            link.values.push_back(graph.value(transfer.value).name);
        }
    }
    for (auto &[key, link] : links) {
        link.from = stageGraph.stages[static_cast<std::size_t>(key.first)].device;
        link.to = stageGraph.stages[static_cast<std::size_t>(key.second)].device;
        LinkSpec spec = plan.devices.link(link.from, link.to);
        link.name = spec.name;
        link.seconds =
            plan.devices.transferSeconds(link.from, link.to, static_cast<double>(link.bytes));
        estimate.links.push_back(link);
    }

    const std::vector<TensorParallelGroup> groups = tensorParallelGroups(graph, plan, nullptr);
    std::vector<DeviceLedger> shardLedgers; // the other devices of tensor-parallel groups
    for (std::size_t s = 0; s < stageCount; ++s) {
        const Stage &stage = stageGraph.stages[s];
        const DeviceSpec &device = *plan.devices.find(stage.device);
        DeviceLedger ledger;
        ledger.device = stage.device;
        ledger.stage = static_cast<int>(s);
        ledger.capacity = device.memoryBytes;
        StageEstimate stageEstimate;
        stageEstimate.device = stage.device;
        stageEstimate.nodeCount = stage.nodes.size();
        const TensorParallelGroup *group = nullptr;
        std::optional<ShardedStage> sharded;
        for (const TensorParallelGroup &g : groups)
            if (g.stageDevice == stage.device)
                group = &g;
        if (group)
            if (auto analysed = shardStage(graph, stage.nodes, *group, false))
                sharded = std::move(*analysed);
        const double parts = sharded ? static_cast<double>(group->devices.size()) : 1.0;
        std::set<NodeId> divided;
        if (sharded)
            divided.insert(sharded->dividedNodes.begin(), sharded->dividedNodes.end());

        std::set<ValueId> weights;
        std::map<ValueId, std::size_t> lastUse; // value -> position in stage.nodes
        for (std::size_t position = 0; position < stage.nodes.size(); ++position) {
            const NodeId n = stage.nodes[position];
            const graph::Node &node = graph.node(n);
            forEachInput(node, [&](ValueId in) {
                const graph::Value &value = graph.value(in);
                if (value.initializer) {
                    if (weights.insert(in).second)
                        ledger.weights += value.initializer->byteSize();
                } else {
                    lastUse[in] = position;
                }
            });
            ledger.workspace =
                std::max(ledger.workspace, facts.nodeWorkspace[static_cast<std::size_t>(n)]);
            stageEstimate.flops += facts.cost.nodes[static_cast<std::size_t>(n)].flops;
            stageEstimate.computeSeconds +=
                nodeSeconds(facts, n, device) / (divided.count(n) ? parts : 1.0);
        }
        if (sharded) {
            // Point-to-point collectives: each member sends its tensor to the
            // G-1 others (all-reduce: full partial sums; all-gather: a 1/G shard).
            ledger.weights = sharded->shardWeightBytes;
            stageEstimate.group = group->devices;
            const std::string &peer = group->devices[1];
            for (ValueId v : sharded->allReducedValues)
                stageEstimate.collectiveSeconds += plan.devices.transferSeconds(
                    stage.device, peer,
                    static_cast<double>(facts.valueBytes[static_cast<std::size_t>(v)]) *
                        (parts - 1));
            for (ValueId v : sharded->allGatheredValues)
                stageEstimate.collectiveSeconds += plan.devices.transferSeconds(
                    stage.device, peer,
                    static_cast<double>(facts.valueBytes[static_cast<std::size_t>(v)]) *
                        (parts - 1) / parts);
            stageEstimate.allReduces = static_cast<int>(sharded->allReducedValues.size());
            stageEstimate.allGathers = static_cast<int>(sharded->allGatheredValues.size());
        }
        // Stage-local liveness of the activations this stage produces.
        std::vector<std::int64_t> delta(stage.nodes.size() + 1, 0);
        for (std::size_t position = 0; position < stage.nodes.size(); ++position)
            for (ValueId out : graph.node(stage.nodes[position]).outputs) {
                if (out == graph::kNoValue)
                    continue;
                std::size_t end = position;
                if (auto it = lastUse.find(out); it != lastUse.end())
                    end = std::max(end, it->second);
                if (graph.value(out).isGraphOutput || leaves[s].count(out))
                    end = stage.nodes.size() - 1;
                auto bytes =
                    static_cast<std::int64_t>(facts.valueBytes[static_cast<std::size_t>(out)]);
                delta[position] += bytes;
                delta[end + 1] -= bytes;
            }
        std::int64_t live = 0;
        for (std::size_t position = 0; position < stage.nodes.size(); ++position) {
            live += delta[position];
            ledger.activations = std::max(ledger.activations, static_cast<std::uint64_t>(live));
        }
        ledger.transferBuffers =
            kTransferBuffersCharged * received[s] + kTransferQueueDepth * sent[s];
        for (const LinkEstimate &link : estimate.links)
            if (link.to == stage.device)
                stageEstimate.transferInSeconds += link.seconds;
        if (sharded)
            for (std::size_t i = 1; i < group->devices.size(); ++i) {
                // Every shard holds its weights and (replicated) activations.
                DeviceLedger shard = ledger;
                shard.device = group->devices[i];
                const DeviceSpec *spec = plan.devices.find(shard.device);
                shard.capacity = spec ? spec->memoryBytes : 0;
                shard.transferBuffers = kTransferBuffersCharged * received[s];
                shardLedgers.push_back(shard);
            }
        estimate.ledger.push_back(ledger);
        estimate.stages.push_back(stageEstimate);
    }
    for (const DeviceLedger &shard : shardLedgers) {
        auto same = std::find_if(estimate.ledger.begin(), estimate.ledger.end(),
                                 [&](const DeviceLedger &l) { return l.device == shard.device; });
        if (same == estimate.ledger.end()) {
            estimate.ledger.push_back(shard);
            continue;
        }
        same->weights += shard.weights;
        same->activations += shard.activations;
        same->transferBuffers += shard.transferBuffers;
        same->workspace = std::max(same->workspace, shard.workspace);
    }

    double sum = 0;
    for (std::size_t s = 0; s < stageCount; ++s) {
        const double seconds = estimate.stages[s].seconds();
        sum += seconds;
        if (seconds > estimate.stageSecondsMax) {
            estimate.stageSecondsMax = seconds;
            estimate.bottleneck = static_cast<int>(s);
        }
    }
    const double m = effectiveMicrobatches;
    estimate.throughput =
        estimate.stageSecondsMax > 0 ? facts.microbatchSize / estimate.stageSecondsMax : 0;
    estimate.latencySeconds = sum + (m - 1) * estimate.stageSecondsMax;
    // The same ideal bubble the runtime reports beside the measured one.
    estimate.bubbleFraction =
        runtime::idealBubbleFraction(static_cast<int>(stageCount), effectiveMicrobatches);

    double pricePerHour = 0;
    bool priced = stageCount > 0;
    for (const Stage &stage : stageGraph.stages) {
        const DeviceSpec *device = plan.devices.find(stage.device);
        if (!device || device->pricePerHour <= 0)
            priced = false;
        else
            pricePerHour += device->pricePerHour;
    }
    if (priced && estimate.throughput > 0)
        estimate.costPer1000 = pricePerHour / 3600.0 * (1000.0 / estimate.throughput);
    return estimate;
}

bool PlanAnalysis::fits(const Plan &plan) const
{
    return plan.batch == batch && plan.microbatches == microbatches && plan.dims == dims;
}

PlanAnalysis analysePlan(const Graph &graph, const Plan &plan)
{
    PlanAnalysis analysis;
    analysis.batch = plan.batch;
    analysis.microbatches = plan.microbatches;
    analysis.dims = plan.dims;
    const bool divisible = plan.microbatches > 0 && plan.batch % plan.microbatches == 0;
    analysis.bakedBatch = !cost::batchIsSymbolicThroughout(graph, &analysis.bakedReason);
    analysis.effectiveMicrobatches =
        divisible && !(analysis.bakedBatch && plan.microbatches > 1) ? plan.microbatches : 1;
    const std::int64_t microbatchSize = plan.batch / analysis.effectiveMicrobatches;
    auto facts = analyseModel(graph, microbatchSize, plan.dims);
    if (facts)
        analysis.facts = std::move(*facts);
    else
        analysis.factsError = facts.error().message;
    return analysis;
}

ValidationReport validatePlan(const Graph &graph, const Plan &plan, const ValidateOptions &options)
{
    return validatePlan(graph, plan, options, analysePlan(graph, plan));
}

ValidationReport validatePlan(const Graph &graph, const Plan &plan, const ValidateOptions &options,
                              const PlanAnalysis &analysis)
{
    if (!analysis.fits(plan))
        return validatePlan(graph, plan, options);
    ValidationReport report;
    auto &problems = report.problems;

    if (!options.modelSha256.empty() && plan.modelSha256 != options.modelSha256)
        problems.push_back(Problem{"model_hash_mismatch",
                                   false,
                                   "the plan was made for model sha256 " + plan.modelSha256 +
                                       " but this model's sha256 is " + options.modelSha256,
                                   {},
                                   {}});
    std::vector<TensorParallelProblem> tpProblems;
    const std::vector<TensorParallelGroup> tpGroups =
        tensorParallelGroups(graph, plan, &tpProblems);
    for (TensorParallelProblem &problem : tpProblems)
        problems.push_back(Problem{"tensor_parallel_invalid", false, std::move(problem.message),
                                   std::move(problem.nodes), std::move(problem.devices)});
    std::vector<std::string> unknownPins;
    for (const std::string &name : plan.pinned)
        if (!graph.findNode(name))
            unknownPins.push_back(name);
    if (!unknownPins.empty())
        problems.push_back(
            Problem{"unknown_pinned_node",
                    false,
                    "\"pinned\" names node(s) the model does not have: " + joinNames(unknownPins),
                    unknownPins,
                    {}});
    if (plan.batch % plan.microbatches != 0)
        problems.push_back(Problem{"batch_not_divisible",
                                   false,
                                   "\"microbatches\" " + std::to_string(plan.microbatches) +
                                       " does not divide \"batch\" " + std::to_string(plan.batch),
                                   {},
                                   {}});

    report.bakedBatch = analysis.bakedBatch;
    report.effectiveMicrobatches = analysis.effectiveMicrobatches;
    if (report.bakedBatch && plan.microbatches > 1) {
        Problem problem{"baked_batch",
                        true,
                        "micro-batching is impossible: the batch size is baked into the model (" +
                            analysis.bakedReason +
                            "); the plan runs with 1 micro-batch instead of " +
                            std::to_string(plan.microbatches),
                        {},
                        {}};
        if (auto node = graph.findNode(analysis.bakedReason))
            problem.nodes.push_back(analysis.bakedReason);
        problems.push_back(std::move(problem));
    }

    bool complete = false;
    const StageGraph stages = buildStages(graph, plan, problems, &complete);

    for (const TensorParallelGroup &group : tpGroups)
        for (const Stage &stage : stages.stages)
            if (stage.device == group.stageDevice)
                if (auto sharded = shardStage(graph, stage.nodes, group, false); !sharded) {
                    std::vector<std::string> nodes;
                    for (const auto &[n, mode] : group.modes)
                        if (sharded.error().message.find("'" + graph.node(n).name + "'") !=
                            std::string::npos)
                            nodes.push_back(graph.node(n).name);
                    problems.push_back(Problem{"tensor_parallel_invalid", false,
                                               sharded.error().message, nodes, group.devices});
                }

    if (!analysis.facts) {
        problems.push_back(Problem{
            "estimate_failed", false, "cannot estimate costs: " + analysis.factsError, {}, {}});
        return report;
    }
    const ModelFacts &facts = *analysis.facts;
    PlanEstimate estimate = estimatePlan(graph, plan, stages, facts, report.effectiveMicrobatches);
    // With unassigned nodes or a device cycle the ledger covers the assigned
    // nodes only: still worth checking against capacity, not worth reporting
    // as the estimate.
    if (complete)
        report.estimate = estimate;

    for (std::size_t s = 0; s < estimate.ledger.size(); ++s) {
        const DeviceLedger &ledger = estimate.ledger[s];
        if (ledger.capacity == 0 || ledger.total() <= ledger.capacity)
            continue;
        // Name the heaviest nodes (weights + outputs) first.
        const Stage &stage = stages.stages[static_cast<std::size_t>(
            ledger.stage >= 0 ? ledger.stage : static_cast<int>(s))];
        std::vector<std::pair<std::uint64_t, NodeId>> heavy;
        for (NodeId n : stage.nodes) {
            std::uint64_t bytes = facts.nodeWeights[static_cast<std::size_t>(n)];
            for (ValueId out : graph.node(n).outputs)
                if (out != graph::kNoValue)
                    bytes += facts.valueBytes[static_cast<std::size_t>(out)];
            heavy.emplace_back(bytes, n);
        }
        std::sort(heavy.begin(), heavy.end(), std::greater<>());
        std::vector<std::string> names;
        for (const auto &[bytes, n] : heavy)
            names.push_back(graph.node(n).name);
        problems.push_back(Problem{
            "memory_over_capacity",
            false,
            "device " + ledger.device + " needs " + formatBytes(ledger.total()) + " (weights " +
                formatBytes(ledger.weights) + ", activations " + formatBytes(ledger.activations) +
                ", transfer buffers " + formatBytes(ledger.transferBuffers) + ", workspace " +
                formatBytes(ledger.workspace) + ") but holds " + formatBytes(ledger.capacity) +
                "; largest nodes: " + joinNames(names, 5),
            names,
            {ledger.device}});
    }
    report.assignedEstimate = std::move(estimate);
    return report;
}

json estimateToJson(const PlanEstimate &estimate)
{
    json doc;
    doc["microbatch_size"] = estimate.microbatchSize;
    doc["microbatches"] = estimate.microbatches;
    json stages = json::array();
    for (std::size_t s = 0; s < estimate.stages.size(); ++s) {
        const StageEstimate &stage = estimate.stages[s];
        stages.push_back({{"index", s},
                          {"device", stage.device},
                          {"nodes", stage.nodeCount},
                          {"flops", stage.flops},
                          {"compute_ms", stage.computeSeconds * 1e3},
                          {"transfer_in_ms", stage.transferInSeconds * 1e3},
                          {"stage_ms", stage.seconds() * 1e3}});
        if (!stage.group.empty()) {
            stages.back()["tensor_parallel"] = stage.group;
            stages.back()["collective_ms"] = stage.collectiveSeconds * 1e3;
            stages.back()["all_reduces"] = stage.allReduces;
            stages.back()["all_gathers"] = stage.allGathers;
        }
    }
    doc["stages"] = stages;
    json ledger = json::array();
    for (const DeviceLedger &entry : estimate.ledger)
        ledger.push_back({{"device", entry.device},
                          {"weights_bytes", entry.weights},
                          {"activations_bytes", entry.activations},
                          {"transfer_buffer_bytes", entry.transferBuffers},
                          {"workspace_bytes", entry.workspace},
                          {"total_bytes", entry.total()},
                          {"capacity_bytes", entry.capacity}});
    doc["ledger"] = ledger;
    json links = json::array();
    for (const LinkEstimate &link : estimate.links)
        links.push_back({{"from", link.from},
                         {"to", link.to},
                         {"name", link.name},
                         {"bytes", link.bytes},
                         {"ms", link.seconds * 1e3},
                         {"values", link.values}});
    doc["links"] = links;
    if (!estimate.stages.empty())
        doc["bottleneck"] = {
            {"stage", estimate.bottleneck},
            {"device", estimate.stages[static_cast<std::size_t>(estimate.bottleneck)].device},
            {"stage_ms", estimate.stageSecondsMax * 1e3}};
    else
        doc["bottleneck"] = nullptr;
    doc["throughput"] = estimate.throughput;
    doc["latency_ms"] = estimate.latencySeconds * 1e3;
    doc["bubble_fraction"] = estimate.bubbleFraction;
    doc["cost_per_1000_inferences"] =
        estimate.costPer1000 ? json(*estimate.costPer1000) : json(nullptr);
    doc["exact"] = estimate.exact;
    return doc;
}

json reportToJson(const ValidationReport &report)
{
    json doc;
    doc["valid"] = report.ok();
    json problems = json::array();
    for (const Problem &problem : report.problems)
        problems.push_back({{"code", problem.code},
                            {"severity", problem.warning ? "warning" : "error"},
                            {"message", problem.message},
                            {"nodes", problem.nodes},
                            {"devices", problem.devices}});
    doc["problems"] = problems;
    doc["baked_batch"] = report.bakedBatch;
    doc["effective_microbatches"] = report.effectiveMicrobatches;
    doc["estimate"] = report.estimate ? estimateToJson(*report.estimate) : json(nullptr);
    return doc;
}

std::string formatEstimate(const PlanEstimate &estimate)
{
    std::ostringstream out;
    char line[256];
    std::snprintf(line, sizeof line, "%-5s %-16s %6s %12s %12s %12s %12s %12s\n", "stage", "device",
                  "nodes", "compute ms", "xfer-in ms", "weights", "activations", "mem/cap");
    out << line;
    for (std::size_t s = 0; s < estimate.stages.size(); ++s) {
        const StageEstimate &stage = estimate.stages[s];
        const DeviceLedger &ledger = estimate.ledger[s];
        std::string capacity = formatBytes(ledger.total()) + "/" +
                               (ledger.capacity ? formatBytes(ledger.capacity) : "?");
        std::snprintf(line, sizeof line, "%-5zu %-16s %6zu %12.3f %12.3f %12s %12s %s%s\n", s,
                      stage.device.c_str(), stage.nodeCount, stage.computeSeconds * 1e3,
                      stage.transferInSeconds * 1e3, formatBytes(ledger.weights).c_str(),
                      formatBytes(ledger.activations).c_str(), capacity.c_str(),
                      static_cast<int>(s) == estimate.bottleneck ? "  <- bottleneck" : "");
        out << line;
        if (!stage.group.empty()) {
            std::string group;
            for (const std::string &device : stage.group)
                group += (group.empty() ? "" : ", ") + device;
            std::snprintf(line, sizeof line,
                          "      tensor parallel over %s: %d all-reduce(s), %d all-gather(s), "
                          "%.3f ms collectives\n",
                          group.c_str(), stage.allReduces, stage.allGathers,
                          stage.collectiveSeconds * 1e3);
            out << line;
        }
    }
    // Devices that hold a tensor-parallel shard without a stage of their own.
    for (std::size_t d = estimate.stages.size(); d < estimate.ledger.size(); ++d) {
        const DeviceLedger &ledger = estimate.ledger[d];
        std::snprintf(line, sizeof line, "shard %-16s %32s %12s %12s %s/%s\n",
                      ledger.device.c_str(), "", formatBytes(ledger.weights).c_str(),
                      formatBytes(ledger.activations).c_str(), formatBytes(ledger.total()).c_str(),
                      ledger.capacity ? formatBytes(ledger.capacity).c_str() : "?");
        out << line;
    }
    for (const LinkEstimate &link : estimate.links) {
        std::snprintf(line, sizeof line, "link %s -> %s (%s): %s per micro-batch, %.3f ms\n",
                      link.from.c_str(), link.to.c_str(), link.name.c_str(),
                      formatBytes(link.bytes).c_str(), link.seconds * 1e3);
        out << line;
    }
    std::snprintf(line, sizeof line,
                  "micro-batches %d x %lld samples; est. throughput %.1f samples/s, latency "
                  "%.3f ms, bubble %.1f%%",
                  estimate.microbatches, static_cast<long long>(estimate.microbatchSize),
                  estimate.throughput, estimate.latencySeconds * 1e3,
                  estimate.bubbleFraction * 100);
    out << line;
    if (estimate.costPer1000)
        out << ", $" << *estimate.costPer1000 << " per 1,000 inferences";
    out << (estimate.exact ? "" : " (estimate: some shapes unresolved)") << "\n";
    return out.str();
}

Status checkPlanForRun(const graph::Graph &graph, Plan plan, const std::filesystem::path &modelPath,
                       const std::string &planLabel, std::vector<std::string> *warnings)
{
    if (plan.microbatches < 1 || plan.batch % plan.microbatches != 0)
        plan.microbatches = 1;
    ValidateOptions options;
    if (!modelPath.empty()) {
        SB_ASSIGN_OR_RETURN(options.modelSha256, sha256File(modelPath));
    }
    const ValidationReport report = validatePlan(graph, plan, options);
    if (warnings)
        for (const Problem &problem : report.problems)
            if (problem.warning)
                warnings->push_back(problem.message);
    if (report.ok())
        return {};
    std::string message = planLabel + ": invalid plan";
    for (const Problem &problem : report.problems)
        if (!problem.warning)
            message += "\n  " + problem.code + ": " + problem.message;
    return makeError(ErrorCode::InvalidInput, message);
}

} // namespace sb::plan
