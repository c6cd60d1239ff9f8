// KernelRegistry: the one table of kernels, keyed by (op type, domain, device
// kind), with a reference variant (the oracle) and optionally a fast variant
// per key. KernelContext is what a kernel sees while it runs.
//
// Contract:
//  - A kernel reads its inputs, allocates each present output exactly once
//    through KernelContext::allocateOutput and fills it completely.
//  - A kernel that meets an attribute, element type or input combination it
//    does not implement returns ctx.unsupported("..."), an Error with code
//    ErrorCode::Unsupported that names the op, node and the missing feature.
//    It never produces numbers it is not sure of.
//  - Kernels must be reentrant: the same kernel runs concurrently for
//    different executors / runs; per-call state lives on the stack.
//  - Tolerance is how far the fast variant may drift from the reference one
//    (used by the kernel tests): |fast - ref| <= atol + rtol * |ref|.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/tensor.h"
#include "core/runtime/thread_pool.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace sb::runtime {

class ExecutionContext;

enum class DeviceKind
{
    Cpu,
    Cuda
};
const char *deviceKindName(DeviceKind kind); // "cpu", "cuda"

enum class KernelVariant
{
    Reference,
    Fast
};

struct Tolerance
{
    double rtol = 1e-5;
    double atol = 1e-6;
};

// Outcome of "can this node run here?". Unsupported carries a reason naming
// the op and the attribute, element type or input that is not implemented.
struct Support
{
    bool supported = true;
    std::string reason;
    static Support yes() { return {}; }
    static Support no(std::string why) { return Support{false, std::move(why)}; }
};

// Allocation service the executor gives kernels (arena or heap behind it).
class OutputAllocator
{
public:
    virtual ~OutputAllocator() = default;
    virtual Result<Tensor> allocate(graph::ValueId value, ElementType type, const Shape &shape) = 0;
    // Scratch for the current node only (oneDNN scratchpads, our kernels'
    // panels and tiles: kernels/cpu/fast/scratch.h): a UInt8 tensor of
    // `bytes`, freed when the node finishes. The executor's allocator places
    // it in the arena plan like an activation that lives for one step (a
    // node's requests end to end), so planned and measured peak memory count
    // it.
    virtual Result<Tensor> allocateScratch(std::size_t bytes)
    {
        return Tensor::empty(ElementType::UInt8, {static_cast<std::int64_t>(bytes)});
    }
};

// Per-session state of one node's kernel, owned by the executor (one per
// executed node, created with it, destroyed with it): what a kernel prepares
// once and reuses on every run (oneDNN primitives, weights reordered to a
// blocked layout), and the name of the kernel that ran, for profiles.
// `data` is the kernel's own; kernels guard it with `mutex` (runs of one
// executor may overlap).
struct KernelState
{
    std::mutex mutex;
    std::shared_ptr<void> data;
    // Which implementation ran, e.g. "oneDNN brg:avx512_core" or "ours
    // winograd avx2"; a static string or one `data` keeps alive.
    std::atomic<const char *> kernel{nullptr};
    // Bytes the state holds for the session (reordered weights).
    std::atomic<std::uint64_t> persistentBytes{0};

    // Kernels that choose among implementations per input shapes (onednn.h)
    // record the scratch bytes the chosen one declares it requests through
    // KernelContext::allocateScratch per execution, keyed by
    // inputShapesKey(); the cost model prices a node's scratch with it once
    // the choice is made (before, with the kernel's profile).
    void setChosenScratch(const std::string &inputShapes, std::uint64_t bytes)
    {
        std::lock_guard lock(m_chosenMutex);
        m_chosenScratch[inputShapes] = bytes;
    }
    std::optional<std::uint64_t> chosenScratch(const std::string &inputShapes) const
    {
        std::lock_guard lock(m_chosenMutex);
        auto it = m_chosenScratch.find(inputShapes);
        return it == m_chosenScratch.end() ? std::nullopt : std::optional(it->second);
    }

private:
    mutable std::mutex m_chosenMutex;
    std::map<std::string, std::uint64_t> m_chosenScratch;
};
// "1x3x224x224;64x3x7x7;" for the shapes of a node's inputs (null: an
// absent input, "-;"): the key of KernelState::chosenScratch.
std::string inputShapesKey(const std::vector<const Shape *> &inputs);

// Runs the subgraphs of a node (If branches, Loop/Scan/SequenceMap bodies)
// on the node's device through the executor machinery, each body with its
// own executor and memory plan. The executor gives one to nodes that have
// graph attributes (KernelContext::subgraphs()).
class SubgraphRunner
{
public:
    virtual ~SubgraphRunner() = default;
    // Runs `body` (one of the node's graph attributes) with `inputs` bound to
    // body.inputs() in order; the outer-scope values the body reads are bound
    // by the runner. Returns the body's outputs in body.outputs() order.
    virtual Result<std::vector<Tensor>> run(const graph::Graph &body,
                                            const std::vector<Tensor> &inputs) = 0;
};

class KernelContext
{
public:
    KernelContext(const graph::Node &node, int opset, std::vector<const Tensor *> inputs,
                  std::vector<Tensor> &outputs, OutputAllocator &allocator, ThreadPool &pool);

    const graph::Node &node() const { return m_node; }
    int opset() const { return m_opset; } // the model's opset for this node's domain
    ThreadPool &pool() { return m_pool; }

    std::size_t inputCount() const { return m_inputs.size(); }
    bool hasInput(std::size_t i) const { return i < m_inputs.size() && m_inputs[i] != nullptr; }
    const Tensor &input(std::size_t i) const { return *m_inputs[i]; }

    std::size_t outputCount() const { return m_outputs.size(); }
    // False when the node's output slot is omitted ("" in ONNX).
    bool hasOutput(std::size_t i) const;
    // Allocates output i (also for omitted outputs, which get a scratch buffer).
    Result<Tensor *> allocateOutput(std::size_t i, ElementType type, const Shape &shape);
    // Sets output i to an existing tensor (a constant or a fresh owned tensor;
    // never a view of an input, whose buffer the executor may reuse).
    void setOutput(std::size_t i, Tensor tensor);
    Tensor &output(std::size_t i) { return m_outputs[i]; }

    // The stage's execution context on a non-CPU device (a CUDA stream with
    // its library handles); null for CPU kernels, which use pool().
    ExecutionContext *execution() const { return m_execution; }
    void setExecution(ExecutionContext *execution) { m_execution = execution; }

    // Per-session state of this node's kernel (null when the caller keeps
    // none, e.g. constant folding); see KernelState.
    KernelState *state() const { return m_state; }
    void setState(KernelState *state) { m_state = state; }
    // Names the implementation that ran (static string) for profiles.
    void noteKernel(const char *name) const
    {
        if (m_state && m_state->kernel.load(std::memory_order_relaxed) != name)
            m_state->kernel.store(name, std::memory_order_relaxed);
    }
    // True when input i is a constant of the session (an initializer or a
    // folded value): its contents never change between runs.
    bool inputIsConstant(std::size_t i) const
    {
        return i < m_constantInputs.size() && m_constantInputs[i];
    }
    void setConstantInputs(std::vector<bool> constant) { m_constantInputs = std::move(constant); }
    // The runner for this node's subgraphs (null for nodes without any).
    SubgraphRunner *subgraphs() const { return m_subgraphs; }
    void setSubgraphs(SubgraphRunner *runner) { m_subgraphs = runner; }
    // Scratch bytes for this node only (see OutputAllocator::allocateScratch).
    Result<Tensor> allocateScratch(std::size_t bytes) { return m_allocator.allocateScratch(bytes); }

    // Errors that name the node: "node 'n' (Op): <what>".
    Error unsupported(const std::string &what) const;
    Error invalid(const std::string &what) const;

private:
    const graph::Node &m_node;
    int m_opset;
    std::vector<const Tensor *> m_inputs;
    std::vector<Tensor> &m_outputs;
    OutputAllocator &m_allocator;
    ThreadPool &m_pool;
    ExecutionContext *m_execution = nullptr;
    KernelState *m_state = nullptr;
    SubgraphRunner *m_subgraphs = nullptr;
    std::vector<bool> m_constantInputs;
};

using KernelFn = std::function<Status(KernelContext &)>;

// What a kernel will do for one node, concrete shapes and a device of
// `threads` threads, for the cost model (core/plan/predict.h): the rate
// class whose calibrated rate applies (the kernel's own code path, e.g.
// "conv.winograd" vs "conv.im2col"), the work in that class's unit (FLOPs for
// "gemm.*"/"conv.*", bytes moved for "mem.*" and "reduce", window reads for
// "pool") and the bytes the kernel takes through
// KernelContext::allocateScratch per execution (im2col panels, transformed
// tiles, padded planes; per-thread slices included), computed by the same
// function the kernel sizes its request with. Kernels without a profile are
// priced as "mem.elementwise" by the bytes of their inputs and outputs.
struct KernelProfile
{
    std::string rateClass;
    double work = 0;
    std::uint64_t scratchBytes = 0;
};
using ProfileFn =
    std::function<KernelProfile(const graph::Node &node, const std::vector<Shape> &inputs,
                                const std::vector<Shape> &outputs, int threads)>;
// Static check before running (attributes, declared types); nullopt = fine,
// else the reason the node is unsupported.
using SupportCheckFn =
    std::function<std::optional<std::string>(const graph::Node &, const graph::Graph &)>;

struct KernelInfo
{
    std::string opType;
    std::string domain; // "" = ai.onnx; "sb" = Shardbench fused ops
    DeviceKind device = DeviceKind::Cpu;
    KernelVariant variant = KernelVariant::Reference;
    KernelFn fn;
    SupportCheckFn check; // optional
    Tolerance tolerance;  // for Fast kernels: allowed drift from Reference
    // Non-CPU kernels: inputs the kernel reads on the host (shapes, axes,
    // scalars); the executor hands those over in host memory.
    std::vector<int> hostInputs;
    // Non-CPU kernels that read only input shapes (Shape, Size): they run on
    // the host with device inputs and produce host outputs.
    bool shapeOnly = false;
    // Optional: the kernel's rate class and work for given shapes (see KernelProfile).
    ProfileFn profile;
    // The kernel takes sequence/optional values (Tensor::kind()); the
    // executor refuses to hand them to any other kernel.
    bool nonTensorValues = false;
    // CPU kernels of ops whose operands the fusion pass may store
    // channels-last only where the kernel gains from it
    // (sb.FusedPointwiseDepthwise): the largest input plane (H * W) on
    // which it computes on channels-last operands as they are; 0 = none
    // (FusionOptions::pointwiseDepthwiseChannelsLastPlane).
    std::int64_t channelsLastPlane = 0;
};

class KernelRegistry
{
public:
    void add(KernelInfo info);
    // The preferred variant if registered, else the other one; null if none.
    const KernelInfo *find(const std::string &opType, const std::string &domain, DeviceKind device,
                           KernelVariant preferred = KernelVariant::Fast) const;
    const KernelInfo *findExact(const std::string &opType, const std::string &domain,
                                DeviceKind device, KernelVariant variant) const;
    Support supports(const graph::Node &node, const graph::Graph &graph, DeviceKind device) const;
    // Sets the profile of every registered variant of (op, domain, device)
    // that has none yet (variant-specific profiles are set on the KernelInfo).
    void setDefaultProfile(const std::string &opType, const std::string &domain, DeviceKind device,
                           const ProfileFn &profile);
    // Op types with a kernel for a device ("Add", "sb.FusedGemm", ...), sorted.
    std::vector<std::string> opTypes(DeviceKind device) const;

private:
    using Key = std::tuple<std::string, std::string, DeviceKind, KernelVariant>;
    std::map<Key, KernelInfo> m_kernels;
};

} // namespace sb::runtime
