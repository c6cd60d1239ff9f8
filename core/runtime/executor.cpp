#include "core/runtime/executor.h"

#include "core/runtime/fusion.h"
#include "core/runtime/memory_planner.h"
#include "core/runtime/tensor_io.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <set>

namespace sb::runtime {

using graph::kNoValue;
using graph::NodeId;
using graph::ValueId;

namespace {

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
        key += std::to_string(static_cast<int>(tensors[i]->type()));
        key += shapeToString(tensors[i]->shape());
        key += ';';
    }
    return key;
}

struct CachedPlan
{
    std::vector<std::int64_t> offsetByValue; // -1: not planned
    std::vector<std::size_t> bytesByValue;
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
    RunAllocator(std::size_t valueCount, CachedPlan *plan, char *arena)
        : m_plan(plan), m_arena(arena), m_recorded(valueCount, 0), m_liveBytes(valueCount, 0)
    {}

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
        } else {
            if (m_arena)
                m_planMissed = true;
            tensor = Tensor::empty(type, shape);
        }
        m_recorded[index] = std::max(m_recorded[index], bytes);
        release(value); // a value is allocated once per run; be safe on re-entry
        m_liveBytes[index] = counted;
        m_live += counted;
        m_peak = std::max(m_peak, m_live);
        return tensor;
    }

    void release(ValueId value)
    {
        auto index = static_cast<std::size_t>(value);
        m_live -= m_liveBytes[index];
        m_liveBytes[index] = 0;
    }

    std::size_t peak() const { return m_peak; }
    bool planMissed() const { return m_planMissed; }
    const std::vector<std::size_t> &recorded() const { return m_recorded; }

private:
    CachedPlan *m_plan;
    char *m_arena;
    std::vector<std::size_t> m_recorded;
    std::vector<std::size_t> m_liveBytes;
    std::size_t m_live = 0;
    std::size_t m_peak = 0;
    bool m_planMissed = false;
};

} // namespace

struct Executor::Impl
{
    struct Step
    {
        NodeId node;
        const KernelInfo *kernel = nullptr;
        int opset = 0;
    };

    ExecutorOptions options;
    ThreadPool *pool = nullptr; // the CPU device's execution context
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
    // The executor runs CPU kernels; they compute on the CPU device's context.
    auto *cpu = dynamic_cast<CpuContext *>(&device.context());
    if (device.kind() != DeviceKind::Cpu || !cpu)
        return makeError(ErrorCode::Unsupported, "executor: device " + device.id() + " (" +
                                                     deviceKindName(device.kind()) +
                                                     ") has no kernels in this build");
    std::unique_ptr<Executor> executor(new Executor(device));
    Impl &impl = *executor->m_impl;
    impl.options = options;
    impl.pool = &cpu->pool();
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
        for (NodeId id : selected)
            for (ValueId in : source->node(id).inputs)
                if (in != kNoValue && !produced.count(in) && !source->value(in).initializer &&
                    seenInputs.insert(in).second)
                    stageInputs.push_back(in);
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

    if (options.fuse)
        applyFusions(*local, FusionOptions{});

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
        auto opsetIt = local->opsets.find(node.domain == "ai.onnx" ? std::string() : node.domain);
        step.opset = opsetIt != local->opsets.end() ? static_cast<int>(opsetIt->second) : 0;
        if (!step.opset && node.domain.empty())
            step.opset = 17; // hand-built graphs without an opset import
        bool foldable =
            options.foldConstants && step.kernel && !kNonDeterministic.count(node.opType);
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
                status = step.kernel->fn(ctx);
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
        for (ValueId out : node.outputs)
            if (out != kNoValue)
                impl.producedAt[static_cast<std::size_t>(out)] = static_cast<int>(s);
    }
    for (ValueId out : stageOutputs)
        impl.lastUse[static_cast<std::size_t>(out)] = static_cast<int>(impl.steps.size());
    executor->m_graph = std::move(local);
    return executor;
}

const graph::TensorInfo &Executor::valueInfo(const std::string &name) const
{
    static const graph::TensorInfo kNone;
    auto it = m_impl->declared.find(name);
    return it == m_impl->declared.end() ? kNone : it->second;
}

std::size_t Executor::executedNodeCount() const
{
    return m_impl->steps.size();
}

std::vector<std::string> Executor::unsupportedReasons() const
{
    std::vector<std::string> reasons;
    for (const auto &step : m_impl->steps) {
        Support support =
            m_device.registry().supports(m_graph->node(step.node), *m_graph, m_device.kind());
        if (!support.supported)
            reasons.push_back(support.reason);
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

    RunAllocator allocator(graph.values().size(), plan.get(), arena);
    std::vector<Tensor> slots(graph.values().size());
    for (std::size_t i = 0; i < inputIds.size(); ++i)
        slots[static_cast<std::size_t>(inputIds[i])] = *ordered[i];

    ThreadPool &pool = *this->pool;
    for (std::size_t s = 0; s < steps.size(); ++s) {
        if (options.cancel && options.cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "run cancelled");
        const Step &step = steps[s];
        const graph::Node &node = graph.node(step.node);
        if (!step.kernel) {
            Support support = self.m_device.registry().supports(node, graph, self.m_device.kind());
            return makeError(ErrorCode::Unsupported, support.reason);
        }
        std::vector<const Tensor *> ins;
        ins.reserve(node.inputs.size());
        for (ValueId in : node.inputs) {
            if (in == kNoValue) {
                ins.push_back(nullptr);
                continue;
            }
            auto index = static_cast<std::size_t>(in);
            const Tensor *tensor = constants[index].isValid() ? &constants[index] : &slots[index];
            if (!tensor->isValid())
                return makeError(ErrorCode::InvalidInput,
                                 "node '" + node.name + "' (" + node.opType + "): input '" +
                                     graph.value(in).name +
                                     "' has no value (missing or unsupported type)");
            ins.push_back(tensor);
        }
        std::vector<Tensor> outs(node.outputs.size());
        double nodeStart = options.onNode ? msSince(started) : 0;
        KernelContext ctx(node, step.opset, std::move(ins), outs, allocator, pool);
        Status status = Status::success();
        try {
            status = step.kernel->fn(ctx);
        } catch (const std::bad_alloc &) {
            status = makeError(ErrorCode::Runtime,
                               "node '" + node.name + "' (" + node.opType + "): out of memory");
        } catch (const std::exception &e) {
            status = makeError(ErrorCode::Runtime,
                               "node '" + node.name + "' (" + node.opType + "): " + e.what());
        }
        if (!status.ok())
            return status.error();
        for (std::size_t o = 0; o < node.outputs.size(); ++o) {
            ValueId out = node.outputs[o];
            if (out == kNoValue)
                continue;
            if (!outs[o].isValid())
                return makeError(ErrorCode::Internal, "node '" + node.name + "' (" + node.opType +
                                                          "): kernel did not produce output " +
                                                          std::to_string(o));
            slots[static_cast<std::size_t>(out)] = std::move(outs[o]);
            if (lastUse[static_cast<std::size_t>(out)] < static_cast<int>(s)) { // never read
                slots[static_cast<std::size_t>(out)] = Tensor();
                allocator.release(out);
            }
        }
        for (ValueId in : node.inputs) {
            if (in == kNoValue)
                continue;
            auto index = static_cast<std::size_t>(in);
            if (lastUse[index] == static_cast<int>(s) && producedAt[index] >= 0) {
                slots[index] = Tensor();
                allocator.release(in);
            }
        }
        if (options.onNode) {
            NodeEvent event;
            event.node = step.node;
            event.name = &node.name;
            event.opType = &node.opType;
            event.startMs = nodeStart;
            event.endMs = msSince(started);
            options.onNode(event);
        }
    }

    RunResult result;
    if (!forPlanOnly) {
        for (ValueId out : outputIds) {
            auto index = static_cast<std::size_t>(out);
            const Tensor &tensor = constants[index].isValid() ? constants[index] : slots[index];
            if (!tensor.isValid())
                return makeError(ErrorCode::Internal,
                                 "output '" + graph.value(out).name + "' was not computed");
            // Arena-backed and constant tensors are copied out; heap tensors move.
            bool owned = !constants[index].isValid() &&
                         !(arena && producedAt[index] >= 0 && plan->offsetByValue[index] >= 0 &&
                           tensor.data() >= arena && tensor.data() < arena + plan->arenaBytes);
            if (producedAt[index] < 0)
                owned = false; // a graph input passed straight through
            result.outputs[graph.value(out).name] = owned ? tensor : tensor.clone();
        }
    }
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
        MemoryPlan memory = planMemory(requests, kAlignment);
        for (std::size_t r = 0; r < requests.size(); ++r)
            fresh->offsetByValue[static_cast<std::size_t>(owners[r])] =
                static_cast<std::int64_t>(memory.offsets[r]);
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
