#include "core/runtime/pipeline.h"
#include "core/common/json_text.h"

#include "core/cost/cost_model.h"
#include "core/runtime/run_summary.h"
#include "core/runtime/tensor_parallel.h"
#include "core/runtime/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

namespace sb::runtime {

using graph::Graph;
using graph::NodeId;
using nlohmann::json;

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point origin)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - origin).count();
}

// Slice i of `count` equal parts along dim 0 (a view; the parent stays alive).
Tensor sliceBatch(const Tensor &tensor, int index, int count)
{
    Shape shape = tensor.shape();
    const std::int64_t rows = shape[0] / count;
    shape[0] = rows;
    const std::size_t sliceBytes = tensor.byteSize() / static_cast<std::size_t>(count);
    auto owner = std::make_shared<Tensor>(tensor);
    auto *base = static_cast<char *>(const_cast<void *>(tensor.data()));
    return Tensor::view(tensor.type(), shape, base + sliceBytes * static_cast<std::size_t>(index),
                        std::shared_ptr<const void>(owner));
}

Result<Tensor> concatBatch(const std::string &name, const std::vector<Tensor> &parts)
{
    if (parts.size() == 1)
        return parts.front();
    Shape shape = parts.front().shape();
    if (shape.empty())
        return makeError(ErrorCode::Internal, "output '" + name + "' has no batch axis");
    std::int64_t rows = 0;
    for (const Tensor &part : parts) {
        if (part.type() != parts.front().type() || part.rank() != shape.size() ||
            !std::equal(part.shape().begin() + 1, part.shape().end(), shape.begin() + 1))
            return makeError(ErrorCode::Runtime,
                             "micro-batch outputs of '" + name + "' disagree in shape: " +
                                 shapeToString(part.shape()) + " vs " + shapeToString(shape));
        rows += part.dim(0);
    }
    shape[0] = rows;
    Tensor whole = Tensor::empty(parts.front().type(), shape);
    auto *out = static_cast<char *>(whole.data());
    for (const Tensor &part : parts) {
        std::memcpy(out, part.data(), part.byteSize());
        out += part.byteSize();
    }
    return whole;
}

} // namespace

namespace {

// Stage of every node. Errors: an empty stage, a node in two stages or in none.
Result<std::vector<int>> stageOfNodes(const Graph &graph,
                                      const std::vector<std::vector<NodeId>> &stageNodes)
{
    const std::size_t nodeCount = graph.nodes().size();
    if (stageNodes.empty())
        return makeError(ErrorCode::InvalidInput, "pipeline: no stages");
    std::vector<int> stageOfNode(nodeCount, -1);
    for (std::size_t s = 0; s < stageNodes.size(); ++s) {
        if (stageNodes[s].empty())
            return makeError(ErrorCode::InvalidInput,
                             "pipeline: stage " + std::to_string(s) + " has no nodes");
        for (NodeId n : stageNodes[s]) {
            if (n < 0 || static_cast<std::size_t>(n) >= nodeCount)
                return makeError(ErrorCode::Internal, "pipeline: node id out of range");
            auto &slot = stageOfNode[static_cast<std::size_t>(n)];
            if (slot >= 0)
                return makeError(ErrorCode::InvalidInput,
                                 "pipeline: node '" + graph.node(n).name + "' is in two stages");
            slot = static_cast<int>(s);
        }
    }
    for (std::size_t n = 0; n < nodeCount; ++n)
        if (stageOfNode[n] < 0)
            return makeError(ErrorCode::InvalidInput,
                             "pipeline: node '" + graph.nodes()[n].name + "' is in no stage");
    return stageOfNode;
}

} // namespace

Result<PipelineRouting> routePipeline(const Graph &graph,
                                      const std::vector<std::vector<NodeId>> &stageNodes,
                                      const std::vector<std::vector<std::string>> &inputNames,
                                      const std::vector<std::vector<std::string>> &outputNames)
{
    const std::size_t stages = stageNodes.size();
    SB_ASSIGN_OR_RETURN(std::vector<int> stageOfNode, stageOfNodes(graph, stageNodes));
    if (inputNames.size() != stages || outputNames.size() != stages)
        return makeError(ErrorCode::Internal, "pipeline: stage names do not match the stages");

    PipelineRouting routing;
    routing.stages.resize(stages);
    const int driver = static_cast<int>(stages);
    std::set<std::pair<int, int>> links;
    // Route every stage input to its source: the driver or the producing stage.
    for (std::size_t s = 0; s < stages; ++s) {
        for (const std::string &name : inputNames[s]) {
            auto value = graph.findValue(name);
            if (!value)
                return makeError(ErrorCode::Internal,
                                 "pipeline: unknown stage input '" + name + "'");
            const graph::Value &info = graph.value(*value);
            if (info.producer == graph::kNoNode) {
                if (!info.isGraphInput)
                    return makeError(ErrorCode::Internal,
                                     "pipeline: stage input '" + name + "' has no source");
                routing.stages[s].hostInputs.push_back(name);
                links.insert({driver, static_cast<int>(s)});
                continue;
            }
            const int source = stageOfNode[static_cast<std::size_t>(info.producer)];
            if (source == static_cast<int>(s))
                continue;
            if (source > static_cast<int>(s))
                return makeError(ErrorCode::InvalidInput,
                                 "pipeline: stage " + std::to_string(s) + " reads '" + name +
                                     "' produced by the later stage " + std::to_string(source) +
                                     " (node '" + graph.node(info.producer).name + "')");
            routing.stages[s].fromStage[source].push_back(name);
            routing.stages[static_cast<std::size_t>(source)].toStage[static_cast<int>(s)].push_back(
                name);
            links.insert({source, static_cast<int>(s)});
        }
        links.insert({static_cast<int>(s), driver}); // outputs and the stage's report
    }
    for (graph::ValueId out : graph.outputs()) {
        const graph::Value &info = graph.value(out);
        if (info.producer == graph::kNoNode) {
            routing.passThroughOutputs.push_back(info.name);
            continue;
        }
        const auto stage =
            static_cast<std::size_t>(stageOfNode[static_cast<std::size_t>(info.producer)]);
        const auto &names = outputNames[stage];
        if (std::find(names.begin(), names.end(), info.name) == names.end())
            return makeError(ErrorCode::Internal, "pipeline: graph output '" + info.name +
                                                      "' is not an output of stage " +
                                                      std::to_string(stage));
        routing.stages[stage].graphOutputs.push_back(info.name);
    }
    routing.links.assign(links.begin(), links.end());

    std::vector<std::string> symbols = cost::batchSymbols(graph);
    for (graph::ValueId in : graph.inputs()) {
        const graph::Value &info = graph.value(in);
        if (info.info.shape.rankKnown && !info.info.shape.dims.empty() &&
            info.info.shape.dims[0].isSymbolic() &&
            std::find(symbols.begin(), symbols.end(), info.info.shape.dims[0].symbol) !=
                symbols.end())
            routing.batchInputs.insert(info.name);
    }
    return routing;
}

int PipelineRouting::endpointCount() const
{
    int helpers = 0;
    for (const auto &[stage, group] : groups)
        helpers += static_cast<int>(group.size()) - 1;
    return stageCount() + 1 + helpers;
}

std::vector<std::pair<int, int>> PipelineRouting::stageLinks() const
{
    std::vector<std::pair<int, int>> links;
    for (int s = 0; s < stageCount(); ++s)
        for (const auto &[to, names] : stages[static_cast<std::size_t>(s)].toStage)
            if (to < stageCount())
                links.emplace_back(s, to);
    return links;
}

void addTensorParallelGroups(PipelineRouting &routing, const std::vector<int> &shardCounts)
{
    std::set<std::pair<int, int>> links(routing.links.begin(), routing.links.end());
    int next = routing.driver() + 1;
    for (std::size_t s = 0; s < shardCounts.size(); ++s) {
        if (shardCounts[s] < 2)
            continue;
        std::vector<int> group{static_cast<int>(s)};
        for (int i = 1; i < shardCounts[s]; ++i)
            group.push_back(next++);
        for (int a : group)
            for (int b : group)
                if (a != b)
                    links.insert({a, b});
        routing.groups[static_cast<int>(s)] = std::move(group);
    }
    routing.links.assign(links.begin(), links.end());
}

int effectiveMicrobatches(const Graph &graph, const PipelineRouting &routing,
                          const TensorMap &inputs, int requested, std::string *note)
{
    auto say = [&](const std::string &text) {
        if (note)
            *note = text;
        return 1;
    };
    if (note)
        note->clear();
    if (requested <= 1)
        return 1;
    std::string reason;
    if (!cost::batchIsSymbolicThroughout(graph, &reason))
        return say("the batch size is baked into the model (" + reason +
                   "): running 1 micro-batch instead of " + std::to_string(requested));
    if (routing.batchInputs.empty())
        return say("no graph input has a symbolic batch axis: running 1 micro-batch");
    std::int64_t batch = -1;
    for (const std::string &name : routing.batchInputs) {
        auto it = inputs.find(name);
        if (it == inputs.end() || it->second.rank() == 0)
            continue;
        if (batch >= 0 && it->second.dim(0) != batch)
            return say("batch inputs disagree on the batch size: running 1 micro-batch");
        batch = it->second.dim(0);
    }
    if (batch < 0)
        return say("no batch input given: running 1 micro-batch");
    if (batch % requested != 0)
        return say("batch " + std::to_string(batch) + " does not split into " +
                   std::to_string(requested) + " equal micro-batches: running 1 micro-batch");
    std::vector<std::string> symbols = cost::batchSymbols(graph);
    for (graph::ValueId out : graph.outputs()) {
        const graph::Value &info = graph.value(out);
        const auto &shape = info.info.shape;
        bool batched =
            shape.rankKnown && !shape.dims.empty() && shape.dims[0].isSymbolic() &&
            std::find(symbols.begin(), symbols.end(), shape.dims[0].symbol) != symbols.end();
        if (!batched)
            return say("graph output '" + info.name +
                       "' has no batch axis to concatenate: running 1 micro-batch");
    }
    return requested;
}

// ---- stage reports

json stageReportToJson(const StageReport &report)
{
    json links = json::array();
    for (const LinkMetrics &link : report.links)
        links.push_back({{"to_stage", link.toStage},
                         {"bytes", link.bytes},
                         {"messages", link.messages},
                         {"ms", link.ms}});
    json events = json::array();
    for (const TimelineEvent &event : report.events)
        events.push_back({event.microbatch, event.kind, event.startMs, event.endMs});
    return {{"stage", report.stage},
            {"device", report.device},
            {"host", report.host},
            {"rank", report.rank},
            {"nodes", report.nodes},
            {"compute_ms", report.computeMs},
            {"peak_activation_bytes", report.peakActivationBytes},
            {"peak_queued_bytes", report.peakQueuedBytes},
            {"sent_bytes", report.sentBytes},
            {"links", links},
            {"events", events}};
}

Result<StageReport> stageReportFromJson(const std::string &text)
{
    try {
        const json doc = json::parse(text);
        StageReport report;
        report.stage = doc.at("stage").get<int>();
        report.device = doc.at("device").get<std::string>();
        report.host = doc.at("host").get<std::string>();
        report.rank = doc.at("rank").get<int>();
        report.nodes = doc.at("nodes").get<std::size_t>();
        report.computeMs = doc.at("compute_ms").get<double>();
        report.peakActivationBytes = doc.at("peak_activation_bytes").get<std::uint64_t>();
        report.peakQueuedBytes = doc.at("peak_queued_bytes").get<std::uint64_t>();
        report.sentBytes = doc.at("sent_bytes").get<std::uint64_t>();
        for (const json &link : doc.at("links")) {
            LinkMetrics metrics;
            metrics.fromStage = report.stage;
            metrics.toStage = link.at("to_stage").get<int>();
            metrics.bytes = link.at("bytes").get<std::uint64_t>();
            metrics.messages = link.at("messages").get<int>();
            metrics.ms = link.at("ms").get<double>();
            report.links.push_back(metrics);
        }
        for (const json &event : doc.at("events"))
            report.events.push_back({report.stage, event.at(0).get<int>(),
                                     event.at(1).get<std::string>(), event.at(2).get<double>(),
                                     event.at(3).get<double>()});
        return report;
    } catch (const std::exception &error) {
        return makeError(ErrorCode::Internal,
                         std::string("pipeline: malformed stage report: ") + error.what());
    }
}

static std::string thisHostName()
{
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    return host;
}

// ---- StageWorker

StageWorker::StageWorker(int stage, const Executor &executor, StageIo io, std::size_t nodes)
    : m_stage(stage), m_executor(executor), m_io(std::move(io)), m_nodes(nodes),
      m_host(thisHostName())
{}

void StageWorker::setPlace(std::string host, int rank)
{
    m_host = std::move(host);
    m_rank = rank;
}

void StageWorker::setCoreGate(ComputeGate *gate, int units)
{
    m_coreGate = gate;
    m_coreUnits = std::max(1, units);
}

void StageWorker::setGroup(std::vector<int> group, int index)
{
    m_group = std::move(group);
    m_groupIndex = index;
}

Status StageWorker::run(Transport &transport, int driver, int microbatches, const CancelToken &stop,
                        Clock::time_point origin, const std::function<void(int, int)> &onStageStart,
                        const std::function<void(int, int, const NodeEvent &)> &onNode) const
{
    const int s = m_stage;
    const std::string &deviceId = m_executor.device().id();
    StageReport report;
    report.stage = s;
    report.device = deviceId;
    report.host = m_host;
    report.rank = m_rank;
    report.nodes = m_nodes;
    std::map<int, LinkMetrics> links;
    RunOptions runOptions;
    runOptions.cancel = &stop;
    int currentMicrobatch = 0;
    if (onNode)
        runOptions.onNode = [&](const NodeEvent &event) { onNode(s, currentMicrobatch, event); };
    CollectiveContext collectives;
    collectives.transport = &transport;
    collectives.group = m_group;
    collectives.index = m_groupIndex;
    collectives.cancel = &stop;
    collectives.origin = origin;
    const bool grouped = m_group.size() > 1;
    auto runShard = [&](const TensorMap &stageInputs) {
        if (!grouped)
            return m_executor.run(stageInputs, runOptions);
        CollectiveScope scope(collectives);
        return m_executor.run(stageInputs, runOptions);
    };
    auto receiveInto = [&](int source, int mb, TensorMap &into) -> Status {
        SB_ASSIGN_OR_RETURN(TransportMessage message, transport.receive(source, s, &stop));
        if (message.kind == TransportMessage::Kind::Error)
            return makeError(ErrorCode::Runtime, message.text);
        if (message.kind != TransportMessage::Kind::Data || message.microbatch != mb)
            return makeError(ErrorCode::Internal, "stage " + std::to_string(s) +
                                                      " received micro-batch " +
                                                      std::to_string(message.microbatch) +
                                                      " while expecting " + std::to_string(mb));
        for (auto &[name, tensor] : message.tensors)
            into[name] = std::move(tensor);
        return {};
    };
    if (grouped && m_groupIndex > 0) {
        // A helper shard: inputs from the stage endpoint, outputs dropped.
        for (int mb = 0; mb < microbatches; ++mb) {
            TensorMap stageInputs;
            SB_TRY(receiveInto(m_group[0], mb, stageInputs));
            auto ran = runShard(stageInputs);
            if (!ran)
                return ran.error().withContext("stage " + std::to_string(m_group[0]) + " shard " +
                                               std::to_string(m_groupIndex) + " (" + deviceId +
                                               ") micro-batch " + std::to_string(mb));
        }
        return transport.drain(s, &stop);
    }
    for (int mb = 0; mb < microbatches; ++mb) {
        if (stop.isCancelled())
            return makeError(ErrorCode::Cancelled, "stage " + std::to_string(s) + " stopped");
        const double receiveStart = msSince(origin);
        TensorMap stageInputs;
        if (!m_io.hostInputs.empty())
            SB_TRY(receiveInto(driver, mb, stageInputs));
        for (const auto &[source, names] : m_io.fromStage)
            SB_TRY(receiveInto(source, mb, stageInputs));
        for (std::size_t i = 1; grouped && i < m_group.size(); ++i) {
            TransportMessage message;
            message.microbatch = mb;
            message.tensors = stageInputs;
            SB_TRY(transport.send(s, m_group[i], std::move(message), &stop));
        }
        if (!m_io.fromStage.empty())
            report.events.push_back({s, mb, "receive", receiveStart, msSince(origin)});
        double computeStart = 0, computeEnd = 0;
        collectives.events.clear();
        auto ran = [&] {
            ComputeGate::Hold core(m_coreGate, m_coreUnits);
            computeStart = msSince(origin);
            currentMicrobatch = mb;
            if (onStageStart)
                onStageStart(s, mb);
            auto result = runShard(stageInputs);
            computeEnd = msSince(origin);
            return result;
        }();
        for (const CollectiveEvent &event : collectives.events)
            report.events.push_back({s, mb, event.kind, event.startMs, event.endMs});
        if (!ran)
            return ran.error().withContext("stage " + std::to_string(s) + " (" + deviceId +
                                           ") micro-batch " + std::to_string(mb));
        report.events.push_back({s, mb, "compute", computeStart, computeEnd});
        report.computeMs += computeEnd - computeStart;
        report.peakActivationBytes =
            std::max(report.peakActivationBytes, ran->stats.peakMemoryBytes);
        for (const auto &[destination, names] : m_io.toStage) {
            TransportMessage message;
            message.microbatch = mb;
            for (const std::string &name : names)
                message.tensors[name] = ran->outputs.at(name);
            const std::uint64_t bytes = message.bytes();
            const double sendStart = msSince(origin);
            SB_TRY(transport.send(s, destination, std::move(message), &stop));
            const double sendEnd = msSince(origin);
            LinkMetrics &link = links[destination];
            link.fromStage = s;
            link.toStage = destination;
            link.bytes += bytes;
            link.messages += 1;
            link.ms += sendEnd - sendStart;
            report.sentBytes += bytes;
            report.events.push_back({s, mb, "send", sendStart, sendEnd});
        }
        if (!m_io.graphOutputs.empty()) {
            TransportMessage message;
            message.microbatch = mb;
            for (const std::string &name : m_io.graphOutputs)
                message.tensors[name] = ran->outputs.at(name);
            SB_TRY(transport.send(s, driver, std::move(message), &stop));
        }
    }
    for (auto &[destination, link] : links)
        report.links.push_back(link);
    report.peakQueuedBytes = transport.peakQueuedBytes(s);
    TransportMessage done;
    done.kind = TransportMessage::Kind::Metrics;
    done.text = sb::jsonText(stageReportToJson(report));
    SB_TRY(transport.send(s, driver, std::move(done), &stop));
    return transport.drain(s, &stop);
}

// ---- PipelineDriver

PipelineDriver::PipelineDriver(const Graph &graph, const PipelineRouting &routing)
    : m_graph(graph), m_routing(routing)
{}

Result<PipelineResult> PipelineDriver::run(Transport &transport, const TensorMap &inputs,
                                           int microbatches, const CancelToken &stop,
                                           Clock::time_point origin) const
{
    const int stages = m_routing.stageCount();
    const int driver = m_routing.driver();
    for (const StageIo &io : m_routing.stages)
        for (const std::string &name : io.hostInputs)
            if (!inputs.count(name))
                return makeError(ErrorCode::InvalidInput, "missing input '" + name + "'");
    for (const auto &[name, tensor] : inputs)
        if (m_routing.batchInputs.count(name) && microbatches > 1 && tensor.rank() == 0)
            return makeError(ErrorCode::InvalidInput, "input '" + name + "' has no batch axis");

    // Feed: one message per (stage reading graph inputs, micro-batch).
    std::optional<Error> feedError;
    std::thread feeder([&] {
        for (int mb = 0; mb < microbatches; ++mb)
            for (int s = 0; s < stages; ++s) {
                const StageIo &io = m_routing.stages[static_cast<std::size_t>(s)];
                if (io.hostInputs.empty())
                    continue;
                TransportMessage message;
                message.microbatch = mb;
                for (const std::string &name : io.hostInputs) {
                    const Tensor &tensor = inputs.at(name);
                    message.tensors[name] = microbatches > 1 && m_routing.batchInputs.count(name)
                                                ? sliceBatch(tensor, mb, microbatches)
                                                : tensor;
                }
                Status sent = transport.send(driver, s, std::move(message), &stop);
                if (!sent.ok()) {
                    feedError = sent.error();
                    return;
                }
            }
    });
    struct JoinFeeder
    {
        std::thread &thread;
        ~JoinFeeder() { thread.join(); }
    } joinFeeder{feeder};

    auto receiveFrom = [&](int s) -> Result<TransportMessage> {
        SB_ASSIGN_OR_RETURN(TransportMessage message, transport.receive(s, driver, &stop));
        if (message.kind == TransportMessage::Kind::Error)
            return makeError(ErrorCode::Runtime, message.text);
        return message;
    };
    std::vector<std::vector<TensorMap>> outputs(
        static_cast<std::size_t>(stages),
        std::vector<TensorMap>(static_cast<std::size_t>(microbatches)));
    for (int mb = 0; mb < microbatches; ++mb)
        for (int s = 0; s < stages; ++s) {
            if (m_routing.stages[static_cast<std::size_t>(s)].graphOutputs.empty())
                continue;
            SB_ASSIGN_OR_RETURN(TransportMessage message, receiveFrom(s));
            if (message.kind != TransportMessage::Kind::Data || message.microbatch != mb)
                return makeError(ErrorCode::Internal, "driver received micro-batch " +
                                                          std::to_string(message.microbatch) +
                                                          " of stage " + std::to_string(s) +
                                                          " while expecting " + std::to_string(mb));
            outputs[static_cast<std::size_t>(s)][static_cast<std::size_t>(mb)] =
                std::move(message.tensors);
        }
    std::vector<StageReport> reports;
    for (int s = 0; s < stages; ++s) {
        SB_ASSIGN_OR_RETURN(TransportMessage message, receiveFrom(s));
        if (message.kind != TransportMessage::Kind::Metrics)
            return makeError(ErrorCode::Internal,
                             "driver expected the report of stage " + std::to_string(s));
        SB_ASSIGN_OR_RETURN(StageReport report, stageReportFromJson(message.text));
        reports.push_back(std::move(report));
    }
    PipelineResult result;
    PipelineMetrics &metrics = result.metrics;
    metrics.wallMs = msSince(origin);
    if (feedError)
        return *feedError;

    // Outputs: concatenate micro-batches in order.
    for (int s = 0; s < stages; ++s)
        for (const std::string &name : m_routing.stages[static_cast<std::size_t>(s)].graphOutputs) {
            std::vector<Tensor> parts;
            for (int mb = 0; mb < microbatches; ++mb) {
                const TensorMap &part =
                    outputs[static_cast<std::size_t>(s)][static_cast<std::size_t>(mb)];
                auto it = part.find(name);
                if (it == part.end())
                    return makeError(ErrorCode::Internal, "driver: stage " + std::to_string(s) +
                                                              " sent no '" + name + "'");
                parts.push_back(it->second);
            }
            SB_ASSIGN_OR_RETURN(result.outputs[name], concatBatch(name, parts));
        }
    for (const std::string &name : m_routing.passThroughOutputs)
        if (auto it = inputs.find(name); it != inputs.end())
            result.outputs[name] = it->second;

    // Metrics from the reports only.
    metrics.microbatches = microbatches;
    metrics.idealBubbleFraction = idealBubbleFraction(stages, microbatches);
    std::vector<double> stageComputeMs;
    std::vector<double> mbStart(static_cast<std::size_t>(microbatches), 1e300),
        mbEnd(static_cast<std::size_t>(microbatches), 0);
    for (const StageReport &report : reports) {
        StageMetrics stage;
        stage.device = report.device;
        stage.host = report.host;
        stage.rank = report.rank;
        stage.nodes = report.nodes;
        stage.computeMs = report.computeMs;
        stage.idleMs = std::max(0.0, metrics.wallMs - report.computeMs);
        stage.peakMemoryBytes = report.peakActivationBytes + report.peakQueuedBytes;
        stage.sentBytes = report.sentBytes;
        stageComputeMs.push_back(report.computeMs);
        metrics.stages.push_back(stage);
        for (LinkMetrics link : report.links) {
            link.from = report.device;
            link.to = reports.at(static_cast<std::size_t>(link.toStage)).device;
            metrics.links.push_back(link);
        }
        for (const TimelineEvent &event : report.events) {
            auto mb = static_cast<std::size_t>(event.microbatch);
            if (mb >= mbStart.size())
                continue;
            mbStart[mb] = std::min(mbStart[mb], event.startMs);
            mbEnd[mb] = std::max(mbEnd[mb], event.endMs);
            metrics.timeline.push_back(event);
        }
    }
    for (int mb = 0; mb < microbatches; ++mb)
        metrics.microbatchLatencyMs.push_back(mbEnd[static_cast<std::size_t>(mb)] -
                                              mbStart[static_cast<std::size_t>(mb)]);
    metrics.bubbleFraction = runtime::bubbleFraction(stageComputeMs, metrics.wallMs);
    std::sort(metrics.timeline.begin(), metrics.timeline.end(),
              [](const TimelineEvent &a, const TimelineEvent &b) {
                  return a.startMs < b.startMs || (a.startMs == b.startMs && a.stage < b.stage);
              });
    return result;
}

// ---- PipelineRunner (in-process)

struct PipelineRunner::Impl
{
    std::shared_ptr<const Graph> graph;
    std::vector<PipelineStageSpec> specs;
    std::vector<std::unique_ptr<Executor>> executors;
    std::vector<std::unique_ptr<StageWorker>> workers;
    std::vector<std::unique_ptr<Executor>> helperExecutors; // shards 1.. of tensor-parallel stages
    std::vector<std::unique_ptr<StageWorker>> helpers;
    std::shared_ptr<Transport> transport;
    PipelineRouting routing;
    // One long-lived thread per stage and per helper shard, made by the first
    // run (JobThread: a thread per run would build oneDNN's OpenMP team and
    // the thread's malloc arena afresh every run). Last, so that they are
    // joined before the executors they run go.
    std::unique_ptr<CoreGate> coreGate; // when the stages' threads outnumber the cores
    mutable std::mutex runMutex;        // one run at a time: they share the transport and threads
    mutable std::vector<std::unique_ptr<JobThread>> threads;
};

PipelineRunner::PipelineRunner() : m_impl(std::make_unique<Impl>()) {}
PipelineRunner::~PipelineRunner() = default;

Result<std::unique_ptr<PipelineRunner>>
PipelineRunner::create(std::shared_ptr<const Graph> graph, std::vector<PipelineStageSpec> stages,
                       ExecutorOptions executorOptions, std::shared_ptr<Transport> transport,
                       int coreCount)
{
    if (!graph)
        return makeError(ErrorCode::Internal, "pipeline: no graph");
    if (stages.empty())
        return makeError(ErrorCode::InvalidInput, "pipeline: no stages");
    if (!transport)
        return makeError(ErrorCode::Internal, "pipeline: no transport");
    std::vector<std::vector<NodeId>> stageNodes;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!stages[s].device)
            return makeError(ErrorCode::Internal,
                             "pipeline: stage " + std::to_string(s) + " has no device");
        stageNodes.push_back(stages[s].nodes);
    }
    // Node sets are checked before executors are built.
    SB_TRY(stageOfNodes(*graph, stageNodes));

    std::unique_ptr<PipelineRunner> runner(new PipelineRunner());
    Impl &impl = *runner->m_impl;
    impl.graph = graph;
    impl.transport = std::move(transport);
    std::vector<std::vector<std::string>> inputNames, outputNames;
    std::vector<int> shardCounts;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        const auto &shards = stages[s].shards;
        shardCounts.push_back(std::max<int>(1, static_cast<int>(shards.size())));
        auto executor = shards.empty() ? Executor::create(graph, stages[s].nodes, *stages[s].device,
                                                          executorOptions)
                                       : Executor::create(shards[0].graph, shards[0].nodes,
                                                          *stages[s].device, executorOptions);
        if (!executor)
            return executor.error().withContext("stage " + std::to_string(s) + " (" +
                                                stages[s].device->id() + ")");
        inputNames.push_back((*executor)->inputNames());
        outputNames.push_back((*executor)->outputNames());
        impl.executors.push_back(std::move(executor).value());
    }
    SB_ASSIGN_OR_RETURN(impl.routing, routePipeline(*graph, stageNodes, inputNames, outputNames));
    addTensorParallelGroups(impl.routing, shardCounts);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        impl.workers.push_back(
            std::make_unique<StageWorker>(static_cast<int>(s), *impl.executors[s],
                                          impl.routing.stages[s], stages[s].nodes.size()));
        auto group = impl.routing.groups.find(static_cast<int>(s));
        if (group == impl.routing.groups.end())
            continue;
        impl.workers.back()->setGroup(group->second, 0);
        for (std::size_t i = 1; i < stages[s].shards.size(); ++i) {
            const TensorParallelShard &shard = stages[s].shards[i];
            if (!shard.device)
                return makeError(ErrorCode::Internal, "pipeline: a shard has no device");
            auto executor =
                Executor::create(shard.graph, shard.nodes, *shard.device, executorOptions);
            if (!executor)
                return executor.error().withContext("stage " + std::to_string(s) + " shard " +
                                                    std::to_string(i) + " (" + shard.device->id() +
                                                    ")");
            impl.helpers.push_back(std::make_unique<StageWorker>(group->second[i], **executor,
                                                                 StageIo{}, shard.nodes.size()));
            impl.helpers.back()->setGroup(group->second, static_cast<int>(i));
            impl.helperExecutors.push_back(std::move(executor).value());
        }
    }
    // The core gate: CPU stages whose threads outnumber the cores compute
    // in turn rather than time-sharing them. Not with tensor-parallel
    // stages: their shards meet in collectives while computing, and shards
    // of two groups each holding a core could wait on each other for ever.
    const int cores = coreCount > 0 ? coreCount : ThreadPool::hardwareThreads();
    int stageThreads = 0;
    for (const auto &executor : impl.executors)
        if (auto *cpu = dynamic_cast<const CpuDevice *>(&executor->device()))
            stageThreads += cpu->threads();
    if (impl.routing.groups.empty() && stageThreads > cores) {
        impl.coreGate = std::make_unique<CoreGate>(cores);
        for (std::size_t s = 0; s < impl.workers.size(); ++s)
            if (auto *cpu = dynamic_cast<const CpuDevice *>(&impl.executors[s]->device()))
                impl.workers[s]->setCoreGate(impl.coreGate.get(), cpu->threads());
    }
    impl.specs = std::move(stages);
    return runner;
}

int PipelineRunner::coreSlots() const
{
    return m_impl->coreGate ? m_impl->coreGate->slotCount() : 0;
}

std::size_t PipelineRunner::stageCount() const
{
    return m_impl->executors.size();
}

const Executor &PipelineRunner::stageExecutor(std::size_t stage) const
{
    return *m_impl->executors[stage];
}

const PipelineRouting &PipelineRunner::routing() const
{
    return m_impl->routing;
}

std::vector<std::vector<int>> PipelineRunner::stageConsumers() const
{
    std::vector<std::vector<int>> consumers;
    for (const auto &io : m_impl->routing.stages) {
        std::vector<int> list;
        for (const auto &[to, names] : io.toStage)
            list.push_back(to);
        consumers.push_back(std::move(list));
    }
    return consumers;
}

int PipelineRunner::effectiveMicrobatches(const TensorMap &inputs, int requested,
                                          std::string *note) const
{
    return runtime::effectiveMicrobatches(*m_impl->graph, m_impl->routing, inputs, requested, note);
}

Result<PipelineResult> PipelineRunner::run(const TensorMap &inputs,
                                           const PipelineRunOptions &options) const
{
    const Impl &impl = *m_impl;
    std::lock_guard runLock(impl.runMutex);
    const int stages = static_cast<int>(impl.executors.size());
    std::string note;
    const int microbatches = effectiveMicrobatches(inputs, options.microbatches, &note);
    SB_TRY(impl.transport->open(impl.routing.endpointCount(), impl.routing.links));
    impl.transport->useTransferBuffers(impl.routing.stageLinks(),
                                       transferBuffersPerLink(microbatches));

    CancelToken stop; // set on the first failure or the caller's cancel
    std::mutex errorMutex;
    std::optional<Error> firstError;
    auto fail = [&](Error error) {
        {
            std::lock_guard lock(errorMutex);
            // A real fault wins over the Cancelled errors it causes elsewhere.
            if (!firstError ||
                (firstError->code == ErrorCode::Cancelled && error.code != ErrorCode::Cancelled))
                firstError = std::move(error);
        }
        stop.cancel();
        impl.transport->shutdown();
    };

    const auto origin = Clock::now();
    const std::size_t jobs = impl.workers.size() + impl.helpers.size();
    while (impl.threads.size() < jobs)
        impl.threads.push_back(std::make_unique<JobThread>());
    for (int s = 0; s < stages; ++s)
        impl.threads[static_cast<std::size_t>(s)]->start([&, s] {
            const std::string &device = impl.specs[static_cast<std::size_t>(s)].device->id();
            try {
                Status status = impl.workers[static_cast<std::size_t>(s)]->run(
                    *impl.transport, impl.routing.driver(), microbatches, stop, origin,
                    options.onStageStart, options.onNode);
                if (!status.ok())
                    fail(status.error());
            } catch (const std::exception &error) {
                fail(makeError(ErrorCode::Runtime, "stage " + std::to_string(s) + " (" + device +
                                                       ") failed: " + error.what()));
            } catch (...) {
                fail(makeError(ErrorCode::Runtime,
                               "stage " + std::to_string(s) + " failed with an unknown exception"));
            }
        });
    for (std::size_t h = 0; h < impl.helpers.size(); ++h)
        impl.threads[impl.workers.size() + h]->start([&, w = impl.helpers[h].get()] {
            try {
                Status status =
                    w->run(*impl.transport, impl.routing.driver(), microbatches, stop, origin, {});
                if (!status.ok())
                    fail(status.error());
            } catch (const std::exception &error) {
                fail(makeError(ErrorCode::Runtime,
                               std::string("tensor-parallel shard failed: ") + error.what()));
            }
        });
    // Forward the caller's cancel to the stages while they run. The watcher
    // polls every 2 ms but waits on a condition variable, so the end of the
    // run wakes it at once instead of adding up to a poll period to the run.
    std::mutex finishedMutex;
    std::condition_variable finishedChanged;
    bool finished = false;
    std::thread watcher;
    if (options.cancel)
        watcher = std::thread([&] {
            std::unique_lock lock(finishedMutex);
            while (!finished) {
                if (options.cancel->isCancelled()) {
                    lock.unlock();
                    fail(makeError(ErrorCode::Cancelled, "pipeline run cancelled"));
                    return;
                }
                finishedChanged.wait_for(lock, std::chrono::milliseconds(2));
            }
        });
    PipelineDriver driver(*impl.graph, impl.routing);
    auto result = driver.run(*impl.transport, inputs, microbatches, stop, origin);
    if (!result)
        fail(result.error());
    for (std::size_t j = 0; j < jobs; ++j)
        impl.threads[j]->wait();
    {
        std::lock_guard lock(finishedMutex);
        finished = true;
    }
    finishedChanged.notify_all();
    if (watcher.joinable())
        watcher.join();
    impl.transport->shutdown();

    if (options.cancel && options.cancel->isCancelled())
        return makeError(ErrorCode::Cancelled, "pipeline run cancelled");
    if (firstError)
        return *firstError;
    result->metrics.microbatchNote = note;
    return result;
}

json pipelineMetricsToJson(const PipelineMetrics &metrics)
{
    json doc = timelineJson(metrics);
    doc["microbatch_note"] = metrics.microbatchNote;
    doc["ideal_bubble_fraction"] = metrics.idealBubbleFraction;
    doc["microbatch_latency_ms"] = metrics.microbatchLatencyMs;
    for (std::size_t s = 0; s < metrics.stages.size(); ++s) {
        doc["stages"][s]["peak_memory_bytes"] = metrics.stages[s].peakMemoryBytes;
        doc["stages"][s]["sent_bytes"] = metrics.stages[s].sentBytes;
    }
    return doc;
}

Result<PipelineMetrics> pipelineMetricsFromJson(const json &doc)
{
    try {
        PipelineMetrics metrics;
        metrics.wallMs = doc.at("wall_ms").get<double>();
        metrics.microbatches = doc.at("microbatches").get<int>();
        metrics.bubbleFraction = doc.at("bubble_fraction").get<double>();
        metrics.idealBubbleFraction = doc.at("ideal_bubble_fraction").get<double>();
        metrics.microbatchNote = doc.at("microbatch_note").get<std::string>();
        metrics.microbatchLatencyMs = doc.at("microbatch_latency_ms").get<std::vector<double>>();
        for (const json &stage : doc.at("stages")) {
            StageMetrics s;
            s.device = stage.at("device").get<std::string>();
            s.host = stage.at("host").get<std::string>();
            s.rank = stage.at("rank").get<int>();
            s.nodes = stage.at("nodes").get<std::size_t>();
            s.computeMs = stage.at("compute_ms").get<double>();
            s.idleMs = stage.at("idle_ms").get<double>();
            s.peakMemoryBytes = stage.at("peak_memory_bytes").get<std::uint64_t>();
            s.sentBytes = stage.at("sent_bytes").get<std::uint64_t>();
            metrics.stages.push_back(s);
        }
        for (const json &event : doc.at("events"))
            metrics.timeline.push_back(
                {event.at("stage").get<int>(), event.at("microbatch").get<int>(),
                 event.at("kind").get<std::string>(), event.at("start_ms").get<double>(),
                 event.at("end_ms").get<double>()});
        for (const json &link : doc.at("links")) {
            LinkMetrics l;
            l.fromStage = link.at("from_stage").get<int>();
            l.toStage = link.at("to_stage").get<int>();
            l.from = link.at("from").get<std::string>();
            l.to = link.at("to").get<std::string>();
            l.bytes = link.at("bytes").get<std::uint64_t>();
            l.messages = link.at("messages").get<int>();
            l.ms = link.at("ms").get<double>();
            metrics.links.push_back(l);
        }
        return metrics;
    } catch (const std::exception &error) {
        return makeError(ErrorCode::InvalidInput,
                         std::string("pipeline metrics: malformed JSON: ") + error.what());
    }
}

json chromeTraceJson(const PipelineMetrics &metrics)
{
    json events = json::array();
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"args", {{"name", "shardbench pipeline"}}}});
    for (std::size_t s = 0; s < metrics.stages.size(); ++s)
        events.push_back(
            {{"name", "thread_name"},
             {"ph", "M"},
             {"pid", 1},
             {"tid", s},
             {"args",
              {{"name", "stage " + std::to_string(s) + " (" + metrics.stages[s].device + ", " +
                            metrics.stages[s].host + " rank " +
                            std::to_string(metrics.stages[s].rank) + ")"}}}});
    for (const TimelineEvent &event : metrics.timeline)
        events.push_back({{"name", event.kind + " mb" + std::to_string(event.microbatch)},
                          {"cat", event.kind},
                          {"ph", "X"},
                          {"pid", 1},
                          {"tid", event.stage},
                          {"ts", event.startMs * 1e3},
                          {"dur", (event.endMs - event.startMs) * 1e3},
                          {"args", {{"microbatch", event.microbatch}, {"stage", event.stage}}}});
    return {{"traceEvents", events}, {"displayTimeUnit", "ms"}};
}

json timelineJson(const PipelineMetrics &metrics)
{
    json doc;
    doc["version"] = 1;
    doc["wall_ms"] = metrics.wallMs;
    doc["microbatches"] = metrics.microbatches;
    doc["bubble_fraction"] = metrics.bubbleFraction;
    json stages = json::array();
    for (std::size_t s = 0; s < metrics.stages.size(); ++s)
        stages.push_back({{"index", s},
                          {"device", metrics.stages[s].device},
                          {"host", metrics.stages[s].host},
                          {"rank", metrics.stages[s].rank},
                          {"nodes", metrics.stages[s].nodes},
                          {"compute_ms", metrics.stages[s].computeMs},
                          {"idle_ms", metrics.stages[s].idleMs}});
    doc["stages"] = stages;
    json events = json::array();
    for (const TimelineEvent &event : metrics.timeline)
        events.push_back({{"stage", event.stage},
                          {"microbatch", event.microbatch},
                          {"kind", event.kind},
                          {"start_ms", event.startMs},
                          {"end_ms", event.endMs}});
    doc["events"] = events;
    json links = json::array();
    for (const LinkMetrics &link : metrics.links)
        links.push_back({{"from_stage", link.fromStage},
                         {"to_stage", link.toStage},
                         {"from", link.from},
                         {"to", link.to},
                         {"bytes", link.bytes},
                         {"messages", link.messages},
                         {"ms", link.ms}});
    doc["links"] = links;
    return doc;
}

Status writeTrace(const PipelineMetrics &metrics, const std::filesystem::path &path)
{
    auto write = [](const std::filesystem::path &file, const json &doc) -> Status {
        std::ofstream out(file, std::ios::binary | std::ios::trunc);
        if (!out)
            return makeError(ErrorCode::Io, file.string() + ": cannot write trace");
        out << sb::jsonText(doc) << "\n";
        if (!out)
            return makeError(ErrorCode::Io, file.string() + ": write failed");
        return {};
    };
    SB_TRY(write(path, chromeTraceJson(metrics)));
    std::filesystem::path timeline = path;
    timeline.replace_filename(path.stem().string() + ".timeline.json");
    return write(timeline, timelineJson(metrics));
}

} // namespace sb::runtime
