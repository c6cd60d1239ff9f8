#include "core/runtime/executor.h"

#include "core/runtime/fusion.h"
#include "core/runtime/memory_planner.h"
#include "core/runtime/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <deque>
#include <exception>
#include <set>

namespace sb::runtime {

using graph::kNoValue;
using graph::NodeId;
using graph::ValueId;

namespace {

template <typename Element>
void nhwcToNchw(const Element *from, Element *to, std::int64_t n, std::int64_t c,
                std::int64_t pixels)
{
    for (std::int64_t b = 0; b < n; ++b, from += pixels * c, to += pixels * c)
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t pixel = 0; pixel < pixels; ++pixel)
                to[ch * pixels + pixel] = from[pixel * c + ch];
}

// A graph output its producer stored channels-last (NHWC bytes under the
// NCHW shape: a residual conv or max pool at the end of a stage,
// fusion.cpp) leaves the executor planar, as a new tensor.
Tensor planarFromChannelsLast(const Tensor &nhwc)
{
    Tensor out = Tensor::empty(nhwc.type(), nhwc.shape());
    const std::int64_t n = nhwc.dim(0), c = nhwc.dim(1), pixels = nhwc.dim(2) * nhwc.dim(3);
    switch (graph::elementSize(nhwc.type())) {
    case 1:
        nhwcToNchw(nhwc.as<std::uint8_t>(), out.as<std::uint8_t>(), n, c, pixels);
        break;
    case 2:
        nhwcToNchw(nhwc.as<std::uint16_t>(), out.as<std::uint16_t>(), n, c, pixels);
        break;
    case 4:
        nhwcToNchw(nhwc.as<std::uint32_t>(), out.as<std::uint32_t>(), n, c, pixels);
        break;
    default:
        nhwcToNchw(nhwc.as<std::uint64_t>(), out.as<std::uint64_t>(), n, c, pixels);
        break;
    }
    return out;
}

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kMaxTensorBytes = std::size_t{1} << 38; // 256 GiB: a shape bug, not a model

std::size_t alignUp(std::size_t bytes)
{
    return (bytes + kAlignment - 1) / kAlignment * kAlignment;
}

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

const std::set<std::string> kNonDeterministic = {"RandomNormal",     "RandomUniform",
                                                 "RandomNormalLike", "RandomUniformLike",
                                                 "Bernoulli",        "Multinomial"};

std::string signatureOf(const std::vector<ValueId> &ids, const std::vector<const Tensor *> &tensors)
{
    std::string key;
    for (std::size_t i = 0; i < ids.size(); ++i) {
        key += tensors[i]->describe();
        key += ';';
    }
    return key;
}

struct CachedPlan
{
    std::vector<std::int64_t> offsetByValue; // -1: not planned
    std::vector<std::size_t> bytesByValue;
    // Kernel scratch (oneDNN scratchpads) by step: one buffer living for
    // that step only.
    std::vector<std::int64_t> scratchOffsetByStep; // -1: none planned
    std::vector<std::size_t> scratchBytesByStep;
    std::size_t arenaBytes = 0;
    std::size_t lowerBound = 0;
    std::size_t buffers = 0;
    std::mutex poolMutex;
    std::vector<Buffer> freeArenas; // in the device's buffer type (counts against capacity)
    bool stale = false;
};

// Allocation for one run: arena placements when a plan exists, heap otherwise;
// records sizes (to build a plan) and the live-bytes high-water mark.
class RunAllocator final : public OutputAllocator
{
public:
    // `device`: a non-CPU device whose memory outputs live in (null: host).
    RunAllocator(std::size_t valueCount, CachedPlan *plan, char *arena, Device *device = nullptr,
                 std::size_t stepCount = 0)
        : m_plan(plan), m_arena(arena), m_device(device), m_recorded(valueCount, 0),
          m_liveBytes(valueCount, 0), m_scratchRecorded(stepCount, 0)
    {}

    // The step whose kernel runs next (scratch belongs to it).
    void beginStep(std::size_t step) { m_step = step; }
    // Frees the step's scratch.
    void endStep()
    {
        m_live -= m_scratchLive;
        m_scratchLive = 0;
    }

    // A step's scratch requests are laid end to end (64-byte aligned) in the
    // one buffer the plan gives the step, sized for their sum, so two
    // requests of one kernel never share bytes.
    Result<Tensor> allocateScratch(std::size_t bytes) override
    {
        if (m_device || m_step >= m_scratchRecorded.size())
            return OutputAllocator::allocateScratch(bytes);
        const Shape shape{static_cast<std::int64_t>(bytes)};
        const std::size_t counted = alignUp(bytes);
        Tensor tensor;
        if (m_arena && m_plan->scratchOffsetByStep[m_step] >= 0 &&
            m_scratchLive + counted <= m_plan->scratchBytesByStep[m_step]) {
            tensor = Tensor::view(ElementType::UInt8, shape,
                                  m_arena + m_plan->scratchOffsetByStep[m_step] + m_scratchLive);
        } else {
            if (m_arena)
                m_planMissed = true;
            tensor = Tensor::empty(ElementType::UInt8, shape);
        }
        m_scratchLive += counted;
        m_scratchRecorded[m_step] = std::max(m_scratchRecorded[m_step], m_scratchLive);
        m_live += counted;
        m_peak = std::max(m_peak, m_live);
        return tensor;
    }

    Result<Tensor> allocate(ValueId value, ElementType type, const Shape &shape) override
    {
        long double bytesLd = static_cast<long double>(graph::elementSize(type));
        for (auto d : shape)
            bytesLd *= static_cast<long double>(d);
        if (bytesLd > static_cast<long double>(kMaxTensorBytes))
            return makeError(ErrorCode::InvalidInput,
                             "tensor of shape " + shapeToString(shape) + " is too large");
        auto bytes = static_cast<std::size_t>(bytesLd);
        auto index = static_cast<std::size_t>(value);
        std::size_t counted = alignUp(bytes);
        Tensor tensor;
        if (m_arena && m_plan->offsetByValue[index] >= 0 && bytes <= m_plan->bytesByValue[index]) {
            tensor = Tensor::view(type, shape, m_arena + m_plan->offsetByValue[index]);
            if (m_device)
                tensor.setBufferType(&m_device->bufferType());
        } else {
            if (m_arena)
                m_planMissed = true;
            if (m_device) {
                SB_ASSIGN_OR_RETURN(tensor, m_device->allocateTensor(type, shape));
            } else {
                tensor = Tensor::empty(type, shape);
            }
        }
        m_recorded[index] = std::max(m_recorded[index], bytes);
        release(value); // a value is allocated once per run; be safe on re-entry
        m_liveBytes[index] = counted;
        m_live += counted;
        m_peak = std::max(m_peak, m_live);
        return tensor;
    }

    // A subgraph run inside the current step held `bytes` at its peak, on
    // top of what this run holds now.
    void noteNested(std::size_t bytes) { m_peak = std::max(m_peak, m_live + bytes); }

    void release(ValueId value)
    {
        auto index = static_cast<std::size_t>(value);
        m_live -= m_liveBytes[index];
        m_liveBytes[index] = 0;
    }

    std::size_t peak() const { return m_peak; }
    bool planMissed() const { return m_planMissed; }
    const std::vector<std::size_t> &recorded() const { return m_recorded; }
    const std::vector<std::size_t> &scratchRecorded() const { return m_scratchRecorded; }

private:
    CachedPlan *m_plan;
    char *m_arena;
    Device *m_device;
    std::vector<std::size_t> m_recorded;
    std::vector<std::size_t> m_liveBytes;
    std::vector<std::size_t> m_scratchRecorded; // by step
    std::size_t m_step = 0;
    std::size_t m_scratchLive = 0;
    std::size_t m_live = 0;
    std::size_t m_peak = 0;
    bool m_planMissed = false;
};

// Host tensors for kernels that run on the host next to a device (CPU
// fallback, shape arithmetic, shape-only ops); not part of the arena plan.
class HostAllocator final : public OutputAllocator
{
public:
    Result<Tensor> allocate(ValueId, ElementType type, const Shape &shape) override
    {
        return Tensor::empty(type, shape);
    }
};

// Small integer tensors (shapes, indices, axes) on the host: nodes whose
// inputs are all like this run their CPU kernel on the host, next to a device.
bool isHostShapeValue(const Tensor &tensor)
{
    return tensor.isHost() && tensor.elementCount() <= 64 &&
           (tensor.type() == ElementType::Int64 || tensor.type() == ElementType::Int32 ||
            tensor.type() == ElementType::Bool);
}

// The executors of one node's subgraphs, keyed by the attribute's graph.
using SubgraphExecutors = std::map<const graph::Graph *, std::unique_ptr<Executor>>;

// A body graph as an executor runs it: the outer-scope values it reads
// become inputs after its own (by name), input shapes are left open (loop-
// carried values may change shape between iterations) and the model's
// opsets apply.
Result<std::unique_ptr<Executor>> createSubgraphExecutor(const graph::Graph &body,
                                                         const graph::Graph &parent, Device &device,
                                                         const ExecutorOptions &options)
{
    auto copy = std::make_shared<graph::Graph>(body);
    copy->opsets = parent.opsets;
    for (std::size_t v = 0; v < copy->values().size(); ++v) {
        graph::Value &value = copy->mutableValues()[v];
        if (value.producer == graph::kNoNode && !value.isGraphInput && !value.initializer)
            copy->mutableInputs().push_back(static_cast<ValueId>(v));
    }
    for (ValueId id : copy->inputs())
        copy->mutableValues()[static_cast<std::size_t>(id)].info.shape = graph::Shape{};
    copy->rebuildIndex();
    return Executor::create(std::move(copy), device, options);
}

// Runs a node's subgraphs for one step of a run: binds the body's own inputs
// from the kernel, the outer-scope values from the enclosing run, and keeps
// the largest activation peak any body run reached.
class StepSubgraphRunner final : public SubgraphRunner
{
public:
    StepSubgraphRunner(const SubgraphExecutors &executors,
                       std::map<std::string, const Tensor *> outer, const CancelToken *cancel)
        : m_executors(executors), m_outer(std::move(outer)), m_cancel(cancel)
    {}

    Result<std::vector<Tensor>> run(const graph::Graph &body,
                                    const std::vector<Tensor> &inputs) override
    {
        auto it = m_executors.find(&body);
        if (it == m_executors.end())
            return makeError(ErrorCode::Internal,
                             "subgraph '" + body.graphName + "' has no executor");
        const Executor &executor = *it->second;
        const auto &names = executor.inputNames();
        if (inputs.size() != body.inputs().size())
            return makeError(ErrorCode::InvalidInput, "subgraph '" + body.graphName + "' takes " +
                                                          std::to_string(body.inputs().size()) +
                                                          " inputs, got " +
                                                          std::to_string(inputs.size()));
        TensorMap bound;
        for (std::size_t i = 0; i < names.size(); ++i) {
            if (i < inputs.size()) {
                // A tensor or sequence where the body declares an optional
                // (a loop-carried value that starts as none) is that optional.
                const graph::TensorInfo &declared = executor.valueInfo(names[i]);
                bound[names[i]] =
                    declared.kind == graph::ValueKind::Optional &&
                            inputs[i].kind() != graph::ValueKind::Optional
                        ? Tensor::optional(inputs[i].type(), inputs[i], inputs[i].kind())
                        : inputs[i];
                continue;
            }
            auto outer = m_outer.find(names[i]);
            if (outer == m_outer.end() || !outer->second || !outer->second->isValid())
                return makeError(ErrorCode::InvalidInput, "subgraph '" + body.graphName +
                                                              "' reads '" + names[i] +
                                                              "', which has no value");
            bound[names[i]] = *outer->second;
        }
        RunOptions options;
        options.cancel = m_cancel;
        SB_ASSIGN_OR_RETURN(RunResult result, executor.run(bound, options));
        m_peak = std::max<std::uint64_t>(m_peak, result.stats.peakMemoryBytes);
        std::vector<Tensor> outputs;
        for (ValueId id : body.outputs())
            outputs.push_back(result.outputs.at(body.value(id).name));
        return outputs;
    }

    std::uint64_t peak() const { return m_peak; }

private:
    const SubgraphExecutors &m_executors;
    std::map<std::string, const Tensor *> m_outer;
    const CancelToken *m_cancel;
    std::uint64_t m_peak = 0;
};

} // namespace

struct Executor::Impl
{
    struct Step
    {
        NodeId node;
        const KernelInfo *kernel = nullptr;
        int opset = 0;
        // The kernel's per-session state (primitives, reordered weights).
        std::shared_ptr<KernelState> state;
        // Nodes with subgraphs: an executor per body, on this device.
        std::shared_ptr<SubgraphExecutors> subgraphs;
    };

    ExecutorOptions options;
    ThreadPool *pool = nullptr; // the CPU device's execution context
    // Non-CPU device: the stage's context (its own stream), a one-thread pool
    // for host-side kernels, and device copies of constants by ValueId.
    bool onDevice = false;
    std::unique_ptr<ExecutionContext> stageContext;
    ExecutionContext *execution = nullptr;
    std::unique_ptr<ThreadPool> hostPool;
    std::vector<Tensor> deviceConstants;
    // Runs on a device go one at a time: they share the stage's stream and
    // its library handles and workspace (the GPU serialises them anyway).
    mutable std::mutex deviceRunMutex;
    std::shared_ptr<const graph::Graph> source;
    std::vector<Step> steps;
    std::vector<Tensor> constants; // by ValueId; valid = constant
    std::vector<ValueId> inputIds;
    std::vector<ValueId> outputIds;
    std::vector<int> lastUse; // by ValueId: last step reading it (steps.size() = kept to the end)
    std::vector<int> producedAt; // by ValueId: step producing it, -1 otherwise
    std::map<std::string, graph::TensorInfo> declared;

    mutable std::mutex planMutex;
    mutable std::map<std::string, std::shared_ptr<CachedPlan>> plans;

    Result<RunResult> execute(const Executor &self, const TensorMap &inputs,
                              const RunOptions &options, bool forPlanOnly) const;
};

Executor::Executor(Device &device) : m_device(device), m_impl(std::make_unique<Impl>()) {}
Executor::~Executor() = default;

Result<std::unique_ptr<Executor>> Executor::create(std::shared_ptr<const graph::Graph> graph,
                                                   Device &device, ExecutorOptions options)
{
    std::vector<NodeId> all(graph->nodes().size());
    for (std::size_t i = 0; i < all.size(); ++i)
        all[i] = static_cast<NodeId>(i);
    return create(std::move(graph), all, device, options);
}

Result<std::unique_ptr<Executor>> Executor::create(std::shared_ptr<const graph::Graph> source,
                                                   const std::vector<NodeId> &nodeIds,
                                                   Device &device, ExecutorOptions options)
{
    if (!source)
        return makeError(ErrorCode::InvalidInput, "executor: no graph");
    // CPU kernels compute on the CPU device's pool; a non-CPU device's kernels
    // on the stage's own context, host-side kernels on a one-thread pool.
    std::unique_ptr<Executor> executor(new Executor(device));
    Impl &impl = *executor->m_impl;
    impl.options = options;
    if (device.kind() == DeviceKind::Cpu) {
        auto *cpu = dynamic_cast<CpuContext *>(&device.context());
        if (!cpu)
            return makeError(ErrorCode::Internal,
                             "executor: CPU device " + device.id() + " has no thread pool");
        impl.pool = &cpu->pool();
    } else {
        impl.onDevice = true;
        impl.stageContext = device.createStageContext();
        impl.execution = impl.stageContext ? impl.stageContext.get() : &device.context();
        impl.hostPool = std::make_unique<ThreadPool>(1);
        impl.pool = impl.hostPool.get();
    }
    impl.source = source;

    std::vector<NodeId> selected = nodeIds;
    std::sort(selected.begin(), selected.end());
    selected.erase(std::unique(selected.begin(), selected.end()), selected.end());
    std::set<NodeId> inStage;
    for (NodeId id : selected) {
        if (id < 0 || static_cast<std::size_t>(id) >= source->nodes().size())
            return makeError(ErrorCode::InvalidInput,
                             "executor: node id " + std::to_string(id) + " is not in the graph");
        inStage.insert(id);
    }

    // Stage inputs/outputs from the source graph.
    const bool wholeGraph = selected.size() == source->nodes().size();
    std::vector<ValueId> stageInputs, stageOutputs;
    if (wholeGraph) {
        stageInputs = source->inputs();
        stageOutputs = source->outputs();
    } else {
        std::set<ValueId> produced, seenInputs, seenOutputs;
        for (NodeId id : selected)
            for (ValueId out : source->node(id).outputs)
                if (out != kNoValue)
                    produced.insert(out);
        for (NodeId id : selected) {
            auto addInput = [&](ValueId in) {
                if (in != kNoValue && !produced.count(in) && !source->value(in).initializer &&
                    seenInputs.insert(in).second)
                    stageInputs.push_back(in);
            };
            for (ValueId in : source->node(id).inputs)
                addInput(in);
            for (ValueId in : source->node(id).implicitInputs)
                addInput(in);
        }
        for (NodeId id : selected)
            for (ValueId out : source->node(id).outputs) {
                if (out == kNoValue)
                    continue;
                const graph::Value &value = source->value(out);
                bool needed = value.isGraphOutput;
                for (NodeId consumer : value.consumers)
                    needed = needed || !inStage.count(consumer);
                if (needed && seenOutputs.insert(out).second)
                    stageOutputs.push_back(out);
            }
    }

    // Private copy holding only the stage's nodes.
    auto local = std::make_shared<graph::Graph>(*source);
    std::vector<graph::Node> nodes;
    nodes.reserve(selected.size());
    for (NodeId id : selected)
        nodes.push_back(source->node(id));
    local->mutableNodes() = std::move(nodes);
    local->mutableInputs() = stageInputs;
    local->mutableOutputs() = stageOutputs;
    local->rebuildIndex();

    for (ValueId id : stageInputs)
        executor->m_inputNames.push_back(source->value(id).name);
    for (ValueId id : stageOutputs)
        executor->m_outputNames.push_back(source->value(id).name);
    for (ValueId id : stageInputs)
        impl.declared[source->value(id).name] = source->value(id).info;
    for (ValueId id : stageOutputs)
        impl.declared[source->value(id).name] = source->value(id).info;

    if (options.fuse) {
        FusionOptions fusion;
        // sb.FusedConv's residual input has CPU kernels only.
        fusion.residualAdd = device.kind() == DeviceKind::Cpu;
        fusion.qdq = device.kind() == DeviceKind::Cpu; // sb.QLinearConv etc.: CPU kernels
        const char *channelsLast = std::getenv("SHARDBENCH_INT8_CHANNELS_LAST");
        fusion.int8ChannelsLast =
            options.int8ChannelsLast && !(channelsLast && std::string(channelsLast) == "0");
        const char *floatChannelsLast = std::getenv("SHARDBENCH_FLOAT_CHANNELS_LAST");
        fusion.floatChannelsLast = device.kind() == DeviceKind::Cpu &&
                                   options.variant == KernelVariant::Fast &&
                                   options.floatChannelsLast &&
                                   !(floatChannelsLast && std::string(floatChannelsLast) == "0");
        if (const KernelInfo *pointwiseDepthwise = device.registry().findExact(
                "FusedPointwiseDepthwise", "sb", device.kind(), options.variant))
            fusion.pointwiseDepthwiseChannelsLastPlane = pointwiseDepthwise->channelsLastPlane;
        applyFusions(*local, fusion);
    }

    // Constants: initializers.
    impl.constants.assign(local->values().size(), Tensor());
    for (std::size_t v = 0; v < local->values().size(); ++v) {
        const graph::Value &value = local->values()[v];
        if (value.initializer && !value.isGraphInput) {
            if (value.initializer->type() == ElementType::String ||
                graph::elementSize(value.initializer->type()) == 0)
                continue; // kernels that need it report unsupported
            impl.constants[v] = Tensor::fromTensorData(value.initializer);
        }
    }

    // Kernels and constant folding.
    const DeviceKind kind = device.kind();
    for (std::size_t n = 0; n < local->nodes().size(); ++n) {
        const graph::Node &node = local->nodes()[n];
        Impl::Step step;
        step.node = static_cast<NodeId>(n);
        step.kernel = device.registry().find(node.opType, node.domain, kind, options.variant);
        // Constant folding happens on the host with the CPU kernels.
        const KernelInfo *folder =
            impl.onDevice ? device.registry().find(node.opType, node.domain, DeviceKind::Cpu,
                                                   KernelVariant::Reference)
                          : step.kernel;
        auto opsetIt = local->opsets.find(node.domain == "ai.onnx" ? std::string() : node.domain);
        step.opset = opsetIt != local->opsets.end() ? static_cast<int>(opsetIt->second) : 0;
        if (!step.opset && node.domain.empty())
            step.opset = 17; // hand-built graphs without an opset import
        bool foldable = options.foldConstants && folder && !kNonDeterministic.count(node.opType);
        if (foldable) {
            for (ValueId in : node.inputs)
                if (in != kNoValue && !impl.constants[static_cast<std::size_t>(in)].isValid())
                    foldable = false;
            if (node.attributes.count("seed"))
                foldable = false;
            for (const auto &[name, attr] : node.attributes)
                if (attr.kind == graph::Attribute::Kind::Graph)
                    foldable = false;
        }
        if (foldable) {
            std::vector<const Tensor *> ins;
            for (ValueId in : node.inputs)
                ins.push_back(in == kNoValue ? nullptr
                                             : &impl.constants[static_cast<std::size_t>(in)]);
            std::vector<Tensor> outs(node.outputs.size());
            RunAllocator heap(local->values().size(), nullptr, nullptr);
            KernelContext ctx(node, step.opset, ins, outs, heap, *impl.pool);
            Status status = Status::success();
            try {
                status = folder->fn(ctx);
            } catch (const std::exception &e) {
                status = makeError(ErrorCode::Runtime, e.what());
            }
            bool complete = status.ok();
            for (std::size_t o = 0; complete && o < node.outputs.size(); ++o)
                if (node.outputs[o] != kNoValue && !outs[o].isValid())
                    complete = false;
            if (complete) {
                for (std::size_t o = 0; o < node.outputs.size(); ++o)
                    if (node.outputs[o] != kNoValue)
                        impl.constants[static_cast<std::size_t>(node.outputs[o])] =
                            std::move(outs[o]);
                continue; // folded away
            }
            // Not folded: run it for real so the error names the node then.
        }
        step.state = std::make_shared<KernelState>();
        for (const auto &[name, attr] : node.attributes) {
            std::vector<const graph::Graph *> bodies;
            if (attr.kind == graph::Attribute::Kind::Graph && attr.graph)
                bodies.push_back(attr.graph.get());
            for (const auto &body : attr.graphs)
                bodies.push_back(body.get());
            for (const graph::Graph *body : bodies) {
                if (!step.subgraphs)
                    step.subgraphs = std::make_shared<SubgraphExecutors>();
                auto sub = createSubgraphExecutor(*body, *local, device, options);
                if (!sub)
                    return sub.error().withContext("node '" + node.name + "' (" + node.opType +
                                                   ") attribute '" + name + "'");
                (*step.subgraphs)[body] = std::move(*sub);
            }
        }
        impl.steps.push_back(step);
    }

    impl.inputIds = stageInputs;
    impl.outputIds = stageOutputs;
    impl.lastUse.assign(local->values().size(), -1);
    impl.producedAt.assign(local->values().size(), -1);
    for (std::size_t s = 0; s < impl.steps.size(); ++s) {
        const graph::Node &node = local->node(impl.steps[s].node);
        for (ValueId in : node.inputs)
            if (in != kNoValue)
                impl.lastUse[static_cast<std::size_t>(in)] = static_cast<int>(s);
        for (ValueId in : node.implicitInputs)
            impl.lastUse[static_cast<std::size_t>(in)] = static_cast<int>(s);
        for (ValueId out : node.outputs)
            if (out != kNoValue)
                impl.producedAt[static_cast<std::size_t>(out)] = static_cast<int>(s);
    }
    for (ValueId out : stageOutputs)
        impl.lastUse[static_cast<std::size_t>(out)] = static_cast<int>(impl.steps.size());
    if (impl.onDevice) {
        // Weights and folded constants that device kernels read go to the
        // device once (shape-like inputs stay on the host).
        impl.deviceConstants.assign(local->values().size(), Tensor());
        for (const Impl::Step &step : impl.steps) {
            if (!step.kernel || step.kernel->shapeOnly)
                continue;
            const graph::Node &node = local->node(step.node);
            for (std::size_t i = 0; i < node.inputs.size(); ++i) {
                const ValueId in = node.inputs[i];
                if (in == kNoValue)
                    continue;
                const auto index = static_cast<std::size_t>(in);
                const auto &hostInputs = step.kernel->hostInputs;
                if (!impl.constants[index].isValid() || impl.deviceConstants[index].isValid() ||
                    std::find(hostInputs.begin(), hostInputs.end(), static_cast<int>(i)) !=
                        hostInputs.end())
                    continue;
                auto uploaded = device.fromHost(impl.constants[index]);
                if (!uploaded)
                    return makeError(uploaded.error().code,
                                     "device " + device.id() + ": uploading constant '" +
                                         local->value(in).name + "' for node '" + node.name +
                                         "': " + uploaded.error().message);
                impl.deviceConstants[index] = std::move(*uploaded);
            }
        }
    }
    executor->m_graph = std::move(local);
    return executor;
}

const graph::TensorInfo &Executor::valueInfo(const std::string &name) const
{
    static const graph::TensorInfo kNone;
    auto it = m_impl->declared.find(name);
    return it == m_impl->declared.end() ? kNone : it->second;
}

std::uint64_t Executor::kernelStateBytes() const
{
    std::uint64_t bytes = 0;
    for (const auto &step : m_impl->steps)
        bytes += step.state->persistentBytes.load();
    return bytes;
}

std::size_t Executor::executedNodeCount() const
{
    return m_impl->steps.size();
}

std::vector<Executor::ExecutedStep> Executor::executedSteps() const
{
    std::vector<ExecutedStep> steps;
    for (const auto &step : m_impl->steps)
        steps.push_back({step.node, step.kernel, step.state.get()});
    return steps;
}

std::optional<Shape> Executor::constantShape(ValueId value) const
{
    const auto index = static_cast<std::size_t>(value);
    if (value < 0 || index >= m_impl->constants.size() || !m_impl->constants[index].isValid())
        return std::nullopt;
    return m_impl->constants[index].shape();
}

std::vector<std::string> Executor::unsupportedReasons() const
{
    std::vector<std::string> reasons;
    for (const auto &step : m_impl->steps) {
        Support support =
            m_device.registry().supports(m_graph->node(step.node), *m_graph, m_device.kind());
        if (!support.supported)
            reasons.push_back(support.reason);
        if (step.subgraphs)
            for (const auto &[body, executor] : *step.subgraphs)
                for (const std::string &reason : executor->unsupportedReasons())
                    reasons.push_back("subgraph of node '" + m_graph->node(step.node).name +
                                      "': " + reason);
    }
    return reasons;
}

Result<RunResult> Executor::run(const TensorMap &inputs, const RunOptions &options) const
{
    return m_impl->execute(*this, inputs, options, false);
}

Result<PlanSummary> Executor::plan(const std::vector<ValueSignature> &signatures) const
{
    TensorMap inputs;
    for (const auto &signature : signatures)
        inputs[signature.name] = Tensor::zeros(signature.type, signature.shape);
    SB_ASSIGN_OR_RETURN(RunResult result, m_impl->execute(*this, inputs, RunOptions{}, true));
    PlanSummary summary;
    summary.plannedPeakMemoryBytes = result.stats.plannedPeakMemoryBytes;
    std::vector<const Tensor *> ordered;
    for (ValueId id : m_impl->inputIds)
        ordered.push_back(&inputs.at(m_graph->value(id).name));
    std::lock_guard lock(m_impl->planMutex);
    auto it = m_impl->plans.find(signatureOf(m_impl->inputIds, ordered));
    if (it != m_impl->plans.end()) {
        summary.lowerBoundBytes = it->second->lowerBound;
        summary.buffers = it->second->buffers;
    }
    return summary;
}

Result<RunResult> Executor::Impl::execute(const Executor &self, const TensorMap &inputs,
                                          const RunOptions &options, bool forPlanOnly) const
{
    const graph::Graph &graph = *self.m_graph;
    std::unique_lock<std::mutex> deviceRun(deviceRunMutex, std::defer_lock);
    if (onDevice)
        deviceRun.lock();
    auto started = std::chrono::steady_clock::now();

    // Bind and check inputs.
    std::vector<const Tensor *> ordered;
    for (ValueId id : inputIds) {
        const std::string &name = graph.value(id).name;
        auto it = inputs.find(name);
        if (it == inputs.end())
            return makeError(ErrorCode::InvalidInput, "missing input '" + name + "'");
        SB_TRY(checkInput(name, declared.at(name), it->second));
        ordered.push_back(&it->second);
    }
    for (const auto &[name, tensor] : inputs) {
        bool known = false;
        for (ValueId id : inputIds)
            known = known || graph.value(id).name == name;
        if (!known)
            return makeError(ErrorCode::InvalidInput, "unknown input '" + name + "'");
    }

    // Plan lookup (memory planning on) and arena checkout.
    std::shared_ptr<CachedPlan> plan;
    std::string signature = signatureOf(inputIds, ordered);
    if (this->options.planMemory) {
        std::lock_guard lock(planMutex);
        auto it = plans.find(signature);
        if (it != plans.end() && !it->second->stale)
            plan = it->second;
    }
    if (plan && forPlanOnly) {
        RunResult result;
        result.stats.plannedPeakMemoryBytes = plan->arenaBytes;
        return result;
    }
    Buffer arenaBuffer;
    if (plan) {
        std::lock_guard lock(plan->poolMutex);
        if (!plan->freeArenas.empty()) {
            arenaBuffer = std::move(plan->freeArenas.back());
            plan->freeArenas.pop_back();
        }
    }
    if (plan && !arenaBuffer.data() && plan->arenaBytes) {
        SB_ASSIGN_OR_RETURN(
            arenaBuffer, Buffer::allocate(self.m_device.bufferType(), alignUp(plan->arenaBytes)));
    }
    char *arena = static_cast<char *>(arenaBuffer.data());
    struct ArenaReturn
    {
        CachedPlan *plan;
        Buffer &buffer;
        ~ArenaReturn()
        {
            if (!buffer.data())
                return;
            std::lock_guard lock(plan->poolMutex);
            plan->freeArenas.push_back(std::move(buffer));
        }
    } arenaReturn{plan.get(), arenaBuffer};

    Device &device = self.m_device;
    RunAllocator allocator(graph.values().size(), plan.get(), arena, onDevice ? &device : nullptr,
                           steps.size());
    HostAllocator hostAllocator;
    std::vector<Tensor> slots(graph.values().size());
    // Device mode: host copies of values (graph inputs, downloads), tensors
    // released during the run (freed after the final synchronisation, so no
    // kernel still queued on the stream reads freed memory) and copy counts.
    std::vector<Tensor> hostCopies(onDevice ? graph.values().size() : 0);
    std::deque<Tensor> retired; // deque: kernels hold pointers into it
    std::uint64_t transferBytes = 0, fallbackCopyBytes = 0;
    int fallbackNodes = 0;
    auto deviceError = [&](const Error &error) {
        return Error{error.code, "device " + device.id() + ": " + error.message};
    };
    auto upload = [&](const Tensor &host) -> Result<Tensor> {
        // The stage stream may still read memory the new tensor reuses.
        SB_TRY(execution->synchronize());
        transferBytes += host.byteSize();
        return device.fromHost(host);
    };
    auto download = [&](const Tensor &deviceTensor) -> Result<Tensor> {
        SB_TRY(execution->synchronize());
        transferBytes += deviceTensor.byteSize();
        return device.toHost(deviceTensor);
    };
    for (std::size_t i = 0; i < inputIds.size(); ++i) {
        auto index = static_cast<std::size_t>(inputIds[i]);
        if (onDevice && ordered[i]->isHost()) {
            hostCopies[index] = *ordered[i];
            auto uploaded = upload(*ordered[i]);
            if (!uploaded)
                return deviceError(
                    uploaded.error().withContext("input '" + graph.value(inputIds[i]).name + "'"));
            slots[index] = std::move(*uploaded);
        } else {
            slots[index] = *ordered[i];
        }
    }

    enum class Mode
    {
        Kernel,    // the device's own kernel (CPU device: every node)
        ShapeOnly, // reads input shapes only, host outputs
        Host,      // shape arithmetic: CPU kernel on small host integer tensors
        Fallback   // no kernel on the device: CPU kernel with copies
    };
    ThreadPool &pool = *this->pool;
    for (std::size_t s = 0; s < steps.size(); ++s) {
        if (options.cancel && options.cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "run cancelled");
        const Step &step = steps[s];
        const graph::Node &node = graph.node(step.node);
        const KernelInfo *kernel = step.kernel;
        Mode mode = Mode::Kernel;
        if (onDevice) {
            const KernelInfo *cpuKernel = device.registry().find(
                node.opType, node.domain, DeviceKind::Cpu, this->options.variant);
            bool hostArithmetic = cpuKernel != nullptr && !(kernel && kernel->shapeOnly);
            bool anyInput = false;
            for (ValueId in : node.inputs) {
                if (in == kNoValue)
                    continue;
                anyInput = true;
                auto index = static_cast<std::size_t>(in);
                const Tensor &host = constants[index].isValid()    ? constants[index]
                                     : hostCopies[index].isValid() ? hostCopies[index]
                                                                   : slots[index];
                hostArithmetic = hostArithmetic && host.isValid() && isHostShapeValue(host);
            }
            if (kernel && kernel->shapeOnly) {
                mode = Mode::ShapeOnly;
            } else if (hostArithmetic && anyInput) {
                mode = Mode::Host;
                kernel = cpuKernel;
            } else if (!kernel && cpuKernel) {
                mode = Mode::Fallback;
                kernel = cpuKernel;
                ++fallbackNodes;
            }
        }
        if (!kernel) {
            Support support = device.registry().supports(node, graph, device.kind());
            return makeError(ErrorCode::Unsupported, support.reason);
        }
        std::vector<const Tensor *> ins;
        ins.reserve(node.inputs.size());
        std::vector<bool> constantInputs(node.inputs.size(), false);
        for (std::size_t i = 0; i < node.inputs.size(); ++i) {
            const ValueId in = node.inputs[i];
            if (in == kNoValue) {
                ins.push_back(nullptr);
                continue;
            }
            auto index = static_cast<std::size_t>(in);
            constantInputs[i] = constants[index].isValid();
            const Tensor *tensor = constants[index].isValid() ? &constants[index] : &slots[index];
            if (!tensor->isValid())
                return makeError(ErrorCode::InvalidInput,
                                 "node '" + node.name + "' (" + node.opType + "): input '" +
                                     graph.value(in).name +
                                     "' has no value (missing or unsupported type)");
            if (onDevice && mode != Mode::ShapeOnly) {
                const auto &hostInputs = kernel->hostInputs;
                const bool wantHost =
                    mode != Mode::Kernel || std::find(hostInputs.begin(), hostInputs.end(),
                                                      static_cast<int>(i)) != hostInputs.end();
                if (wantHost && !tensor->isHost()) {
                    if (!hostCopies[index].isValid()) {
                        auto copied = download(*tensor);
                        if (!copied)
                            return deviceError(copied.error());
                        if (mode == Mode::Fallback)
                            fallbackCopyBytes += copied->byteSize();
                        hostCopies[index] = std::move(*copied);
                    }
                    tensor = &hostCopies[index];
                } else if (wantHost && constants[index].isValid()) {
                    tensor = &constants[index];
                } else if (!wantHost && tensor->isHost()) {
                    if (deviceConstants[index].isValid()) {
                        tensor = &deviceConstants[index];
                    } else {
                        auto uploaded = upload(*tensor);
                        if (!uploaded)
                            return deviceError(uploaded.error());
                        if (!constants[index].isValid())
                            hostCopies[index] = slots[index];
                        retired.push_back(std::move(*uploaded));
                        tensor = &retired.back();
                        if (!constants[index].isValid())
                            slots[index] = *tensor;
                    }
                }
            }
            if (!tensor->isTensor() && !kernel->nonTensorValues)
                return makeError(ErrorCode::Unsupported,
                                 "node '" + node.name + "' (" + node.opType + "): input '" +
                                     graph.value(in).name + "' is a " +
                                     graph::valueKindName(tensor->kind()) +
                                     ", which this op's kernel does not take");
            ins.push_back(tensor);
        }
        std::vector<Tensor> outs(node.outputs.size());
        double nodeStart = options.onNode ? msSince(started) : 0;
        OutputAllocator &outputAllocator =
            mode == Mode::Kernel ? static_cast<OutputAllocator &>(allocator) : hostAllocator;
        KernelContext ctx(node, step.opset, std::move(ins), outs, outputAllocator, pool);
        if (mode == Mode::Kernel) {
            ctx.setExecution(execution);
            ctx.setState(step.state.get());
        }
        ctx.setConstantInputs(std::move(constantInputs));
        std::optional<StepSubgraphRunner> subgraphRunner;
        if (step.subgraphs) {
            std::map<std::string, const Tensor *> outer;
            for (ValueId in : node.implicitInputs) {
                auto index = static_cast<std::size_t>(in);
                outer[graph.value(in).name] =
                    constants[index].isValid() ? &constants[index] : &slots[index];
            }
            subgraphRunner.emplace(*step.subgraphs, std::move(outer), options.cancel);
            ctx.setSubgraphs(&*subgraphRunner);
        }
        allocator.beginStep(s);
        Status status = Status::success();
        try {
            status = kernel->fn(ctx);
        } catch (const std::bad_alloc &) {
            status = makeError(ErrorCode::Runtime,
                               "node '" + node.name + "' (" + node.opType + "): out of memory");
        } catch (const std::exception &e) {
            status = makeError(ErrorCode::Runtime,
                               "node '" + node.name + "' (" + node.opType + "): " + e.what());
        }
        if (subgraphRunner)
            allocator.noteNested(subgraphRunner->peak());
        allocator.endStep();
        if (!status.ok())
            return onDevice ? deviceError(status.error()) : status.error();
        for (std::size_t o = 0; o < node.outputs.size(); ++o) {
            ValueId out = node.outputs[o];
            if (out == kNoValue)
                continue;
            if (!outs[o].isValid())
                return makeError(ErrorCode::Internal, "node '" + node.name + "' (" + node.opType +
                                                          "): kernel did not produce output " +
                                                          std::to_string(o));
            if (mode == Mode::Fallback)
                fallbackCopyBytes += outs[o].byteSize(); // goes back to the device
            slots[static_cast<std::size_t>(out)] = std::move(outs[o]);
            if (lastUse[static_cast<std::size_t>(out)] < static_cast<int>(s)) { // never read
                if (onDevice)
                    retired.push_back(std::move(slots[static_cast<std::size_t>(out)]));
                slots[static_cast<std::size_t>(out)] = Tensor();
                allocator.release(out);
            }
        }
        auto releaseInput = [&](ValueId in) {
            if (in == kNoValue)
                return;
            auto index = static_cast<std::size_t>(in);
            if (lastUse[index] == static_cast<int>(s) && producedAt[index] >= 0) {
                if (onDevice) {
                    retired.push_back(std::move(slots[index]));
                    hostCopies[index] = Tensor();
                }
                slots[index] = Tensor();
                allocator.release(in);
            }
        };
        for (ValueId in : node.inputs)
            releaseInput(in);
        for (ValueId in : node.implicitInputs)
            releaseInput(in);
        if (options.onNode) {
            if (onDevice) {
                // Per-node times need the node's work done (timing runs only).
                Status synced = execution->synchronize();
                if (!synced.ok())
                    return deviceError(synced.error().withContext("node '" + node.name + "'"));
            }
            NodeEvent event;
            event.node = step.node;
            event.name = &node.name;
            event.opType = &node.opType;
            event.kernel = step.state->kernel.load(std::memory_order_relaxed);
            // Kernels that do not name their implementation: which variant ran.
            if (!event.kernel && step.kernel)
                event.kernel = step.kernel->variant == KernelVariant::Fast ? "ours (fast kernel)"
                                                                           : "reference kernel";
            event.startMs = nodeStart;
            event.endMs = msSince(started);
            options.onNode(event);
        }
    }
    if (onDevice) {
        Status synced = execution->synchronize();
        if (!synced.ok())
            return deviceError(synced.error());
    }

    RunResult result;
    if (!forPlanOnly) {
        for (ValueId out : outputIds) {
            auto index = static_cast<std::size_t>(out);
            const Tensor &tensor = constants[index].isValid() ? constants[index] : slots[index];
            if (!tensor.isValid())
                return makeError(ErrorCode::Internal,
                                 "output '" + graph.value(out).name + "' was not computed");
            if (onDevice && !tensor.isHost()) {
                auto copied = download(tensor);
                if (!copied)
                    return deviceError(
                        copied.error().withContext("output '" + graph.value(out).name + "'"));
                result.outputs[graph.value(out).name] = std::move(*copied);
                continue;
            }
            // Arena-backed and constant tensors are copied out; heap tensors move.
            bool owned = !constants[index].isValid() &&
                         !(arena && producedAt[index] >= 0 && plan->offsetByValue[index] >= 0 &&
                           tensor.data() >= arena && tensor.data() < arena + plan->arenaBytes);
            if (producedAt[index] < 0)
                owned = false; // a graph input passed straight through
            const graph::NodeId producer = graph.value(out).producer;
            if (producer != graph::kNoNode && tensor.rank() == 4 &&
                graph.node(producer).intAttr("channels_last_output", 0) == 1) {
                result.outputs[graph.value(out).name] = planarFromChannelsLast(tensor);
                continue;
            }
            result.outputs[graph.value(out).name] = owned ? tensor : tensor.clone();
        }
    }
    result.stats.fallbackNodes = fallbackNodes;
    result.stats.fallbackCopyBytes = fallbackCopyBytes;
    result.stats.transferBytes = transferBytes;
    retired.clear();
    slots.clear();

    // Build (or refresh) the plan from what this run recorded.
    std::size_t planned = plan ? plan->arenaBytes : 0;
    if (this->options.planMemory && (!plan || allocator.planMissed())) {
        auto fresh = std::make_shared<CachedPlan>();
        std::vector<BufferRequest> requests;
        std::vector<ValueId> owners;
        fresh->offsetByValue.assign(graph.values().size(), -1);
        fresh->bytesByValue.assign(graph.values().size(), 0);
        for (std::size_t v = 0; v < graph.values().size(); ++v) {
            if (producedAt[v] < 0 || constants[v].isValid())
                continue;
            std::size_t bytes = allocator.recorded()[v];
            int last = std::max(lastUse[v], producedAt[v]);
            requests.push_back(BufferRequest{bytes, producedAt[v], last});
            owners.push_back(static_cast<ValueId>(v));
            fresh->bytesByValue[v] = bytes;
        }
        const std::size_t valueRequests = requests.size();
        fresh->scratchOffsetByStep.assign(steps.size(), -1);
        fresh->scratchBytesByStep.assign(steps.size(), 0);
        for (std::size_t s = 0; s < steps.size(); ++s) {
            std::size_t bytes = allocator.scratchRecorded()[s];
            if (bytes == 0)
                continue;
            requests.push_back(BufferRequest{bytes, static_cast<int>(s), static_cast<int>(s)});
            fresh->scratchBytesByStep[s] = bytes;
        }
        MemoryPlan memory = planMemory(requests, kAlignment);
        for (std::size_t r = 0; r < valueRequests; ++r)
            fresh->offsetByValue[static_cast<std::size_t>(owners[r])] =
                static_cast<std::int64_t>(memory.offsets[r]);
        for (std::size_t r = valueRequests, s = 0; s < steps.size(); ++s)
            if (fresh->scratchBytesByStep[s] > 0)
                fresh->scratchOffsetByStep[s] = static_cast<std::int64_t>(memory.offsets[r++]);
        fresh->arenaBytes = memory.arenaBytes;
        fresh->lowerBound = memory.maxLiveBytes;
        fresh->buffers = requests.size();
        planned = fresh->arenaBytes;
        std::lock_guard lock(planMutex);
        plans[signature] = fresh;
    }
    result.stats.wallMs = msSince(started);
    result.stats.peakMemoryBytes = allocator.peak();
    result.stats.plannedPeakMemoryBytes = planned;
    result.stats.usedArena = arena != nullptr;
    return result;
}

} // namespace sb::runtime
