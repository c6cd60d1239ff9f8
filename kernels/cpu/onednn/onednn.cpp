#include "kernels/cpu/onednn/onednn.h"

#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/fast/epilogue.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#if SHARDBENCH_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
extern "C" void omp_set_num_threads(int threads);
#endif

namespace sb::kernels {

namespace {

std::atomic<int> g_choice{-1}; // -1: not read yet

// Below kSerialMacs multiply-adds (float32; int8 four times as many) a
// problem runs whole on the calling thread (one part, no fork to the pool):
// about 20 us of one core (float32 FMA at ~25 MACs/ns on small shapes, int8
// VNNI about four times that), less than waking the pool's other threads
// costs, which is tens of microseconds per op once the cores are shared with
// other processes. Small CNNs (every convolution of a 32x32 ResNet) run
// serially; real-size layers keep the pool.
constexpr double kSerialMacs = 512.0 * 1024;
constexpr double kInt8MacsPerFloatMac = 4.0;
std::atomic<double> g_serialMacs{kSerialMacs};

KernelChoice choiceFromEnv()
{
    const char *v = std::getenv("SHARDBENCH_CPU_KERNELS");
    const std::string s = v ? v : "";
    if (s == "ours")
        return KernelChoice::Ours;
    if (s == "onednn")
        return KernelChoice::OneDnn;
    if (s == "onednn-blocked")
        return KernelChoice::OneDnnBlocked;
    return KernelChoice::Auto;
}

} // namespace

KernelChoice kernelChoice()
{
    int v = g_choice.load(std::memory_order_relaxed);
    if (v < 0) {
        v = static_cast<int>(choiceFromEnv());
        g_choice.store(v, std::memory_order_relaxed);
    }
    return static_cast<KernelChoice>(v);
}

void setKernelChoice(KernelChoice choice)
{
    g_choice.store(static_cast<int>(choice), std::memory_order_relaxed);
}

void setSerialMacsLimit(double macs)
{
    g_serialMacs.store(macs < 0 ? kSerialMacs : macs, std::memory_order_relaxed);
}

ConvProblem convProblemOf(const ConvGeometry &g)
{
    ConvProblem p;
    p.n = g.n;
    p.inChannels = g.inChannels;
    p.outChannels = g.outChannels;
    p.group = g.group;
    p.inH = g.inSpatial[0];
    p.inW = g.inSpatial[1];
    p.outH = g.outSpatial[0];
    p.outW = g.outSpatial[1];
    p.kernelH = g.kernel[0];
    p.kernelW = g.kernel[1];
    p.strideH = g.strides[0];
    p.strideW = g.strides[1];
    p.dilationH = g.dilations[0];
    p.dilationW = g.dilations[1];
    p.padTop = g.padBegin[0];
    p.padLeft = g.padBegin[1];
    p.padBottom = g.padEnd[0];
    p.padRight = g.padEnd[1];
    return p;
}

const char *oursKernelName(const std::string &algorithm)
{
    return oursKernelName(algorithm, cpuIsa());
}

// Interned: profiles keep the pointer.
const char *oursKernelName(const std::string &algorithm, CpuIsa widest)
{
    static std::mutex mutex;
    static std::set<std::string> names;
    std::lock_guard lock(mutex);
    const CpuIsa ran = std::min(cpuIsa(), widest);
    return names.insert("ours " + algorithm + " " + cpuIsaName(ran)).first->c_str();
}

#if SHARDBENCH_HAVE_ONEDNN

namespace {

// One implementation of a node's problem for one input shape; run(ctx)
// takes its scratch from ctx (the arena plan) or, while timing, the heap.
template <typename Problem> struct Candidate
{
    const char *name = nullptr;
    // ctx null: scratch from the heap (timing runs); the work goes over pool.
    std::function<Status(runtime::ThreadPool &, KernelContext *, const Problem &)> run;
    std::uint64_t weightsBytes = 0; // reordered weights it holds
    // Bytes it takes through KernelContext::allocateScratch per execution.
    std::uint64_t scratchBytes = 0;
};

// The node's choices, by input-shape key; kept in KernelState::data.
template <typename Problem> struct Choices
{
    struct Entry
    {
        std::vector<Candidate<Problem>> candidates;
        std::size_t chosen = 0;
    };
    std::map<std::string, std::shared_ptr<const Entry>> byKey;
    std::vector<std::string> names; // storage for the candidates' names
};

double msSince(std::chrono::steady_clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
        .count();
}

// Picks among the candidates (index 0 is always ours): forced by
// kernelChoice(), else the fastest of alternating timed runs.
template <typename Problem>
std::size_t pick(std::vector<Candidate<Problem>> &candidates, const Problem &problem,
                 runtime::ThreadPool &pool)
{
    if (candidates.size() == 1)
        return 0;
    const KernelChoice choice = kernelChoice();
    if (choice == KernelChoice::Ours)
        return 0;
    if (choice == KernelChoice::OneDnn)
        return 1;
    if (choice == KernelChoice::OneDnnBlocked)
        return candidates.size() - 1;
    std::vector<double> best(candidates.size(), 1e300);
    // Warm each once (JIT, page faults), then alternate; stop early once the
    // rounds have taken long enough for a stable minimum.
    for (auto &c : candidates)
        if (!c.run(pool, nullptr, problem).ok())
            return 0;
    const auto started = std::chrono::steady_clock::now();
    for (int round = 0; round < 5; ++round) {
        for (std::size_t i = 0; i < candidates.size(); ++i) {
            const auto t0 = std::chrono::steady_clock::now();
            (void)candidates[i].run(pool, nullptr, problem);
            best[i] = std::min(best[i], msSince(t0));
        }
        if (round >= 2 && msSince(started) > 60.0)
            break;
    }
    return static_cast<std::size_t>(std::min_element(best.begin(), best.end()) - best.begin());
}

template <typename Problem>
Status
runChosen(KernelContext &ctx, const std::string &key, const Problem &problem, const OursFn &ours,
          const char *oursName,
          const std::function<void(std::vector<Candidate<Problem>> &, std::vector<std::string> &)>
              &addOneDnn)
{
    runtime::KernelState *state = ctx.state();
    if (!state || kernelChoice() == KernelChoice::Ours || !oneDnnAvailable()) {
        SB_TRY(ours(&ctx));
        ctx.noteKernel(oursName);
        return Status::success();
    }
    std::shared_ptr<const typename Choices<Problem>::Entry> entry;
    {
        std::lock_guard lock(state->mutex);
        if (!state->data)
            state->data = std::make_shared<Choices<Problem>>();
        auto &choices = *static_cast<Choices<Problem> *>(state->data.get());
        auto it = choices.byKey.find(key);
        if (it == choices.byKey.end()) {
            auto fresh = std::make_shared<typename Choices<Problem>::Entry>();
            fresh->candidates.push_back({oursName, [ours](runtime::ThreadPool &, KernelContext *c,
                                                          const Problem &) { return ours(c); }});
            addOneDnn(fresh->candidates, choices.names);
            fresh->chosen = pick(fresh->candidates, problem, ctx.pool());
            // Only the chosen one stays (with its reordered weights).
            for (std::size_t i = 1; i < fresh->candidates.size(); ++i)
                if (i != fresh->chosen)
                    fresh->candidates[i].run = nullptr;
            state->persistentBytes += fresh->candidates[fresh->chosen].weightsBytes;
            // For the cost model: the chosen oneDNN candidate's scratch
            // (ours declares its own in its profile).
            if (fresh->chosen != 0) {
                std::vector<const runtime::Shape *> shapes;
                for (std::size_t i = 0; i < ctx.inputCount(); ++i)
                    shapes.push_back(ctx.hasInput(i) ? &ctx.input(i).shape() : nullptr);
                state->setChosenScratch(runtime::inputShapesKey(shapes),
                                        fresh->candidates[fresh->chosen].scratchBytes);
            }
            it = choices.byKey.emplace(key, std::move(fresh)).first;
        }
        entry = it->second;
    }
    const Candidate<Problem> &c = entry->candidates[entry->chosen];
    if (entry->chosen == 0)
        SB_TRY(ours(&ctx)); // this call's own (candidate 0 captured the first call's operands)
    else
        SB_TRY(c.run(ctx.pool(), &ctx, problem));
    ctx.noteKernel(c.name);
    return Status::success();
}

using dnnl::memory;
using Tag = dnnl::memory::format_tag;
using Dt = dnnl::memory::data_type;

// The engine, created after the ISA cap went to oneDNN.
dnnl::engine &engine()
{
    static dnnl::engine e = [] {
        if (cpuIsa() != cpuIsaDetected()) {
            dnnl::cpu_isa isa = dnnl::cpu_isa::sse41;
            if (cpuIsa() == CpuIsa::Avx2)
                isa = dnnl::cpu_isa::avx2;
            else if (cpuIsa() == CpuIsa::Avx512)
                isa = dnnl::cpu_isa::avx512_core_bf16;
            (void)dnnl::set_max_cpu_isa(isa); // fails only once primitives exist
        }
        return dnnl::engine(dnnl::engine::kind::cpu, 0);
    }();
    return e;
}

dnnl::stream &threadStream()
{
    thread_local dnnl::stream s(engine());
    return s;
}

std::size_t align64(std::size_t bytes)
{
    return (bytes + 63) / 64 * 64;
}

// Hands out consecutive 64-byte aligned pieces of one scratch buffer, in the
// order scratchBytes() sums them.
struct ScratchCursor
{
    char *next;
    char *operator()(std::size_t bytes)
    {
        char *piece = next;
        next += align64(bytes);
        return piece;
    }
};

// Scratch for one execution: from the arena plan (ctx) or the heap (timing).
struct Scratch
{
    runtime::Tensor tensor;
    std::vector<char> heap;
    char *base = nullptr;

    Status acquire(KernelContext *ctx, std::size_t bytes)
    {
        if (bytes == 0)
            return Status::success();
        if (ctx) {
            SB_ASSIGN_OR_RETURN(tensor, ctx->allocateScratch(bytes + 64));
            base = static_cast<char *>(tensor.data());
        } else {
            heap.resize(bytes + 64);
            base = heap.data();
        }
        base = reinterpret_cast<char *>((reinterpret_cast<std::uintptr_t>(base) + 63) / 64 *
                                        64); // aligned
        return Status::success();
    }
};

void appendActivation(dnnl::post_ops &ops, const Activation &act)
{
    switch (act.kind) {
    case Activation::None:
        return;
    case Activation::Relu:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        return;
    case Activation::Clip:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, act.lo, act.hi);
        return;
    case Activation::Gelu:
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
        return;
    }
}

// "oneDNN <impl> [blocked]" kept in `names`.
const char *nameOf(std::vector<std::string> &names, const std::string &impl, const char *layout)
{
    names.push_back("oneDNN " + impl + (layout && *layout ? std::string(" ") + layout : ""));
    return names.back().c_str();
}

// A primitive with its layouts: reorders in/out when it wants blocked
// activations, weights reordered once (constant) or per run.
struct Prepared
{
    dnnl::primitive prim;
    memory::desc srcMd, userSrcMd, dstMd, userDstMd, weightsMd, userWeightsMd, biasMd, residualMd;
    memory::desc scratchpadDesc;
    bool reorderSrc = false, reorderDst = false, reorderWeights = false;
    // Blocked output with a residual: the residual is reordered into the
    // output first and added by a sum post-op (else a binary add post-op
    // reads it in place).
    bool residualBySum = false;
    dnnl::reorder srcReorder, dstReorder, weightsReorder, residualReorder;
    memory weights; // reordered constant weights
    std::size_t scratchpadBytes = 0;
    // Keep memory objects across calls (Slot). Int8 primitives only: the float
    // candidates are timed against each other on fresh heap buffers, where
    // re-pointing a padded blocked layout zero-pads it and would skew the pick.
    bool reuseMemory = false;

    std::size_t scratchBytes() const
    {
        return align64(scratchpadBytes) + (reorderSrc ? align64(srcMd.get_size()) : 0) +
               (reorderDst ? align64(dstMd.get_size()) : 0) +
               (reorderWeights ? align64(weightsMd.get_size()) : 0);
    }

    // The memory objects and argument map of one execution, made once and
    // pointed at each call's buffers (set_data_handle): creating them per
    // call cost as much as the primitive's own work on a tiny model's
    // convolutions. Executions that overlap (parts on several threads,
    // overlapping runs) each take their own from `m_idle`.
    struct Slot
    {
        memory userSrc, userDst, primSrc, primDst, userWeights, primWeights, scratchpad, bias,
            residual, userResidual;
        std::unordered_map<int, memory> args;
    };

    std::unique_ptr<Slot> takeSlot() const
    {
        {
            std::lock_guard lock(m_slotMutex);
            if (!m_idle.empty()) {
                std::unique_ptr<Slot> slot = std::move(m_idle.back());
                m_idle.pop_back();
                return slot;
            }
        }
        dnnl::engine &eng = engine();
        auto slot = std::make_unique<Slot>();
        slot->userSrc = memory(userSrcMd, eng, nullptr);
        slot->userDst = memory(userDstMd, eng, nullptr);
        slot->primSrc = reorderSrc ? memory(srcMd, eng, nullptr) : slot->userSrc;
        slot->primDst = reorderDst ? memory(dstMd, eng, nullptr) : slot->userDst;
        if (reorderWeights) {
            slot->userWeights = memory(userWeightsMd, eng, nullptr);
            slot->primWeights = memory(weightsMd, eng, nullptr);
        } else {
            slot->primWeights = weights ? weights : memory(weightsMd, eng, nullptr);
        }
        slot->args = {{DNNL_ARG_SRC, slot->primSrc},
                      {DNNL_ARG_WEIGHTS, slot->primWeights},
                      {DNNL_ARG_DST, slot->primDst}};
        if (scratchpadBytes) {
            slot->scratchpad = memory(scratchpadDesc, eng, nullptr);
            slot->args[DNNL_ARG_SCRATCHPAD] = slot->scratchpad;
        }
        if (!biasMd.is_zero())
            slot->bias = memory(biasMd, eng, nullptr);
        if (residualBySum)
            slot->userResidual = memory(userDstMd, eng, nullptr);
        else if (!residualMd.is_zero())
            slot->residual = memory(residualMd, eng, nullptr);
        return slot;
    }

    void returnSlot(std::unique_ptr<Slot> slot) const
    {
        std::lock_guard lock(m_slotMutex);
        m_idle.push_back(std::move(slot));
    }

    // One execution on this thread (with `threads` OpenMP threads) with its
    // scratch at `scratchBase` (scratchBytes()).
    void execute(char *scratchBase, const void *src, const void *w, const void *bias,
                 const void *residual, void *dst) const
    {
        if (reuseMemory)
            executeReusing(scratchBase, src, w, bias, residual, dst);
        else
            executeFresh(scratchBase, src, w, bias, residual, dst);
    }

    // execute() with memory objects made for this call.
    void executeFresh(char *scratchBase, const void *src, const void *w, const void *bias,
                      const void *residual, void *dst) const
    {
        ScratchCursor take{scratchBase};
        dnnl::engine &eng = engine();
        dnnl::stream &s = threadStream();
        char *scratchpadBase = scratchpadBytes ? take(scratchpadBytes) : nullptr;
        memory userSrc(userSrcMd, eng, const_cast<void *>(src));
        memory userDst(userDstMd, eng, dst);
        memory primSrc = userSrc, primDst = userDst, primWeights = weights;
        if (reorderSrc) {
            primSrc = memory(srcMd, eng, take(srcMd.get_size()));
            srcReorder.execute(s, userSrc, primSrc);
        }
        if (reorderDst)
            primDst = memory(dstMd, eng, take(dstMd.get_size()));
        if (residual && residualBySum && (reorderDst || residual != dst)) {
            memory userResidual(userDstMd, eng, const_cast<void *>(residual));
            residualReorder.execute(s, userResidual, primDst);
        }
        if (reorderWeights) {
            memory userWeights(userWeightsMd, eng, const_cast<void *>(w));
            primWeights = memory(weightsMd, eng, take(weightsMd.get_size()));
            weightsReorder.execute(s, userWeights, primWeights);
        } else if (!weights) {
            primWeights = memory(weightsMd, eng, const_cast<void *>(w));
        }
        std::unordered_map<int, memory> args{
            {DNNL_ARG_SRC, primSrc}, {DNNL_ARG_WEIGHTS, primWeights}, {DNNL_ARG_DST, primDst}};
        if (scratchpadBytes)
            args[DNNL_ARG_SCRATCHPAD] = memory(scratchpadDesc, eng, scratchpadBase);
        if (bias)
            args[DNNL_ARG_BIAS] = memory(biasMd, eng, const_cast<void *>(bias));
        if (residual && !residualBySum)
            args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1] =
                memory(residualMd, eng, const_cast<void *>(residual));
        prim.execute(s, args);
        if (reorderDst)
            dstReorder.execute(s, primDst, userDst);
        s.wait();
    }

    // execute() with a Slot's memory objects.
    void executeReusing(char *scratchBase, const void *src, const void *w, const void *bias,
                        const void *residual, void *dst) const
    {
        ScratchCursor take{scratchBase};
        std::unique_ptr<Slot> slot = takeSlot();
        // The arena plan gives a node the same buffers every run: re-pointing
        // a memory object (which also checks its zero padding) only when they moved.
        auto point = [](const memory &m, const void *handle) {
            if (m.get_data_handle() != handle)
                m.set_data_handle(const_cast<void *>(handle));
        };
        // Back to the idle list however this ends (oneDNN throws on failure).
        struct Return
        {
            const Prepared &owner;
            std::unique_ptr<Slot> &slot;
            ~Return() { owner.returnSlot(std::move(slot)); }
        } giveBack{*this, slot};
        dnnl::stream &s = threadStream();
        char *scratchpadBase = scratchpadBytes ? take(scratchpadBytes) : nullptr;
        point(slot->userSrc, src);
        point(slot->userDst, dst);
        if (reorderSrc) {
            point(slot->primSrc, take(srcMd.get_size()));
            srcReorder.execute(s, slot->userSrc, slot->primSrc);
        }
        if (reorderDst)
            point(slot->primDst, take(dstMd.get_size()));
        if (residual && residualBySum && (reorderDst || residual != dst)) {
            point(slot->userResidual, residual);
            residualReorder.execute(s, slot->userResidual, slot->primDst);
        }
        if (reorderWeights) {
            point(slot->userWeights, w);
            point(slot->primWeights, take(weightsMd.get_size()));
            weightsReorder.execute(s, slot->userWeights, slot->primWeights);
        } else if (!weights) {
            point(slot->primWeights, w);
        }
        if (scratchpadBytes)
            point(slot->scratchpad, scratchpadBase);
        // Bias and residual are present or not per call (the map holds them only then).
        if (bias) {
            point(slot->bias, bias);
            slot->args[DNNL_ARG_BIAS] = slot->bias;
        } else {
            slot->args.erase(DNNL_ARG_BIAS);
        }
        const int residualArg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1;
        if (residual && !residualBySum) {
            point(slot->residual, residual);
            slot->args[residualArg] = slot->residual;
        } else {
            slot->args.erase(residualArg);
        }
        prim.execute(s, slot->args);
        if (reorderDst)
            dstReorder.execute(s, slot->primDst, slot->userDst);
        s.wait();
    }

private:
    mutable std::mutex m_slotMutex;
    mutable std::vector<std::unique_ptr<Slot>> m_idle;
};

// A problem cut into parts along its outer dimension (images, rows or
// matrices), one oneDNN primitive per part size, the parts run
// single-threaded on our pool's threads. oneDNN's own OpenMP threads would
// compete for the cores with our pool (both spin after their work), so they
// are used only when there is a single part.
struct Parted
{
    std::shared_ptr<Prepared> main, tail; // tail: the last part when it is shorter
    std::int64_t count = 1, chunk = 1;    // items, items per part
    std::int64_t srcStride = 0, weightsStride = 0, dstStride = 0; // bytes per item
    int threads = 1;

    std::int64_t parts() const { return (count + chunk - 1) / chunk; }
    std::size_t partScratch() const
    {
        return align64(std::max(main->scratchBytes(), tail ? tail->scratchBytes() : 0));
    }

    Status run(runtime::ThreadPool &pool, KernelContext *ctx, const void *src, const void *w,
               const void *bias, const void *residual, void *dst) const
    {
        const std::int64_t n = parts();
        const std::size_t each = partScratch();
        Scratch scratch;
        SB_TRY(scratch.acquire(ctx, each * static_cast<std::size_t>(n)));
        auto part = [&](std::int64_t i) {
            const Prepared &p = (tail && i == n - 1) ? *tail : *main;
            const std::int64_t first = i * chunk;
            auto at = [first](const void *base, std::int64_t stride) {
                return static_cast<const char *>(base) + first * stride;
            };
            p.execute(scratch.base ? scratch.base + each * static_cast<std::size_t>(i) : nullptr,
                      at(src, srcStride), at(w, weightsStride), bias,
                      residual ? at(residual, dstStride) : nullptr,
                      const_cast<char *>(at(dst, dstStride)));
        };
        if (n == 1) {
            omp_set_num_threads(threads);
            part(0);
            return Status::success();
        }
        std::atomic<bool> failed{false};
        pool.parallelFor(n, 1, [&](std::int64_t begin, std::int64_t end) {
            omp_set_num_threads(1);
            for (std::int64_t i = begin; i < end; ++i) {
                try {
                    part(i);
                } catch (const dnnl::error &) {
                    failed = true;
                }
            }
        });
        if (failed)
            return makeError(ErrorCode::Runtime, "oneDNN primitive failed");
        return Status::success();
    }
};

// Finishes a Prepared from its primitive descriptor's layouts.
template <typename Pd>
void finishLayouts(Prepared &p, const Pd &pd, const memory::desc &userWeightsMd,
                   const void *constantWeights)
{
    dnnl::engine &eng = engine();
    p.srcMd = pd.src_desc();
    p.dstMd = pd.dst_desc();
    p.weightsMd = pd.weights_desc();
    p.userWeightsMd = userWeightsMd;
    p.scratchpadDesc = pd.scratchpad_desc();
    p.scratchpadBytes = p.scratchpadDesc.get_size();
    p.reorderSrc = p.srcMd != p.userSrcMd;
    p.reorderDst = p.dstMd != p.userDstMd;
    if (p.reorderSrc)
        p.srcReorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.userSrcMd, eng, p.srcMd));
    if (p.reorderDst)
        p.dstReorder = dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.dstMd, eng, p.userDstMd));
    if (p.residualBySum) // into the (blocked or plain) output the sum post-op adds to
        p.residualReorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(eng, p.userDstMd, eng, p.dstMd));
    if (constantWeights) {
        memory user(userWeightsMd, eng, const_cast<void *>(constantWeights));
        p.weights = memory(p.weightsMd, eng);
        dnnl::stream s(eng);
        dnnl::reorder(user, p.weights).execute(s, user, p.weights); // own copy either way
        s.wait();
    } else if (p.weightsMd != userWeightsMd) {
        p.reorderWeights = true;
        p.weightsReorder =
            dnnl::reorder(dnnl::reorder::primitive_desc(eng, userWeightsMd, eng, p.weightsMd));
    }
}

memory::dims dims(std::initializer_list<std::int64_t> v)
{
    return memory::dims(v.begin(), v.end());
}

} // namespace

bool oneDnnAvailable()
{
    return true;
}

std::string oneDnnDescription()
{
    const dnnl::version_t *v = dnnl::version();
    (void)engine();
    const char *isa = "unknown";
    switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2:
        isa = "avx2";
        break;
    case dnnl::cpu_isa::avx2_vnni:
        isa = "avx2_vnni";
        break;
    case dnnl::cpu_isa::avx512_core:
        isa = "avx512_core";
        break;
    case dnnl::cpu_isa::avx512_core_vnni:
        isa = "avx512_core_vnni";
        break;
    case dnnl::cpu_isa::avx512_core_bf16:
        isa = "avx512_core_bf16";
        break;
    case dnnl::cpu_isa::avx512_core_amx:
        isa = "avx512_core_amx";
        break;
    case dnnl::cpu_isa::sse41:
        isa = "sse41";
        break;
    default:
        break;
    }
    return "oneDNN " + std::to_string(v->major) + "." + std::to_string(v->minor) + "." +
           std::to_string(v->patch) + " (" + isa + ")";
}

namespace {

// Cuts `count` items into parts for `threads` (one part when fewer items),
// builds their primitives with make(items) (null: not covered) and shares
// the main part's reordered weights with the tail's when the layouts agree.
std::shared_ptr<Parted>
makeParted(std::int64_t count, int threads,
           const std::function<std::shared_ptr<Prepared>(std::int64_t)> &make)
{
    auto parted = std::make_shared<Parted>();
    parted->count = count;
    parted->threads = threads;
    parted->chunk = count >= threads ? (count + threads - 1) / threads : count;
    // oneDNN's kernels take their thread count from the building thread's
    // OpenMP setting when they are built: build them for the threads each
    // part runs with (run() sets the same), or a part meant for one thread
    // would fork an OpenMP team whose idle threads then spin against ours.
    omp_set_num_threads(parted->parts() == 1 ? threads : 1);
    parted->main = make(parted->chunk);
    if (!parted->main)
        return nullptr;
    const std::int64_t rest = count - (parted->parts() - 1) * parted->chunk;
    if (rest != parted->chunk) {
        parted->tail = make(rest);
        if (!parted->tail)
            return nullptr;
    }
    return parted;
}

// What Parted::run requests through Scratch::acquire.
std::uint64_t scratchBytes(const Parted &p)
{
    const std::uint64_t bytes = p.partScratch() * static_cast<std::uint64_t>(p.parts());
    return bytes == 0 ? 0 : bytes + 64;
}

std::uint64_t weightsBytes(const Parted &p)
{
    std::uint64_t bytes = p.main->weights ? p.main->weightsMd.get_size() : 0;
    if (p.tail && p.tail->weights)
        bytes += p.tail->weightsMd.get_size();
    return bytes;
}

int partThreads(KernelContext &ctx, double macs, double macsPerFloatMac)
{
    return macs < g_serialMacs.load(std::memory_order_relaxed) * macsPerFloatMac
               ? 1
               : ctx.pool().size();
}

double convMacs(const ConvProblem &p)
{
    return static_cast<double>(p.n) * static_cast<double>(p.outChannels) *
           static_cast<double>(p.outH * p.outW) *
           static_cast<double>(p.inChannels / std::max<std::int64_t>(p.group, 1)) *
           static_cast<double>(p.kernelH * p.kernelW);
}

} // namespace

Status runConvolution(KernelContext &ctx, const ConvProblem &p, const OursFn &ours,
                      const char *oursName)
{
    const std::string key = std::to_string(p.n) + "x" + std::to_string(p.inH) + "x" +
                            std::to_string(p.inW) + (p.residual ? "r" : "") +
                            (p.xChannelsLast ? "i" : "") + (p.yChannelsLast ? "o" : "");
    const int threads = partThreads(ctx, convMacs(p), 1.0);
    auto addOneDnn = [&](std::vector<Candidate<ConvProblem>> &out,
                         std::vector<std::string> &names) {
        const memory::dims w = p.group == 1
                                   ? dims({p.outChannels, p.inChannels, p.kernelH, p.kernelW})
                                   : dims({p.group, p.outChannels / p.group, p.inChannels / p.group,
                                           p.kernelH, p.kernelW});
        const memory::desc userWeights(w, Dt::f32, p.group == 1 ? Tag::oihw : Tag::goihw);
        // Plain activations (NCHW, or NHWC as the node stores them), then
        // blocked ones (reordered in and out).
        for (int blocked = 0; blocked < 2; ++blocked) {
            std::string impl;
            bool sameAsPlain = false;
            auto make = [&](std::int64_t images) -> std::shared_ptr<Prepared> {
                const memory::dims src = dims({images, p.inChannels, p.inH, p.inW});
                const memory::dims dst = dims({images, p.outChannels, p.outH, p.outW});
                const memory::desc userSrc(src, Dt::f32, p.xChannelsLast ? Tag::nhwc : Tag::nchw);
                const memory::desc userDst(dst, Dt::f32, p.yChannelsLast ? Tag::nhwc : Tag::nchw);
                auto prepared = std::make_shared<Prepared>();
                prepared->userSrcMd = userSrc;
                prepared->userDstMd = userDst;
                prepared->biasMd = memory::desc(dims({p.outChannels}), Dt::f32, Tag::x);
                prepared->residualMd = userDst;
                const memory::desc srcMd = blocked ? memory::desc(src, Dt::f32, Tag::any) : userSrc;
                const memory::desc dstMd = blocked ? memory::desc(dst, Dt::f32, Tag::any) : userDst;
                const memory::desc weightsMd(w, Dt::f32, Tag::any);
                const memory::dims strides = dims({p.strideH, p.strideW});
                const memory::dims dilations = dims({p.dilationH - 1, p.dilationW - 1});
                const memory::dims padL = dims({p.padTop, p.padLeft});
                const memory::dims padR = dims({p.padBottom, p.padRight});
                const auto kind = dnnl::prop_kind::forward_inference;
                const auto algo = dnnl::algorithm::convolution_direct;
                const dnnl::convolution_forward::desc d =
                    p.bias ? dnnl::convolution_forward::desc(kind, algo, srcMd, weightsMd,
                                                             prepared->biasMd, dstMd, strides,
                                                             dilations, padL, padR)
                           : dnnl::convolution_forward::desc(kind, algo, srcMd, weightsMd, dstMd,
                                                             strides, dilations, padL, padR);
                dnnl::primitive_attr attr;
                attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
                dnnl::post_ops ops;
                // NHWC: oneDNN 2.6's brgemm convolutions take a sum post-op
                // but not a binary add (with one it falls back to its older
                // jit kernels: 2.1 against 1.9 ms for ResNet-18's layer 4
                // residual convs), so the residual is copied into the output first.
                prepared->residualBySum = p.residual && (blocked || p.yChannelsLast);
                if (prepared->residualBySum)
                    ops.append_sum(1.0f);
                else if (p.residual)
                    ops.append_binary(dnnl::algorithm::binary_add, userDst);
                appendActivation(ops, p.act);
                attr.set_post_ops(ops);
                dnnl::convolution_forward::primitive_desc pd(d, attr, engine());
                if (blocked && pd.src_desc() == userSrc && pd.dst_desc() == userDst)
                    sameAsPlain = true;
                impl = pd.impl_info_str();
                if (sameAsPlain || impl.find("ref") != std::string::npos)
                    return nullptr; // a duplicate, or oneDNN's reference loops (never win)
                finishLayouts(*prepared, pd, userWeights, p.weightsConstant ? p.w : nullptr);
                prepared->prim = dnnl::convolution_forward(pd);
                return prepared;
            };
            try {
                auto parted = makeParted(p.n, threads, make);
                if (!parted)
                    continue;
                parted->srcStride = p.inChannels * p.inH * p.inW * 4;
                parted->dstStride = p.outChannels * p.outH * p.outW * 4;
                out.push_back(
                    {nameOf(names, impl,
                            blocked                              ? "blocked"
                            : p.xChannelsLast && p.yChannelsLast ? "nhwc"
                            : p.xChannelsLast || p.yChannelsLast ? "nchw/nhwc"
                                                                 : "nchw"),
                     [parted](runtime::ThreadPool &pool, KernelContext *c, const ConvProblem &q) {
                         return parted->run(pool, c, q.x, q.w, q.bias, q.residual, q.y);
                     },
                     weightsBytes(*parted), scratchBytes(*parted)});
            } catch (const dnnl::error &) {
                // Not covered by oneDNN for this case: the other candidates remain.
            }
        }
    };
    return runChosen<ConvProblem>(ctx, key, p, ours, oursName, addOneDnn);
}

Status runMatMul(KernelContext &ctx, const MatMulProblem &p, const std::function<void()> &ours,
                 const char *oursName)
{
    // One 2-D product cut by rows when B is shared and A contiguous, else
    // the batch of products cut by matrices.
    const bool flat = p.bBatchStride == 0 && (p.batch == 1 || p.aBatchStride == p.m * p.k);
    const std::string key = std::to_string(p.batch) + "x" + std::to_string(p.m) + "x" +
                            std::to_string(p.n) + "x" + std::to_string(p.k) + "s" +
                            std::to_string(p.aBatchStride) + "," + std::to_string(p.bBatchStride);
    const int threads = partThreads(ctx,
                                    static_cast<double>(p.batch) * static_cast<double>(p.m * p.n) *
                                        static_cast<double>(p.k),
                                    1.0);
    auto addOneDnn = [&](std::vector<Candidate<MatMulProblem>> &out,
                         std::vector<std::string> &names) {
        std::string impl;
        auto make = [&](std::int64_t items) -> std::shared_ptr<Prepared> {
            auto prepared = std::make_shared<Prepared>();
            memory::desc src, weightsUser, dst;
            if (flat) {
                src = memory::desc(dims({items, p.k}), Dt::f32, Tag::ab);
                weightsUser = memory::desc(dims({p.k, p.n}), Dt::f32, Tag::ab);
                dst = memory::desc(dims({items, p.n}), Dt::f32, Tag::ab);
                prepared->biasMd = memory::desc(dims({1, p.n}), Dt::f32, Tag::ab);
            } else {
                // A batch stride of 0 broadcasts that operand (a batch dim of 1).
                src = memory::desc(dims({p.aBatchStride ? items : 1, p.m, p.k}), Dt::f32,
                                   dims({p.aBatchStride ? p.aBatchStride : p.m * p.k, p.k, 1}));
                weightsUser =
                    memory::desc(dims({p.bBatchStride ? items : 1, p.k, p.n}), Dt::f32,
                                 dims({p.bBatchStride ? p.bBatchStride : p.k * p.n, p.n, 1}));
                dst = memory::desc(dims({items, p.m, p.n}), Dt::f32, Tag::abc);
                prepared->biasMd = memory::desc(dims({1, 1, p.n}), Dt::f32, Tag::abc);
            }
            prepared->userSrcMd = src;
            prepared->userDstMd = dst;
            const bool constant = p.bConstant && flat;
            const memory::desc weightsMd =
                constant ? memory::desc(weightsUser.dims(), Dt::f32, Tag::any) : weightsUser;
            dnnl::primitive_attr attr;
            attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
            dnnl::post_ops ops;
            appendActivation(ops, p.act);
            attr.set_post_ops(ops);
            dnnl::matmul::desc d = p.bias
                                       ? dnnl::matmul::desc(src, weightsMd, prepared->biasMd, dst)
                                       : dnnl::matmul::desc(src, weightsMd, dst);
            dnnl::matmul::primitive_desc pd(d, attr, engine());
            impl = pd.impl_info_str();
            if (impl.find("ref") != std::string::npos)
                return nullptr;
            finishLayouts(*prepared, pd, weightsUser, constant ? p.b : nullptr);
            prepared->prim = dnnl::matmul(pd);
            return prepared;
        };
        try {
            // Whole rows per part (flat), whole matrices otherwise.
            auto parted = makeParted(flat ? p.batch * p.m : p.batch, threads, make);
            if (!parted)
                return;
            parted->srcStride = (flat ? p.k : p.aBatchStride) * 4;
            parted->weightsStride = (flat ? 0 : p.bBatchStride) * 4;
            parted->dstStride = (flat ? p.n : p.m * p.n) * 4;
            out.push_back(
                {nameOf(names, impl, ""),
                 [parted](runtime::ThreadPool &pool, KernelContext *c, const MatMulProblem &q) {
                     return parted->run(pool, c, q.a, q.b, q.bias, nullptr, q.c);
                 },
                 weightsBytes(*parted), scratchBytes(*parted)});
        } catch (const dnnl::error &) {
            // Not covered: ours remains.
        }
    };
    return runChosen<MatMulProblem>(
        ctx, key, p,
        [&ours](KernelContext *) {
            ours();
            return Status::success();
        },
        oursName, addOneDnn);
}

namespace {

// Int8 primitives of one node, by input-shape key (null: oneDNN does not
// cover that shape, the reference runs); kept in KernelState::data.
struct Int8Choices
{
    std::map<std::string, std::shared_ptr<const Parted>> byKey;
    std::vector<std::string> names;
    std::map<std::string, const char *> nameByKey;
    // What runPreparedInt8 needs to run a prepared primitive again without
    // the node's attributes, geometry or scales: by input shape and type.
    struct Ready
    {
        Shape inputShape;
        ElementType inputType = ElementType::Undefined;
        std::shared_ptr<const Parted> parted;
        const char *name = nullptr;
        Shape outputShape;
        ElementType outputType = ElementType::Undefined;
    };
    std::vector<Ready> ready;
};

// oneDNN's u8s8 int8 kernels are exact only with VNNI (vpdpbusd sums into
// int32); without it they multiply with vpmaddubsw, whose int16 pair sums
// saturate for full-range weights, and its s8s8 path halves the weights.
// Without VNNI the reference kernels run (exact, slow).
bool int8Exact()
{
    (void)engine(); // the ISA cap applies first
    switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::avx2_vnni:
    case dnnl::cpu_isa::avx512_core_vnni:
    case dnnl::cpu_isa::avx512_core_bf16:
    case dnnl::cpu_isa::avx512_core_amx:
        return true;
    default:
        return false;
    }
}

// Runs a primitive on input 0 (and the constant int32 bias at input 8,
// when present) into a new output 0.
Status executeInt8(const Parted &parted, KernelContext &ctx, ElementType outputType,
                   const Shape &outputShape)
{
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, outputType, outputShape));
    const void *bias = ctx.hasInput(8) ? ctx.input(8).data() : nullptr;
    return parted.run(ctx.pool(), &ctx, ctx.input(0).data(), nullptr, bias, nullptr, y->data());
}

// `ready`: the output that execute allocates (type and shape), recorded for
// runPreparedInt8.
Status runInt8(KernelContext &ctx, const std::string &key,
               const std::function<std::shared_ptr<Parted>(std::string &impl)> &make,
               ElementType outputType, const Shape &outputShape,
               const std::function<Status()> &reference)
{
    runtime::KernelState *state = ctx.state();
    static const bool exact = int8Exact();
    if (!state || kernelChoice() == KernelChoice::Ours || !exact)
        return reference();
    std::shared_ptr<const Parted> parted;
    const char *name = nullptr;
    {
        std::lock_guard lock(state->mutex);
        if (!state->data)
            state->data = std::make_shared<Int8Choices>();
        auto &choices = *static_cast<Int8Choices *>(state->data.get());
        auto it = choices.byKey.find(key);
        if (it == choices.byKey.end()) {
            std::shared_ptr<Parted> fresh;
            std::string impl;
            try {
                fresh = make(impl);
            } catch (const dnnl::error &) {
                fresh = nullptr; // not covered: the reference runs
            }
            if (fresh) {
                state->persistentBytes += weightsBytes(*fresh);
                // "(2 parts)": cut across the pool's threads; none: whole on
                // the calling thread (a small problem).
                const std::int64_t parts = fresh->parts();
                choices.names.push_back(
                    "oneDNN " + impl + " int8" +
                    (parts > 1 ? " (" + std::to_string(parts) + " parts)" : std::string()));
                choices.nameByKey[key] = choices.names.back().c_str();
                const Tensor &x = ctx.input(0);
                choices.ready.push_back({x.shape(), x.type(), fresh, choices.names.back().c_str(),
                                         outputShape, outputType});
            }
            it = choices.byKey.emplace(key, std::move(fresh)).first;
        }
        parted = it->second;
        if (parted)
            name = choices.nameByKey[key];
    }
    if (!parted)
        return reference();
    SB_TRY(executeInt8(*parted, ctx, outputType, outputShape));
    ctx.noteKernel(name);
    return Status::success();
}

} // namespace

std::optional<Status> runPreparedInt8(KernelContext &ctx)
{
    runtime::KernelState *state = ctx.state();
    if (!state || !ctx.hasInput(0) || kernelChoice() == KernelChoice::Ours)
        return std::nullopt;
    const Tensor &x = ctx.input(0);
    Int8Choices::Ready ready;
    {
        std::lock_guard lock(state->mutex);
        if (!state->data)
            return std::nullopt;
        const auto &choices = *static_cast<const Int8Choices *>(state->data.get());
        auto it = std::find_if(choices.ready.begin(), choices.ready.end(), [&](const auto &r) {
            return r.inputType == x.type() && r.inputShape == x.shape();
        });
        if (it == choices.ready.end())
            return std::nullopt;
        ready = *it;
    }
    SB_TRY(executeInt8(*ready.parted, ctx, ready.outputType, ready.outputShape));
    ctx.noteKernel(ready.name);
    return Status::success();
}

namespace {

void setInt8Attributes(dnnl::primitive_attr &attr, const std::vector<float> &scales,
                       std::int32_t srcZeroPoint, std::int32_t dstZeroPoint, bool relu)
{
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    attr.set_output_scales(scales.size() > 1 ? 2 : 0, scales);
    if (srcZeroPoint != 0)
        attr.set_zero_points(DNNL_ARG_SRC, 0, {srcZeroPoint});
    if (dstZeroPoint != 0)
        attr.set_zero_points(DNNL_ARG_DST, 0, {dstZeroPoint});
    dnnl::post_ops ops;
    if (relu)
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
    attr.set_post_ops(ops);
}

} // namespace

Status runQConvolution(KernelContext &ctx, const QConvProblem &q,
                       const std::function<Status()> &reference)
{
    const ConvProblem &p = q.shape;
    const std::string key = std::to_string(p.n) + "x" + std::to_string(p.inH) + "x" +
                            std::to_string(p.inW) + (q.xChannelsLast ? "i" : "") +
                            (q.yChannelsLast ? "o" : "");
    const int threads = partThreads(ctx, convMacs(p), kInt8MacsPerFloatMac);
    auto make = [&](std::string &impl) -> std::shared_ptr<Parted> {
        const Dt xType = q.xSigned ? Dt::s8 : Dt::u8;
        const Dt yType = q.ySigned ? Dt::s8 : Dt::u8;
        const memory::dims w = p.group == 1
                                   ? dims({p.outChannels, p.inChannels, p.kernelH, p.kernelW})
                                   : dims({p.group, p.outChannels / p.group, p.inChannels / p.group,
                                           p.kernelH, p.kernelW});
        const memory::desc userWeights(w, Dt::s8, p.group == 1 ? Tag::oihw : Tag::goihw);
        std::vector<float> scales = q.outputScales;
        if (scales.size() == 1 && p.outChannels > 1)
            scales.assign(static_cast<std::size_t>(p.outChannels), scales[0]);
        auto prepare = [&](std::int64_t images) -> std::shared_ptr<Prepared> {
            const memory::dims src = dims({images, p.inChannels, p.inH, p.inW});
            const memory::dims dst = dims({images, p.outChannels, p.outH, p.outW});
            auto prepared = std::make_shared<Prepared>();
            prepared->userSrcMd = memory::desc(src, xType, q.xChannelsLast ? Tag::nhwc : Tag::nchw);
            prepared->userDstMd = memory::desc(dst, yType, q.yChannelsLast ? Tag::nhwc : Tag::nchw);
            prepared->biasMd = memory::desc(dims({p.outChannels}), Dt::s32, Tag::x);
            // NHWC activations (reordered in and out): with a source zero point
            // oneDNN's blocked choice for few channels is tens of times slower.
            const memory::desc srcMd(src, xType, Tag::nhwc), dstMd(dst, yType, Tag::nhwc);
            const memory::desc weightsMd(w, Dt::s8, Tag::any);
            const auto kind = dnnl::prop_kind::forward_inference;
            const auto algo = dnnl::algorithm::convolution_direct;
            const memory::dims strides = dims({p.strideH, p.strideW});
            const memory::dims dilations = dims({p.dilationH - 1, p.dilationW - 1});
            const memory::dims padL = dims({p.padTop, p.padLeft});
            const memory::dims padR = dims({p.padBottom, p.padRight});
            const dnnl::convolution_forward::desc d =
                q.bias ? dnnl::convolution_forward::desc(kind, algo, srcMd, weightsMd,
                                                         prepared->biasMd, dstMd, strides,
                                                         dilations, padL, padR)
                       : dnnl::convolution_forward::desc(kind, algo, srcMd, weightsMd, dstMd,
                                                         strides, dilations, padL, padR);
            dnnl::primitive_attr attr;
            setInt8Attributes(attr, scales, q.xZeroPoint, q.yZeroPoint, q.relu);
            dnnl::convolution_forward::primitive_desc pd(d, attr, engine());
            impl = pd.impl_info_str();
            if (impl.find("ref") != std::string::npos)
                return nullptr; // oneDNN's reference loops: ours is the same, and checked
            finishLayouts(*prepared, pd, userWeights, q.w);
            prepared->prim = dnnl::convolution_forward(pd);
            prepared->reuseMemory = true;
            return prepared;
        };
        auto parted = makeParted(p.n, threads, prepare);
        if (parted) {
            parted->srcStride = p.inChannels * p.inH * p.inW;
            parted->dstStride = p.outChannels * p.outH * p.outW;
        }
        return parted;
    };
    return runInt8(ctx, key, make, q.ySigned ? ElementType::Int8 : ElementType::UInt8,
                   {p.n, p.outChannels, p.outH, p.outW}, reference);
}

Status runQMatMul(KernelContext &ctx, const QMatMulProblem &q,
                  const std::function<Status()> &reference)
{
    const std::string key = std::to_string(q.m);
    const int threads = partThreads(
        ctx, static_cast<double>(q.m) * static_cast<double>(q.n) * static_cast<double>(q.k),
        kInt8MacsPerFloatMac);
    auto make = [&](std::string &impl) -> std::shared_ptr<Parted> {
        const Dt aType = q.aSigned ? Dt::s8 : Dt::u8;
        const Dt cType = q.cSigned ? Dt::s8 : Dt::u8;
        const memory::desc userWeights(dims({q.k, q.n}), Dt::s8, q.transB ? Tag::ba : Tag::ab);
        std::vector<float> scales = q.outputScales;
        if (scales.size() == 1 && q.n > 1)
            scales.assign(static_cast<std::size_t>(q.n), scales[0]);
        auto prepare = [&](std::int64_t rows) -> std::shared_ptr<Prepared> {
            auto prepared = std::make_shared<Prepared>();
            prepared->userSrcMd = memory::desc(dims({rows, q.k}), aType, Tag::ab);
            prepared->userDstMd = memory::desc(dims({rows, q.n}), cType, Tag::ab);
            prepared->biasMd = memory::desc(dims({1, q.n}), Dt::s32, Tag::ab);
            const memory::desc weightsMd(dims({q.k, q.n}), Dt::s8, Tag::any);
            dnnl::primitive_attr attr;
            setInt8Attributes(attr, scales, q.aZeroPoint, q.cZeroPoint, q.relu);
            dnnl::matmul::desc d =
                q.bias ? dnnl::matmul::desc(prepared->userSrcMd, weightsMd, prepared->biasMd,
                                            prepared->userDstMd)
                       : dnnl::matmul::desc(prepared->userSrcMd, weightsMd, prepared->userDstMd);
            dnnl::matmul::primitive_desc pd(d, attr, engine());
            impl = pd.impl_info_str();
            if (impl.find("ref") != std::string::npos)
                return nullptr;
            finishLayouts(*prepared, pd, userWeights, q.b);
            prepared->prim = dnnl::matmul(pd);
            prepared->reuseMemory = true;
            return prepared;
        };
        auto parted = makeParted(q.m, threads, prepare);
        if (parted) {
            parted->srcStride = q.k;
            parted->dstStride = q.n;
        }
        return parted;
    };
    return runInt8(ctx, key, make, q.cSigned ? ElementType::Int8 : ElementType::UInt8, q.cShape,
                   reference);
}

#else // !SHARDBENCH_HAVE_ONEDNN

bool oneDnnAvailable()
{
    return false;
}

std::string oneDnnDescription()
{
    return "oneDNN not built in";
}

Status runConvolution(KernelContext &ctx, const ConvProblem &, const OursFn &ours,
                      const char *oursName)
{
    SB_TRY(ours(&ctx));
    ctx.noteKernel(oursName);
    return Status::success();
}

Status runMatMul(KernelContext &ctx, const MatMulProblem &, const std::function<void()> &ours,
                 const char *oursName)
{
    ours();
    ctx.noteKernel(oursName);
    return Status::success();
}

Status runQConvolution(KernelContext &, const QConvProblem &,
                       const std::function<Status()> &reference)
{
    return reference();
}

Status runQMatMul(KernelContext &, const QMatMulProblem &, const std::function<Status()> &reference)
{
    return reference();
}

std::optional<Status> runPreparedInt8(KernelContext &)
{
    return std::nullopt;
}

#endif

} // namespace sb::kernels
