#include "core/runtime/pipeline.h"

#include "core/cost/cost_model.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

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
                             "micro-batch outputs of '" + name +
                                 "' disagree in shape: " + shapeToString(part.shape()) + " vs " +
                                 shapeToString(shape));
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

struct PipelineRunner::Impl
{
    std::shared_ptr<const Graph> graph;
    std::vector<PipelineStageSpec> specs;
    std::vector<std::unique_ptr<Executor>> executors;
    std::shared_ptr<Transport> transport;

    struct StageIo
    {
        std::vector<std::string> hostInputs;                   // graph inputs it reads
        std::map<int, std::vector<std::string>> fromStage;     // source stage -> values
        std::map<int, std::vector<std::string>> toStage;       // destination stage -> values
        std::vector<std::string> graphOutputs;                 // graph outputs it produces
    };
    std::vector<StageIo> io;
    std::vector<std::pair<int, int>> links;
    std::set<std::string> batchInputs;  // graph inputs split into micro-batches
    std::vector<std::string> passThroughOutputs;  // graph outputs that are graph inputs
};

PipelineRunner::PipelineRunner() : m_impl(std::make_unique<Impl>()) {}
PipelineRunner::~PipelineRunner() = default;

Result<std::unique_ptr<PipelineRunner>>
PipelineRunner::create(std::shared_ptr<const Graph> graph, std::vector<PipelineStageSpec> stages,
                       ExecutorOptions executorOptions, std::shared_ptr<Transport> transport)
{
    if (!graph)
        return makeError(ErrorCode::Internal, "pipeline: no graph");
    if (stages.empty())
        return makeError(ErrorCode::InvalidInput, "pipeline: no stages");
    if (!transport)
        return makeError(ErrorCode::Internal, "pipeline: no transport");
    const std::size_t nodeCount = graph->nodes().size();
    std::vector<int> stageOfNode(nodeCount, -1);
    for (std::size_t s = 0; s < stages.size(); ++s) {
        if (!stages[s].device)
            return makeError(ErrorCode::Internal,
                             "pipeline: stage " + std::to_string(s) + " has no device");
        if (stages[s].nodes.empty())
            return makeError(ErrorCode::InvalidInput,
                             "pipeline: stage " + std::to_string(s) + " has no nodes");
        for (NodeId n : stages[s].nodes) {
            if (n < 0 || static_cast<std::size_t>(n) >= nodeCount)
                return makeError(ErrorCode::Internal, "pipeline: node id out of range");
            auto &slot = stageOfNode[static_cast<std::size_t>(n)];
            if (slot >= 0)
                return makeError(ErrorCode::InvalidInput, "pipeline: node '" +
                                                              graph->node(n).name +
                                                              "' is in two stages");
            slot = static_cast<int>(s);
        }
    }
    for (std::size_t n = 0; n < nodeCount; ++n)
        if (stageOfNode[n] < 0)
            return makeError(ErrorCode::InvalidInput,
                             "pipeline: node '" + graph->nodes()[n].name + "' is in no stage");

    std::unique_ptr<PipelineRunner> runner(new PipelineRunner());
    Impl &impl = *runner->m_impl;
    impl.graph = graph;
    impl.transport = std::move(transport);
    impl.io.resize(stages.size());
    for (std::size_t s = 0; s < stages.size(); ++s) {
        auto executor = Executor::create(graph, stages[s].nodes, *stages[s].device, executorOptions);
        if (!executor)
            return executor.error().withContext("stage " + std::to_string(s) + " (" +
                                                stages[s].device->id() + ")");
        impl.executors.push_back(std::move(executor).value());
    }

    // Route every stage input to its source: the host or the producing stage.
    std::set<std::pair<int, int>> links;
    for (std::size_t s = 0; s < stages.size(); ++s) {
        for (const std::string &name : impl.executors[s]->inputNames()) {
            auto value = graph->findValue(name);
            if (!value)
                return makeError(ErrorCode::Internal, "pipeline: unknown stage input '" + name + "'");
            const graph::Value &info = graph->value(*value);
            if (info.producer == graph::kNoNode) {
                if (!info.isGraphInput)
                    return makeError(ErrorCode::Internal,
                                     "pipeline: stage input '" + name + "' has no source");
                impl.io[s].hostInputs.push_back(name);
                continue;
            }
            const int source = stageOfNode[static_cast<std::size_t>(info.producer)];
            if (source == static_cast<int>(s))
                continue;
            if (source > static_cast<int>(s))
                return makeError(ErrorCode::InvalidInput,
                                 "pipeline: stage " + std::to_string(s) + " reads '" + name +
                                     "' produced by the later stage " + std::to_string(source) +
                                     " (node '" + graph->node(info.producer).name + "')");
            impl.io[s].fromStage[source].push_back(name);
            impl.io[static_cast<std::size_t>(source)].toStage[static_cast<int>(s)].push_back(name);
            links.insert({source, static_cast<int>(s)});
        }
    }
    for (graph::ValueId out : graph->outputs()) {
        const graph::Value &info = graph->value(out);
        if (info.producer == graph::kNoNode) {
            impl.passThroughOutputs.push_back(info.name);
            continue;
        }
        const auto stage = static_cast<std::size_t>(stageOfNode[static_cast<std::size_t>(info.producer)]);
        const auto &names = impl.executors[stage]->outputNames();
        if (std::find(names.begin(), names.end(), info.name) == names.end())
            return makeError(ErrorCode::Internal, "pipeline: graph output '" + info.name +
                                                      "' is not an output of stage " +
                                                      std::to_string(stage));
        impl.io[stage].graphOutputs.push_back(info.name);
    }
    impl.links.assign(links.begin(), links.end());

    std::vector<std::string> symbols = cost::batchSymbols(*graph);
    for (graph::ValueId in : graph->inputs()) {
        const graph::Value &info = graph->value(in);
        if (info.info.shape.rankKnown && !info.info.shape.dims.empty() &&
            info.info.shape.dims[0].isSymbolic() &&
            std::find(symbols.begin(), symbols.end(), info.info.shape.dims[0].symbol) !=
                symbols.end())
            impl.batchInputs.insert(info.name);
    }
    impl.specs = std::move(stages);
    return runner;
}

std::size_t PipelineRunner::stageCount() const
{
    return m_impl->executors.size();
}

const Executor &PipelineRunner::stageExecutor(std::size_t stage) const
{
    return *m_impl->executors[stage];
}

std::vector<std::vector<int>> PipelineRunner::stageConsumers() const
{
    std::vector<std::vector<int>> consumers;
    for (const auto &io : m_impl->io) {
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
    auto say = [&](const std::string &text) {
        if (note)
            *note = text;
        return 1;
    };
    if (note)
        note->clear();
    if (requested <= 1)
        return 1;
    const Impl &impl = *m_impl;
    std::string reason;
    if (!cost::batchIsSymbolicThroughout(*impl.graph, &reason))
        return say("the batch size is baked into the model (" + reason +
                   "): running 1 micro-batch instead of " + std::to_string(requested));
    if (impl.batchInputs.empty())
        return say("no graph input has a symbolic batch axis: running 1 micro-batch");
    std::int64_t batch = -1;
    for (const std::string &name : impl.batchInputs) {
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
    std::vector<std::string> symbols = cost::batchSymbols(*impl.graph);
    for (graph::ValueId out : impl.graph->outputs()) {
        const graph::Value &info = impl.graph->value(out);
        const auto &shape = info.info.shape;
        bool batched = shape.rankKnown && !shape.dims.empty() && shape.dims[0].isSymbolic() &&
                       std::find(symbols.begin(), symbols.end(), shape.dims[0].symbol) !=
                           symbols.end();
        if (!batched)
            return say("graph output '" + info.name +
                       "' has no batch axis to concatenate: running 1 micro-batch");
    }
    return requested;
}

Result<PipelineResult> PipelineRunner::run(const TensorMap &inputs,
                                           const PipelineRunOptions &options) const
{
    const Impl &impl = *m_impl;
    const int stages = static_cast<int>(impl.executors.size());
    PipelineResult result;
    PipelineMetrics &metrics = result.metrics;
    const int microbatches =
        effectiveMicrobatches(inputs, options.microbatches, &metrics.microbatchNote);
    metrics.microbatches = microbatches;
    metrics.idealBubbleFraction =
        static_cast<double>(stages - 1) / static_cast<double>(microbatches + stages - 1);

    // Host-side micro-batch inputs.
    for (const auto &[name, tensor] : inputs)
        if (impl.batchInputs.count(name) && microbatches > 1 && tensor.rank() == 0)
            return makeError(ErrorCode::InvalidInput, "input '" + name + "' has no batch axis");
    std::vector<TensorMap> slices(static_cast<std::size_t>(microbatches));
    for (int mb = 0; mb < microbatches; ++mb)
        for (const auto &[name, tensor] : inputs)
            slices[static_cast<std::size_t>(mb)][name] =
                microbatches > 1 && impl.batchInputs.count(name)
                    ? sliceBatch(tensor, mb, microbatches)
                    : tensor;

    SB_TRY(impl.transport->open(stages, impl.links));

    CancelToken stop;  // set on the first failure or the caller's cancel
    std::mutex errorMutex;
    std::optional<Error> firstError;
    auto fail = [&](Error error) {
        {
            std::lock_guard lock(errorMutex);
            // A real fault wins over the Cancelled errors it causes elsewhere.
            if (!firstError || (firstError->code == ErrorCode::Cancelled &&
                                error.code != ErrorCode::Cancelled))
                firstError = std::move(error);
        }
        stop.cancel();
        impl.transport->shutdown();
    };

    struct StageRecord
    {
        double computeMs = 0;
        std::uint64_t peakActivations = 0;
        std::uint64_t sentBytes = 0;
        std::vector<TimelineEvent> events;
        std::map<int, LinkMetrics> links;
        std::vector<TensorMap> outputs;  // graph outputs per micro-batch
    };
    std::vector<StageRecord> records(static_cast<std::size_t>(stages));
    for (auto &record : records)
        record.outputs.resize(static_cast<std::size_t>(microbatches));

    const auto origin = Clock::now();
    auto stageBody = [&](int s) {
        const auto &io = impl.io[static_cast<std::size_t>(s)];
        const Executor &executor = *impl.executors[static_cast<std::size_t>(s)];
        StageRecord &record = records[static_cast<std::size_t>(s)];
        RunOptions runOptions;
        runOptions.cancel = &stop;
        for (int mb = 0; mb < microbatches; ++mb) {
            if (stop.isCancelled())
                return;
            const double receiveStart = msSince(origin);
            TensorMap stageInputs;
            const TensorMap &slice = slices[static_cast<std::size_t>(mb)];
            for (const std::string &name : io.hostInputs) {
                auto it = slice.find(name);
                if (it == slice.end()) {
                    fail(makeError(ErrorCode::InvalidInput, "missing input '" + name + "'"));
                    return;
                }
                stageInputs[name] = it->second;
            }
            for (const auto &[source, names] : io.fromStage) {
                auto message = impl.transport->receive(source, s, &stop);
                if (!message) {
                    fail(message.error());
                    return;
                }
                if (message->microbatch != mb) {
                    fail(makeError(ErrorCode::Internal, "stage " + std::to_string(s) +
                                                            " received micro-batch " +
                                                            std::to_string(message->microbatch) +
                                                            " while expecting " +
                                                            std::to_string(mb)));
                    return;
                }
                for (auto &[name, tensor] : message->tensors)
                    stageInputs[name] = std::move(tensor);
            }
            const double computeStart = msSince(origin);
            if (!io.fromStage.empty())
                record.events.push_back({s, mb, "receive", receiveStart, computeStart});
            if (options.onStageStart)
                options.onStageStart(s, mb);
            auto ran = executor.run(stageInputs, runOptions);
            const double computeEnd = msSince(origin);
            if (!ran) {
                fail(ran.error().withContext("stage " + std::to_string(s) + " (" +
                                             impl.specs[static_cast<std::size_t>(s)].device->id() +
                                             ") micro-batch " + std::to_string(mb)));
                return;
            }
            record.events.push_back({s, mb, "compute", computeStart, computeEnd});
            record.computeMs += computeEnd - computeStart;
            record.peakActivations =
                std::max(record.peakActivations, ran->stats.peakMemoryBytes);
            for (const std::string &name : io.graphOutputs)
                record.outputs[static_cast<std::size_t>(mb)][name] = ran->outputs.at(name);
            for (const auto &[destination, names] : io.toStage) {
                TransportMessage message;
                message.microbatch = mb;
                for (const std::string &name : names)
                    message.tensors[name] = ran->outputs.at(name);
                const std::uint64_t bytes = message.bytes();
                const double sendStart = msSince(origin);
                Status sent = impl.transport->send(s, destination, std::move(message), &stop);
                const double sendEnd = msSince(origin);
                if (!sent.ok()) {
                    fail(sent.error());
                    return;
                }
                LinkMetrics &link = record.links[destination];
                link.bytes += bytes;
                link.messages += 1;
                link.ms += sendEnd - sendStart;
                record.sentBytes += bytes;
                record.events.push_back({s, mb, "send", sendStart, sendEnd});
            }
        }
    };

    std::vector<std::thread> threads;
    threads.reserve(static_cast<std::size_t>(stages));
    for (int s = 0; s < stages; ++s)
        threads.emplace_back([&, s] {
            try {
                stageBody(s);
            } catch (const std::exception &error) {
                fail(makeError(ErrorCode::Runtime,
                               "stage " + std::to_string(s) + " (" +
                                   impl.specs[static_cast<std::size_t>(s)].device->id() +
                                   ") failed: " + error.what()));
            } catch (...) {
                fail(makeError(ErrorCode::Runtime, "stage " + std::to_string(s) +
                                                       " failed with an unknown exception"));
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
    for (std::thread &thread : threads)
        thread.join();
    metrics.wallMs = msSince(origin);
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

    // Outputs: concatenate micro-batches in order.
    for (int s = 0; s < stages; ++s)
        for (const std::string &name : impl.io[static_cast<std::size_t>(s)].graphOutputs) {
            std::vector<Tensor> parts;
            for (int mb = 0; mb < microbatches; ++mb)
                parts.push_back(records[static_cast<std::size_t>(s)]
                                    .outputs[static_cast<std::size_t>(mb)]
                                    .at(name));
            SB_ASSIGN_OR_RETURN(result.outputs[name], concatBatch(name, parts));
        }
    for (const std::string &name : impl.passThroughOutputs)
        if (auto it = inputs.find(name); it != inputs.end())
            result.outputs[name] = it->second;

    // Metrics.
    double idleTotal = 0;
    std::vector<double> mbStart(static_cast<std::size_t>(microbatches), 1e300),
        mbEnd(static_cast<std::size_t>(microbatches), 0);
    for (int s = 0; s < stages; ++s) {
        StageRecord &record = records[static_cast<std::size_t>(s)];
        StageMetrics stage;
        stage.device = impl.specs[static_cast<std::size_t>(s)].device->id();
        stage.nodes = impl.specs[static_cast<std::size_t>(s)].nodes.size();
        stage.computeMs = record.computeMs;
        stage.idleMs = std::max(0.0, metrics.wallMs - record.computeMs);
        stage.peakMemoryBytes = record.peakActivations + impl.transport->peakQueuedBytes(s);
        stage.sentBytes = record.sentBytes;
        idleTotal += stage.idleMs;
        metrics.stages.push_back(stage);
        for (auto &[destination, link] : record.links) {
            link.fromStage = s;
            link.toStage = destination;
            link.from = stage.device;
            link.to = impl.specs[static_cast<std::size_t>(destination)].device->id();
            metrics.links.push_back(link);
        }
        for (const TimelineEvent &event : record.events) {
            auto mb = static_cast<std::size_t>(event.microbatch);
            mbStart[mb] = std::min(mbStart[mb], event.startMs);
            mbEnd[mb] = std::max(mbEnd[mb], event.endMs);
            metrics.timeline.push_back(event);
        }
    }
    for (int mb = 0; mb < microbatches; ++mb)
        metrics.microbatchLatencyMs.push_back(mbEnd[static_cast<std::size_t>(mb)] -
                                              mbStart[static_cast<std::size_t>(mb)]);
    metrics.bubbleFraction =
        metrics.wallMs > 0 ? idleTotal / (stages * metrics.wallMs) : 0;
    std::sort(metrics.timeline.begin(), metrics.timeline.end(),
              [](const TimelineEvent &a, const TimelineEvent &b) {
                  return a.startMs < b.startMs || (a.startMs == b.startMs && a.stage < b.stage);
              });
    return result;
}

json chromeTraceJson(const PipelineMetrics &metrics)
{
    json events = json::array();
    events.push_back({{"name", "process_name"},
                      {"ph", "M"},
                      {"pid", 1},
                      {"args", {{"name", "shardbench pipeline"}}}});
    for (std::size_t s = 0; s < metrics.stages.size(); ++s)
        events.push_back({{"name", "thread_name"},
                          {"ph", "M"},
                          {"pid", 1},
                          {"tid", s},
                          {"args",
                           {{"name", "stage " + std::to_string(s) + " (" +
                                         metrics.stages[s].device + ")"}}}});
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
        out << doc.dump() << "\n";
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
