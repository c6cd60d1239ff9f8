// Fast CPU kernels where the time goes: MatMul/Gemm through OpenBLAS with a
// bias/activation epilogue, Conv as Winograd F(2x2, 3x3) (winograd.h),
// panelled im2col + GEMM (conv_gemm.h) or a direct depthwise kernel
// (window2d.h), max pool (window2d.h), average pool,
// BatchNormalization, Softmax, LayerNormalization, GELU and Relu, parallel
// over the device's thread pool. Cases they do not cover fall back to the
// reference kernels.
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/fast/blas.h"
#include "kernels/cpu/fast/conv_gemm.h"
#include "kernels/cpu/fast/epilogue.h"
#include "kernels/cpu/fast/fast.h"
#include "kernels/cpu/fast/pointwise.h"
#include "kernels/cpu/fast/scratch.h"
#include "kernels/cpu/fast/vmath.h"
#include "kernels/cpu/fast/window2d.h"
#include "kernels/cpu/fast/winograd.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_common.h"
#include "kernels/cpu/onednn/onednn.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <vector>

namespace sb::kernels {

namespace {

Status oursMatMul(KernelContext &ctx, const MatMulShape &ms, const float *pa, const float *pb,
                  const float *bias, const Activation &act, float *po);

Status fastMatMul(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    if (a.type() != ElementType::Float32 || b.type() != ElementType::Float32)
        return referenceMatMul(ctx);
    SB_ASSIGN_OR_RETURN(MatMulShape ms, matmulShape(ctx, a.shape(), b.shape()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, ms.outShape));
    const bool fused = ctx.node().domain == "sb";
    const Activation act = fused ? activationOf(ctx.node()) : Activation{};
    const float *bias = nullptr;
    if (fused && ctx.hasInput(2)) {
        const Tensor &bt = ctx.input(2);
        if (bt.type() != ElementType::Float32 || bt.elementCount() != ms.n)
            return ctx.invalid("bias must be float32 with N values");
        bias = bt.as<float>();
    }
    float *po = out->as<float>();
    const float *pa = a.as<float>();
    const float *pb = b.as<float>();
    // oneDNN's matmul or ours (below), whichever is faster for this node
    // (onednn.h): uniform batch strides (or one matrix) only.
    MatMulProblem problem;
    problem.batch = ms.batch;
    problem.m = ms.m;
    problem.n = ms.n;
    problem.k = ms.k;
    problem.aBatchStride = ms.batch > 1 ? ms.aOffset(1) : 0;
    problem.bBatchStride = ms.batch > 1 ? ms.bOffset(1) : 0;
    bool uniform = true;
    for (std::int64_t i = 0; i < ms.batch; ++i)
        uniform = uniform && ms.aOffset(i) == i * problem.aBatchStride &&
                  ms.bOffset(i) == i * problem.bBatchStride;
    problem.a = pa;
    problem.b = pb;
    problem.bias = bias;
    problem.c = po;
    problem.act = act;
    problem.bConstant = ctx.inputIsConstant(1);
    Status status = Status::success();
    auto ours = [&] { status = oursMatMul(ctx, ms, pa, pb, bias, act, po); };
    static const char *oursName = oursKernelName("openblas-sgemm");
    if (!uniform || ms.m * ms.n * ms.k == 0) {
        ours();
        ctx.noteKernel(oursName);
        return status;
    }
    SB_TRY(runMatMul(ctx, problem, ours, oursName));
    return status;
}

Status oursMatMul(KernelContext &ctx, const MatMulShape &ms, const float *pa, const float *pb,
                  const float *bias, const Activation &act, float *po)
{
    auto epilogueFor = [&](float *c) {
        return [=, &ms](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
            if (!bias && act.kind == Activation::None)
                return;
            for (std::int64_t r = r0; r < r1; ++r)
                addBiasActivate(c + r * ms.n + c0, c1 - c0, bias ? bias + c0 : nullptr, act);
        };
    };
    // B shared across batches and A contiguous: one big GEMM with M = batch * m.
    bool bShared = true;
    for (std::int64_t i = 0; i < ms.batch; ++i)
        bShared = bShared && ms.bOffset(i) == 0 && ms.aOffset(i) == i * ms.m * ms.k;
    if (bShared) {
        std::int64_t rows = ms.batch * ms.m;
        parallelSgemm(ctx.pool(), false, false, rows, ms.n, ms.k, 1.0f, pa, ms.k, pb, ms.n, 0.0f,
                      po, ms.n, epilogueFor(po));
        return Status::success();
    }
    double perBatch =
        static_cast<double>(ms.m) * static_cast<double>(ms.n) * static_cast<double>(ms.k);
    if (ms.batch >= ctx.pool().size() && perBatch < 4.0e6) {
        ctx.pool().parallelFor(ms.batch, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
                float *c = po + i * ms.m * ms.n;
                sgemm(false, false, ms.m, ms.n, ms.k, 1.0f, pa + ms.aOffset(i), ms.k,
                      pb + ms.bOffset(i), ms.n, 0.0f, c, ms.n);
                epilogueFor(c)(0, ms.m, 0, ms.n);
            }
        });
        return Status::success();
    }
    for (std::int64_t i = 0; i < ms.batch; ++i) {
        float *c = po + i * ms.m * ms.n;
        parallelSgemm(ctx.pool(), false, false, ms.m, ms.n, ms.k, 1.0f, pa + ms.aOffset(i), ms.k,
                      pb + ms.bOffset(i), ms.n, 0.0f, c, ms.n, epilogueFor(c));
    }
    return Status::success();
}

Status fastGemm(KernelContext &ctx)
{
    if (ctx.input(0).type() != ElementType::Float32)
        return referenceGemm(ctx);
    SB_ASSIGN_OR_RETURN(GemmArgs g, gemmArgs(ctx));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, {g.m, g.n}));
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    float *po = out->as<float>();
    float beta = 0.0f;
    if (ctx.hasInput(2) && g.beta != 0.0f) {
        // Pre-fill C (broadcast) so the GEMM accumulates onto it.
        const Tensor &c = ctx.input(2);
        auto strides = broadcastStrides(c.shape(), {g.m, g.n});
        const float *pc = c.as<float>();
        for (std::int64_t i = 0; i < g.m; ++i)
            for (std::int64_t j = 0; j < g.n; ++j)
                po[i * g.n + j] = pc[i * strides[0] + j * strides[1]];
        beta = g.beta;
    }
    const Activation act = ctx.node().domain == "sb" ? activationOf(ctx.node()) : Activation{};
    GemmEpilogue epilogue;
    if (act.kind != Activation::None)
        epilogue = [&](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
            for (std::int64_t r = r0; r < r1; ++r)
                activateInPlace(po + r * g.n + c0, c1 - c0, act);
        };
    parallelSgemm(ctx.pool(), g.transA, g.transB, g.m, g.n, g.k, g.alpha, a.as<float>(), a.dim(1),
                  b.as<float>(), b.dim(1), beta, po, g.n, epilogue);
    static const char *kernelName = oursKernelName("openblas-sgemm");
    ctx.noteKernel(kernelName);
    return Status::success();
}

// The 2-D window of a conv or pool geometry (1-D already lifted to 2-D).
template <typename Geometry> Window2dShape windowShape(const Geometry &g, std::int64_t channels)
{
    Window2dShape shape;
    shape.batch = g.n;
    shape.channels = channels;
    shape.inH = g.inSpatial[0];
    shape.inW = g.inSpatial[1];
    shape.outH = g.outSpatial[0];
    shape.outW = g.outSpatial[1];
    shape.kernelH = g.kernel[0];
    shape.kernelW = g.kernel[1];
    shape.strideH = g.strides[0];
    shape.strideW = g.strides[1];
    shape.dilationH = g.dilations[0];
    shape.dilationW = g.dilations[1];
    shape.padTop = g.padBegin[0];
    shape.padLeft = g.padBegin[1];
    return shape;
}

Status fastConv(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 || (x.rank() != 4 && x.rank() != 3))
        return referenceConv(ctx);
    SB_ASSIGN_OR_RETURN(ConvGeometry g, convGeometry(ctx));
    // Treat 1-D as 2-D with height 1.
    if (g.inSpatial.size() == 1) {
        g.inSpatial.insert(g.inSpatial.begin(), 1);
        g.outSpatial.insert(g.outSpatial.begin(), 1);
        g.kernel.insert(g.kernel.begin(), 1);
        g.strides.insert(g.strides.begin(), 1);
        g.dilations.insert(g.dilations.begin(), 1);
        g.padBegin.insert(g.padBegin.begin(), 0);
        g.padEnd.insert(g.padEnd.begin(), 0);
    }
    Shape outShape = {g.n, g.outChannels};
    for (std::size_t d = x.rank() == 3 ? 1 : 0; d < g.outSpatial.size(); ++d)
        outShape.push_back(g.outSpatial[d]);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, outShape));
    const Activation act = ctx.node().domain == "sb" ? activationOf(ctx.node()) : Activation{};
    const float *px = x.as<float>();
    const float *pw = ctx.input(1).as<float>();
    const float *pb = ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr;
    float *po = out->as<float>();
    const float *residual = nullptr; // sb.FusedConv's 4th input, added before the activation
    if (ctx.node().domain == "sb" && ctx.hasInput(3)) {
        const Tensor &r = ctx.input(3);
        if (r.type() != ElementType::Float32 || r.shape() != outShape)
            return ctx.invalid("residual input of shape " + runtime::shapeToString(r.shape()) +
                               " does not match the output " + runtime::shapeToString(outShape));
        residual = r.as<float>();
    }
    const std::int64_t cinG = g.inChannels / g.group, coutG = g.outChannels / g.group;
    ConvGemmShape shape;
    shape.group = g.group;
    shape.inChannels = g.inChannels;
    shape.outChannels = g.outChannels;
    shape.window = windowShape(g, g.inChannels);
    static const char *winogradName = oursKernelName("winograd-f2x2", CpuIsa::Avx2);
    static const char *im2colName = oursKernelName("im2col+openblas");
    static const char *im2colSmallKName = oursKernelName("im2col+pointwise", CpuIsa::Avx512);
    const bool depthwise = cinG == 1 && coutG == 1;
    const bool winograd = !depthwise && winogradApplies(shape);
    const Window2dShape depthwiseShape = windowShape(g, g.outChannels);
    auto ours = [&](KernelContext *scratchFrom) -> Status {
        // With a residual, the activation runs after adding it.
        const Activation convAct = residual ? Activation{} : act;
        runtime::ThreadPool &pool = ctx.pool();
        KernelScratch scratch;
        if (depthwise) {
            SB_TRY(scratch.acquire(scratchFrom,
                                   depthwiseConv2dScratchFloats(depthwiseShape, pool.size())));
            depthwiseConv2d(pool, depthwiseShape, px, pw, pb, po, convAct, scratch.data());
        } else if (winograd) {
            SB_TRY(scratch.acquire(scratchFrom, convWinograd3x3ScratchFloats(shape, pool.size())));
            convWinograd3x3(pool, shape, px, pw, pb, po, convAct, scratch.data());
        } else {
            SB_TRY(scratch.acquire(scratchFrom, convIm2colGemmScratchFloats(shape, pool.size())));
            convIm2colGemm(pool, shape, px, pw, pb, po, convAct, scratch.data());
        }
        if (residual)
            addResidualActivate(pool, po, residual, out->elementCount(), act);
        return Status::success();
    };
    // oneDNN's convolution or ours, whichever is faster for this node (onednn.h).
    ConvProblem problem = convProblemOf(g);
    problem.x = px;
    problem.w = pw;
    problem.bias = pb;
    problem.y = po;
    problem.residual = residual;
    problem.act = act;
    problem.weightsConstant = ctx.inputIsConstant(1);
    problem.xChannelsLast = inputChannelsLast(ctx.node(), 0);
    problem.yChannelsLast = outputChannelsLast(ctx.node());
    if (problem.xChannelsLast || problem.yChannelsLast) {
        // Channels-last operands (the fusion pass stores them so for
        // oneDNN, which reads and writes them in place): ours runs on NCHW
        // copies, made and converted back here.
        if (x.rank() != 4 ||
            (residual && !problem.yChannelsLast && inputChannelsLast(ctx.node(), 3)))
            return ctx.invalid("channels-last operands of a conv that is not 2-D, or a residual "
                               "stored unlike the output");
        auto planar = [&](KernelContext *scratchFrom) -> Status {
            std::vector<float> xPlanar, yPlanar, rPlanar;
            const float *xSaved = px, *rSaved = residual;
            float *ySaved = po;
            const std::int64_t pixelsIn = g.inSpatial[0] * g.inSpatial[1];
            const std::int64_t pixelsOut = g.outSpatial[0] * g.outSpatial[1];
            if (problem.xChannelsLast) {
                xPlanar.resize(static_cast<std::size_t>(x.elementCount()));
                nhwcToNchw(px, xPlanar.data(), g.n, g.inChannels, pixelsIn, sizeof(float));
                px = xPlanar.data();
            }
            if (problem.yChannelsLast) {
                yPlanar.resize(static_cast<std::size_t>(out->elementCount()));
                po = yPlanar.data();
                if (residual) {
                    rPlanar.resize(yPlanar.size());
                    nhwcToNchw(residual, rPlanar.data(), g.n, g.outChannels, pixelsOut,
                               sizeof(float));
                    residual = rPlanar.data();
                }
            }
            const Status status = ours(scratchFrom);
            px = xSaved;
            po = ySaved;
            residual = rSaved;
            if (status.ok() && problem.yChannelsLast)
                nchwToNhwc(yPlanar.data(), po, g.n, g.outChannels, pixelsOut, sizeof(float));
            return status;
        };
        static const char *planarName = oursKernelName("conv on NCHW copies");
        return runConvolution(ctx, problem, planar, planarName);
    }
    return runConvolution(ctx, problem, ours,
                          depthwise  ? oursKernelName("depthwise", depthwiseConv2dIsa(shape.window))
                          : winograd ? winogradName
                          : convIm2colSmallK(shape) ? im2colSmallKName
                                                    : im2colName);
}

// How sb.FusedPointwiseDepthwise's work is cut: channel blocks of `block`
// expanded channels, and bands of `bandRows` output rows.
struct PointwiseDepthwiseTiling
{
    std::int64_t block = 1, blocks = 1, bandRows = 1;
    bool channelsLast = false; // small planes: one task per block covers every image
};

PointwiseDepthwiseTiling pointwiseDepthwiseTiling(const PointwiseDepthwiseGeometry &g,
                                                  std::int64_t forcedBlock, int threads)
{
    // The expanded planes of a task stay in L2 (scratch of about 256 KB).
    constexpr std::int64_t kScratchFloats = 64 * 1024, kMinBlock = 8, kBandBlock = 48;
    const std::int64_t inHW = g.inH * g.inW, outHW = g.outH * g.outW;
    PointwiseDepthwiseTiling t;
    t.bandRows = g.outH;
    if (forcedBlock > 0) {
        t.block = std::min(forcedBlock, g.channels);
        t.blocks = (g.channels + t.block - 1) / t.block;
        return t;
    }
    const bool channelsLastOperands =
        (g.xChannelsLast || g.yChannelsLast) && inHW <= kPointwiseDepthwiseChannelsLastPlane;
    if (inHW < 128 || (outHW < 64 && inHW <= 256) || channelsLastOperands) {
        // Small planes (7x7 in or out), or channels-last operands of up to
        // 16x16: channels last (see fastPointwiseDepthwise), blocks of about
        // 128 channels and at least two per thread.
        t.channelsLast = true;
        const std::int64_t fewest =
            std::max({(g.channels + 127) / 128, std::int64_t{2} * threads,
                      (g.channels * g.n * inHW + kScratchFloats - 1) / kScratchFloats});
        t.blocks = fewest;
        if (pointwiseConvIsa() == CpuIsa::Avx512) {
            // Equal tasks per thread (5 blocks on 2 threads leave one idle a
            // fifth of the time), and whole 16-lane vectors per block where
            // a count up to twice the fewest gives them (MobileNetV2's 576
            // channels: 6 blocks of 96 rather than 5 of 116; 960: 10 of 96
            // rather than 8 of 120). OpenBLAS (below AVX-512) repacks the
            // input per block, so there the fewest stay.
            t.blocks = (fewest + threads - 1) / threads * threads;
            for (std::int64_t b = t.blocks; b <= 2 * fewest; b += threads)
                if (g.channels % b == 0 && (g.channels / b) % 16 == 0) {
                    t.blocks = b;
                    break;
                }
        }
        t.blocks = std::min(t.blocks, g.channels);
        t.block = (g.channels + t.blocks - 1) / t.blocks;
        t.blocks = (g.channels + t.block - 1) / t.block;
        return t;
    }
    if (inHW * kBandBlock > kScratchFloats) {
        // Large planes (56x56 and up): whole planes would leave a handful of
        // channels per block, and OpenBLAS repacks the input once per block.
        // Blocks of about 48 channels (at least a task per thread) over bands
        // of rows instead; each task walks its bands top to bottom, keeping
        // the rows two bands share.
        t.blocks =
            std::min(g.channels, std::max<std::int64_t>((g.channels + kBandBlock - 1) / kBandBlock,
                                                        (threads + g.n - 1) / g.n));
        t.block = (g.channels + t.blocks - 1) / t.blocks;
        const std::int64_t bandInputRows = std::max<std::int64_t>(
            (g.kernelH - 1) * g.dilationH + 1, kScratchFloats / (t.block * g.inW));
        std::int64_t rows = std::max<std::int64_t>(
            1, (bandInputRows - (g.kernelH - 1) * g.dilationH - 1) / g.strideH + 1);
        const std::int64_t bands = (g.outH + rows - 1) / rows;
        t.bandRows = (g.outH + bands - 1) / bands; // even bands
        return t;
    }
    // Whole planes: not fewer than 8 channels per GEMM (each GEMM repacks the
    // input once), and enough tasks for every thread; blocks of even size.
    t.block =
        std::clamp<std::int64_t>(kScratchFloats / std::max<std::int64_t>(1, inHW), kMinBlock, 64);
    const std::int64_t minTasks = 4 * threads;
    while (t.block > kMinBlock && g.n * ((g.channels + t.block - 1) / t.block) < minTasks)
        t.block /= 2;
    t.block = std::min(t.block, g.channels);
    t.blocks = (g.channels + t.block - 1) / t.block;
    t.block = (g.channels + t.blocks - 1) / t.blocks;
    return t;
}

// Input rows [r0, r1) that output rows [y0, y1) read.
std::pair<std::int64_t, std::int64_t>
pointwiseDepthwiseInputRows(const PointwiseDepthwiseGeometry &g, std::int64_t y0, std::int64_t y1)
{
    const std::int64_t r0 = std::clamp<std::int64_t>(y0 * g.strideH - g.padTop, 0, g.inH);
    const std::int64_t last = (y1 - 1) * g.strideH - g.padTop + (g.kernelH - 1) * g.dilationH;
    return {r0, std::clamp<std::int64_t>(last + 1, r0, g.inH)};
}

// The depthwise window of one band: output rows [y0, y1) from input rows
// [r0, r1) (channels set by the caller).
Window2dShape pointwiseDepthwiseBand(const PointwiseDepthwiseGeometry &g, std::int64_t y0,
                                     std::int64_t y1, std::int64_t r0, std::int64_t r1)
{
    Window2dShape dw;
    dw.batch = 1;
    dw.inW = g.inW;
    dw.outW = g.outW;
    dw.kernelH = g.kernelH;
    dw.kernelW = g.kernelW;
    dw.strideH = g.strideH;
    dw.strideW = g.strideW;
    dw.dilationH = g.dilationH;
    dw.dilationW = g.dilationW;
    dw.padLeft = g.padLeft;
    dw.inH = r1 - r0;
    dw.outH = y1 - y0;
    dw.padTop = g.padTop - y0 * g.strideH + r0;
    return dw;
}

// Where fastPointwiseDepthwise's scratch goes (floats): channels last, the
// images side by side (shared; not for channels-last X), then per thread
// the expanded block E^T, the taps, the bias and one output tile (not for
// a channels-last output); otherwise planar copies of channels-last X and
// output (shared), then per thread the expanded block's band and the
// depthwise loops' scratch.
struct PointwiseDepthwiseLayout
{
    PointwiseDepthwiseTiling t;
    std::int64_t channelStride = 0; // per expanded channel: the rows of the largest band
    std::int64_t planarX = 0;       // floats of X's planar copy (planar tiling, channels-last X)
    std::int64_t planarY = 0;       // floats of the output's planar copy (likewise)
    std::int64_t shared = 0;        // floats before the per-thread slices
    std::int64_t expanded = 0;      // floats of the expanded block in a slice
    std::int64_t slice = 0;         // floats per thread
    std::int64_t total(int threads) const { return shared + threads * slice; }
};

PointwiseDepthwiseLayout pointwiseDepthwiseLayout(const PointwiseDepthwiseGeometry &g,
                                                  std::int64_t forcedBlock, int threads)
{
    PointwiseDepthwiseLayout layout;
    if (g.n * g.channels == 0 || g.outH * g.outW == 0)
        return layout;
    const PointwiseDepthwiseTiling t = pointwiseDepthwiseTiling(g, forcedBlock, threads);
    layout.t = t;
    const std::int64_t inHW = g.inH * g.inW, outHW = g.outH * g.outW;
    if (t.channelsLast) {
        const std::int64_t cols = g.n * inHW, ld = (t.block + 7) / 8 * 8;
        layout.shared = g.n > 1 && !g.xChannelsLast ? scratchSlice(g.inChannels * cols) : 0;
        layout.slice =
            scratchSlice((cols + g.kernelH * g.kernelW + 1 + (g.yChannelsLast ? 0 : outHW)) * ld);
        return layout;
    }
    layout.planarX = g.xChannelsLast ? scratchSlice(g.n * g.inChannels * inHW) : 0;
    layout.planarY = g.yChannelsLast ? scratchSlice(g.n * g.channels * outHW) : 0;
    layout.shared = layout.planarX + layout.planarY;
    std::int64_t bandInputRows = 0, depthwise = 0;
    for (std::int64_t y0 = 0; y0 < g.outH; y0 += t.bandRows) {
        const std::int64_t y1 = std::min(g.outH, y0 + t.bandRows);
        auto [r0, r1] = pointwiseDepthwiseInputRows(g, y0, y1);
        bandInputRows = std::max(bandInputRows, r1 - r0);
        depthwise =
            std::max(depthwise, depthwiseScratchFloats(pointwiseDepthwiseBand(g, y0, y1, r0, r1)));
    }
    layout.channelStride = bandInputRows * g.inW;
    layout.expanded = scratchSlice(t.block * layout.channelStride);
    layout.slice = layout.expanded + depthwise;
    return layout;
}

} // namespace

std::int64_t pointwiseDepthwiseScratchFloats(const PointwiseDepthwiseGeometry &g,
                                             std::int64_t channelBlock, int threads)
{
    return pointwiseDepthwiseLayout(g, channelBlock, threads).total(threads);
}

namespace {

// sb.FusedPointwiseDepthwise: per (image, block of expanded channels) task,
// the block's 1x1 conv (OpenBLAS GEMM + bias) into a per-thread scratch sized
// for L2, then the depthwise conv of those planes (the 1x1 conv's activation
// applied as it reads them) straight into the output, so the expanded tensor
// never goes to memory. Large planes go in bands of rows: each band computes
// only the expanded rows it does not share with the band before. Small planes
// go channels last, every image in one task per channel block; channels-last
// operands (channels_last.h) are read and written as they are there, and
// copied to planes and back on larger planes.
Status fastPointwiseDepthwise(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(const PointwiseDepthwiseOperands op, pointwiseDepthwiseOperands(ctx));
    const PointwiseDepthwiseGeometry &g = op.g;
    const float *px = op.x, *pw1 = op.w1, *pb1 = op.b1, *pw2 = op.w2, *pb2 = op.b2;
    const Activation &act1 = op.act1, &act2 = op.act2;
    float *po = op.out;
    const std::int64_t inHW = g.inH * g.inW, outHW = g.outH * g.outW;
    const std::int64_t kernelSize = g.kernelH * g.kernelW;
    if (g.n * g.channels == 0 || outHW == 0)
        return Status::success();
    runtime::ThreadPool &pool = ctx.pool();
    const PointwiseDepthwiseLayout layout =
        pointwiseDepthwiseLayout(g, ctx.node().intAttr("channel_block", 0), pool.size());
    const PointwiseDepthwiseTiling &t = layout.t;
    KernelScratch scratch;
    SB_TRY(scratch.acquire(&ctx, layout.total(pool.size())));
    float *slices = scratch.data() + layout.shared;
    const std::int64_t channelStride = layout.channelStride; // per channel in the scratch
    Window2dShape dw = pointwiseDepthwiseBand(g, 0, g.outH, 0, g.inH);
    // The 1x1 conv runs pointwise.h's AVX-512 kernel or OpenBLAS (named
    // "sgemm"); the ISA named is the depthwise loops'.
    ctx.noteKernel(oursKernelName(
        pointwiseConvIsa() == CpuIsa::Avx512 ? "pointwise+depthwise" : "sgemm+depthwise",
        t.channelsLast ? depthwiseConv2dChannelsLastIsa() : depthwiseConv2dIsa(dw)));
    if (t.channelsLast) {
        // Channels last: per block, E^T [n * inHW pixels][block] = X^T W1^T
        // in one GEMM over the images side by side, the depthwise conv
        // vectorised across channels (7x7 planes are too short for vectors
        // along them), and the block's output tile transposed into the NCHW
        // planes (or the conv straight into a channels-last output). A
        // planar input as [inChannels, n * inHW] (image i's plane of channel
        // k at columns [i * inHW, (i + 1) * inHW) of row k); a channels-last
        // one is already X^T, [n * inHW][inChannels].
        const std::int64_t cols = g.n * inHW;
        const float *xc = px;
        if (g.n > 1 && !g.xChannelsLast) {
            float *columns = scratch.data();
            ctx.pool().parallelFor(g.inChannels, 16, [&](std::int64_t begin, std::int64_t end) {
                for (std::int64_t k = begin; k < end; ++k)
                    for (std::int64_t i = 0; i < g.n; ++i)
                        std::copy(px + (i * g.inChannels + k) * inHW,
                                  px + (i * g.inChannels + k + 1) * inHW,
                                  columns + k * cols + i * inHW);
            });
            xc = columns;
        }
        Window2dShape shape = dw;
        shape.inH = g.inH;
        shape.outH = g.outH;
        shape.padTop = g.padTop;
        const std::int64_t ld = (t.block + 7) / 8 * 8; // channels per pixel row, whole vectors
        // The AVX-512 1x1 kernel reads W1 transposed, [inChannels][channels]:
        // made once per session for constant weights (the node's state),
        // else once per call.
        const float *w1T = nullptr;
        std::shared_ptr<const std::vector<float>> w1TKept;
        std::vector<float> w1TOwn;
        if (pointwiseConvIsa() == CpuIsa::Avx512) {
            auto transpose = [&](std::vector<float> &to) {
                to.resize(static_cast<std::size_t>(g.inChannels * g.channels));
                for (std::int64_t c = 0; c < g.channels; ++c)
                    for (std::int64_t k = 0; k < g.inChannels; ++k)
                        to[static_cast<std::size_t>(k * g.channels + c)] =
                            pw1[c * g.inChannels + k];
            };
            runtime::KernelState *state = ctx.state();
            if (state && ctx.inputIsConstant(1)) {
                std::lock_guard lock(state->mutex);
                if (!state->data) {
                    auto made = std::make_shared<std::vector<float>>();
                    transpose(*made);
                    state->persistentBytes += made->size() * sizeof(float);
                    state->data = made;
                }
                w1TKept = std::static_pointer_cast<const std::vector<float>>(state->data);
                w1T = w1TKept->data();
            } else {
                transpose(w1TOwn);
                w1T = w1TOwn.data();
            }
        }
        ctx.pool().parallelFor(t.blocks, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t task = begin; task < end; ++task) {
                const std::int64_t c0 = task * t.block, c1 = std::min(g.channels, c0 + t.block);
                if (c0 >= c1)
                    continue;
                const std::int64_t channels = c1 - c0;
                // Scratch: E^T, then the taps [kernelSize][ld], the bias [ld]
                // and one image's output tile [outHW][ld].
                float *eT = slices + pool.slot() * layout.slice;
                float *wT = eT + cols * ld, *biasT = wT + kernelSize * ld, *tile = biasT + ld;
                if (w1T && g.xChannelsLast) {
                    pointwiseConvPixelRows(cols, channels, g.inChannels, xc, g.inChannels, w1T + c0,
                                           g.channels, pb1 ? pb1 + c0 : nullptr, eT, ld);
                } else if (w1T) {
                    pointwiseConvChannelsLast(cols, channels, g.inChannels, xc, cols, w1T + c0,
                                              g.channels, pb1 ? pb1 + c0 : nullptr, eT, ld);
                } else {
                    for (std::int64_t p = 0; p < cols; ++p)
                        for (std::int64_t c = 0; c < channels; ++c)
                            eT[p * ld + c] = pb1 ? pb1[c0 + c] : 0.0f;
                    sgemm(!g.xChannelsLast, true, cols, channels, g.inChannels, 1.0f, xc,
                          g.xChannelsLast ? g.inChannels : cols, pw1 + c0 * g.inChannels,
                          g.inChannels, 1.0f, eT, ld);
                }
                activateInPlace(eT, cols * ld, act1);
                std::fill(wT, tile, 0.0f);
                for (std::int64_t c = 0; c < channels; ++c) {
                    for (std::int64_t tap = 0; tap < kernelSize; ++tap)
                        wT[tap * ld + c] = pw2[(c0 + c) * kernelSize + tap];
                    biasT[c] = pb2 ? pb2[c0 + c] : 0.0f;
                }
                for (std::int64_t i = 0; i < g.n; ++i) {
                    if (g.yChannelsLast) {
                        depthwiseConv2dChannelsLast(shape, channels, ld, eT + i * inHW * ld, wT,
                                                    biasT, po + i * outHW * g.channels + c0,
                                                    g.channels, act2);
                        continue;
                    }
                    depthwiseConv2dChannelsLast(shape, channels, ld, eT + i * inHW * ld, wT, biasT,
                                                tile, ld, act2);
                    float *o = po + (i * g.channels + c0) * outHW;
                    for (std::int64_t c = 0; c < channels; ++c)
                        for (std::int64_t p = 0; p < outHW; ++p)
                            o[c * outHW + p] = tile[p * ld + c];
                }
            }
        });
        return Status::success();
    }
    // Planes: channels-last operands (planes larger than
    // kPointwiseDepthwiseChannelsLastPlane) through planar copies.
    float *const channelsLastOut = po;
    if (g.xChannelsLast) {
        float *planar = scratch.data();
        nhwcToNchw(px, planar, g.n, g.inChannels, inHW, sizeof(float));
        px = planar;
    }
    if (g.yChannelsLast)
        po = scratch.data() + layout.planarX;
    pool.parallelFor(g.n * t.blocks, 1, [&](std::int64_t begin, std::int64_t end) {
        float *e = slices + pool.slot() * layout.slice;
        DepthwiseScratch depthwiseScratch;
        depthwiseScratch.memory = e + layout.expanded;
        for (std::int64_t task = begin; task < end; ++task) {
            const std::int64_t image = task / t.blocks;
            const std::int64_t c0 = (task % t.blocks) * t.block;
            const std::int64_t c1 = std::min(g.channels, c0 + t.block);
            if (c0 >= c1)
                continue;
            const std::int64_t channels = c1 - c0;
            const float *imageX = px + image * g.inChannels * inHW;
            std::int64_t held0 = 0, held1 = 0; // input rows the scratch holds
            for (std::int64_t y0 = 0; y0 < g.outH; y0 += t.bandRows) {
                const std::int64_t y1 = std::min(g.outH, y0 + t.bandRows);
                const auto [r0, r1] = pointwiseDepthwiseInputRows(g, y0, y1);
                // Rows this band shares with the last one move to the front.
                const std::int64_t keep0 = std::max(r0, held0), keep1 = std::min(r1, held1);
                std::int64_t fresh = r0;
                if (keep0 < keep1 && keep0 == r0) {
                    if (keep0 > held0)
                        for (std::int64_t c = 0; c < channels; ++c)
                            std::copy(e + c * channelStride + (keep0 - held0) * g.inW,
                                      e + c * channelStride + (keep1 - held0) * g.inW,
                                      e + c * channelStride);
                    fresh = keep1;
                }
                if (fresh < r1) {
                    const std::int64_t offset = (fresh - r0) * g.inW, count = (r1 - fresh) * g.inW;
                    pointwiseConv(channels, count, g.inChannels, pw1 + c0 * g.inChannels,
                                  pb1 ? pb1 + c0 : nullptr, imageX + fresh * g.inW, inHW,
                                  e + offset, channelStride);
                }
                held0 = r0;
                held1 = r1;
                Window2dShape shape = dw;
                shape.channels = channels;
                shape.inH = r1 - r0;
                shape.outH = y1 - y0;
                shape.padTop = g.padTop - y0 * g.strideH + r0;
                depthwiseConv2dSerial(shape, e, channelStride, act1, pw2 + c0 * kernelSize,
                                      pb2 ? pb2 + c0 : nullptr,
                                      po + (image * g.channels + c0) * outHW + y0 * g.outW, outHW,
                                      act2, depthwiseScratch);
            }
        }
    });
    if (g.yChannelsLast)
        nchwToNhwc(po, channelsLastOut, g.n, g.channels, outHW, sizeof(float));
    return Status::success();
}

// Sum of n floats in 16 partial sums (vectorised; the order differs from
// the reference's sequential double sum by float rounding).
float sumFloats(const float *x, std::int64_t n)
{
    float lanes[16] = {};
    std::int64_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; ++l)
            lanes[l] += x[i + l];
    float total = 0.0f;
    for (; i < n; ++i)
        total += x[i];
    for (float lane : lanes)
        total += lane;
    return total;
}

// GlobalAveragePool / GlobalMaxPool over float32 planes, in parallel (the
// reference is one sequential loop: 0.06-0.08 ms for MobileNetV2's 2 x 1280
// planes of 7x7, ONNX Runtime 0.03 ms).
Status fastGlobalPool(KernelContext &ctx, bool isMax, const runtime::KernelFn &reference)
{
    const Tensor &x = ctx.input(0);
    const bool channelsLast = inputChannelsLast(ctx.node(), 0);
    const std::int64_t planes = x.rank() >= 3 ? x.dim(0) * x.dim(1) : 0;
    const std::int64_t inner = planes ? x.elementCount() / planes : 0;
    if (x.type() != ElementType::Float32 || x.rank() < 3 || inner == 0 ||
        (channelsLast && (x.rank() != 4 || isMax)))
        return reference(ctx);
    Shape shape = {x.dim(0), x.dim(1)};
    for (std::size_t d = 2; d < x.rank(); ++d)
        shape.push_back(1);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, shape));
    const float *px = x.as<float>();
    float *po = out->as<float>();
    if (channelsLast) {
        // NHWC: per image and block of 64 channels, the pixels' rows summed
        // (vectorised across channels).
        const std::int64_t channels = x.dim(1), blocks = (channels + 63) / 64;
        ctx.pool().parallelFor(x.dim(0) * blocks, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t task = begin; task < end; ++task) {
                const std::int64_t image = task / blocks, c0 = (task % blocks) * 64;
                const std::int64_t count = std::min<std::int64_t>(64, channels - c0);
                float sums[64] = {};
                for (std::int64_t p = 0; p < inner; ++p) {
                    const float *row = px + (image * inner + p) * channels + c0;
                    for (std::int64_t c = 0; c < count; ++c)
                        sums[c] += row[c];
                }
                for (std::int64_t c = 0; c < count; ++c)
                    po[image * channels + c0 + c] = sums[c] / static_cast<float>(inner);
            }
        });
        return Status::success();
    }
    const std::int64_t grain = std::max<std::int64_t>(1, 16384 / inner);
    ctx.pool().parallelFor(planes, grain, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t p = begin; p < end; ++p) {
            const float *plane = px + p * inner;
            po[p] = isMax ? *std::max_element(plane, plane + inner)
                          : sumFloats(plane, inner) / static_cast<float>(inner);
        }
    });
    return Status::success();
}

// Max pooling of NHWC rows (output rows [begin, end) of n * outH), the max
// over the window's taps vectorised across channels; padding never wins.
SB_FAST_INLINE void maxPoolNhwcRowsImpl(const PoolGeometry &g, const float *x, float *out,
                                        std::int64_t begin, std::int64_t end)
{
    const std::int64_t channels = g.channels, ih = g.inSpatial[0], iw = g.inSpatial[1];
    const std::int64_t oh = g.outSpatial[0], ow = g.outSpatial[1];
    for (std::int64_t row = begin; row < end; ++row) {
        const std::int64_t image = row / oh, oy = row % oh;
        for (std::int64_t ox = 0; ox < ow; ++ox) {
            float *__restrict o = out + ((image * oh + oy) * ow + ox) * channels;
            for (std::int64_t c = 0; c < channels; ++c)
                o[c] = -std::numeric_limits<float>::infinity();
            for (std::int64_t ky = 0; ky < g.kernel[0]; ++ky) {
                const std::int64_t iy = oy * g.strides[0] - g.padBegin[0] + ky * g.dilations[0];
                if (iy < 0 || iy >= ih)
                    continue;
                for (std::int64_t kx = 0; kx < g.kernel[1]; ++kx) {
                    const std::int64_t ix = ox * g.strides[1] - g.padBegin[1] + kx * g.dilations[1];
                    if (ix < 0 || ix >= iw)
                        continue;
                    const float *__restrict in = x + ((image * ih + iy) * iw + ix) * channels;
                    for (std::int64_t c = 0; c < channels; ++c)
                        o[c] = in[c] > o[c] ? in[c] : o[c];
                }
            }
        }
    }
}

void maxPoolNhwcRowsBase(const PoolGeometry &g, const float *x, float *out, std::int64_t begin,
                         std::int64_t end)
{
    maxPoolNhwcRowsImpl(g, x, out, begin, end);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void maxPoolNhwcRowsAvx2(const PoolGeometry &g, const float *x, float *out,
                                        std::int64_t begin, std::int64_t end)
{
    maxPoolNhwcRowsImpl(g, x, out, begin, end);
}
SB_TARGET_AVX512 void maxPoolNhwcRowsAvx512(const PoolGeometry &g, const float *x, float *out,
                                            std::int64_t begin, std::int64_t end)
{
    maxPoolNhwcRowsImpl(g, x, out, begin, end);
}
#endif

Status fastPool2d(KernelContext &ctx, bool isMax)
{
    const Tensor &x = ctx.input(0);
    if (anyChannelsLast(ctx.node())) {
        // A float MaxPool in a channels-last chain (input and output tied).
        const bool nhwc = isMax && x.type() == ElementType::Float32 && x.rank() == 4 &&
                          !ctx.hasOutput(1) && ctx.node().intAttr("storage_order", 0) == 0 &&
                          inputChannelsLast(ctx.node(), 0) && outputChannelsLast(ctx.node());
        if (!nhwc)
            return referencePool(ctx, isMax);
        SB_ASSIGN_OR_RETURN(PoolGeometry g, poolGeometry(ctx));
        SB_ASSIGN_OR_RETURN(
            Tensor * out, ctx.allocateOutput(0, ElementType::Float32,
                                             {g.n, g.channels, g.outSpatial[0], g.outSpatial[1]}));
        const auto rows =
            SB_PICK_AVX512(maxPoolNhwcRowsBase, maxPoolNhwcRowsAvx2, maxPoolNhwcRowsAvx512);
        const std::int64_t perRow =
            std::max<std::int64_t>(1, g.outSpatial[1] * g.kernel[0] * g.kernel[1] * g.channels);
        const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / perRow);
        const float *px = x.as<float>();
        float *po = out->as<float>();
        ctx.pool().parallelFor(
            g.n * g.outSpatial[0], grain,
            [&](std::int64_t begin, std::int64_t end) { rows(g, px, po, begin, end); });
        return Status::success();
    }
    if (x.type() != ElementType::Float32 || x.rank() != 4 || (isMax && ctx.hasOutput(1)) ||
        (isMax && ctx.node().intAttr("storage_order", 0) != 0))
        return referencePool(ctx, isMax);
    SB_ASSIGN_OR_RETURN(PoolGeometry g, poolGeometry(ctx));
    SB_ASSIGN_OR_RETURN(Tensor * out,
                        ctx.allocateOutput(0, ElementType::Float32,
                                           {g.n, g.channels, g.outSpatial[0], g.outSpatial[1]}));
    if (isMax) {
        const Window2dShape shape = windowShape(g, g.channels);
        KernelScratch scratch;
        SB_TRY(scratch.acquire(&ctx, maxPool2dScratchFloats(shape, ctx.pool().size())));
        maxPool2d(ctx.pool(), shape, x.as<float>(), out->as<float>(), scratch.data());
        return Status::success();
    }
    const bool countPad = ctx.node().intAttr("count_include_pad", 0) != 0;
    const std::int64_t ih = g.inSpatial[0], iw = g.inSpatial[1], oh = g.outSpatial[0],
                       ow = g.outSpatial[1];
    const float *px = x.as<float>();
    float *po = out->as<float>();
    ctx.pool().parallelFor(g.n * g.channels, 1, [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t p = begin; p < end; ++p) {
            const float *in = px + p * ih * iw;
            float *o = po + p * oh * ow;
            for (std::int64_t y = 0; y < oh; ++y)
                for (std::int64_t xo = 0; xo < ow; ++xo) {
                    float best = -std::numeric_limits<float>::infinity();
                    float sum = 0;
                    std::int64_t count = 0, padCount = 0;
                    for (std::int64_t ky = 0; ky < g.kernel[0]; ++ky) {
                        std::int64_t iy = y * g.strides[0] - g.padBegin[0] + ky * g.dilations[0];
                        bool yPadded = iy >= -g.padBegin[0] && iy < ih + g.padEnd[0];
                        for (std::int64_t kx = 0; kx < g.kernel[1]; ++kx) {
                            std::int64_t ix =
                                xo * g.strides[1] - g.padBegin[1] + kx * g.dilations[1];
                            if (yPadded && ix >= -g.padBegin[1] && ix < iw + g.padEnd[1])
                                ++padCount;
                            if (iy < 0 || iy >= ih || ix < 0 || ix >= iw)
                                continue;
                            float v = in[iy * iw + ix];
                            best = v > best ? v : best;
                            sum += v;
                            ++count;
                        }
                    }
                    o[y * ow + xo] =
                        isMax ? best
                              : sum / static_cast<float>(
                                          countPad ? padCount : std::max<std::int64_t>(count, 1));
                }
        }
    });
    return Status::success();
}

Status fastBatchNorm(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    bool simple = x.type() == ElementType::Float32 && x.rank() >= 2 &&
                  ctx.node().intAttr("training_mode", 0) == 0 && !ctx.hasOutput(1) &&
                  !(ctx.opset() < 9 && ctx.node().intAttr("spatial", 1) == 0);
    for (std::size_t i = 1; simple && i <= 4; ++i)
        simple =
            ctx.input(i).type() == ElementType::Float32 && ctx.input(i).elementCount() == x.dim(1);
    if (!simple)
        return referenceBatchNorm(ctx);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    const std::int64_t c = x.dim(1);
    const std::int64_t inner = x.elementCount() / std::max<std::int64_t>(1, x.dim(0) * c);
    const float eps = ctx.node().floatAttr("epsilon", 1e-5f);
    std::vector<float> scale(static_cast<std::size_t>(c)), shift(static_cast<std::size_t>(c));
    for (std::int64_t ch = 0; ch < c; ++ch) {
        double s = ctx.input(1).as<float>()[ch] /
                   std::sqrt(static_cast<double>(ctx.input(4).as<float>()[ch]) + eps);
        scale[static_cast<std::size_t>(ch)] = static_cast<float>(s);
        shift[static_cast<std::size_t>(ch)] =
            static_cast<float>(ctx.input(2).as<float>()[ch] - s * ctx.input(3).as<float>()[ch]);
    }
    const float *px = x.as<float>();
    float *po = out->as<float>();
    ctx.pool().parallelFor(x.dim(0) * c,
                           std::max<std::int64_t>(1, 4096 / std::max<std::int64_t>(inner, 1)),
                           [&](std::int64_t begin, std::int64_t end) {
                               for (std::int64_t p = begin; p < end; ++p) {
                                   float s = scale[static_cast<std::size_t>(p % c)];
                                   float t = shift[static_cast<std::size_t>(p % c)];
                                   for (std::int64_t i = 0; i < inner; ++i)
                                       po[p * inner + i] = px[p * inner + i] * s + t;
                               }
                           });
    return Status::success();
}

Status fastSoftmax(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 || x.rank() == 0)
        return referenceSoftmax(ctx);
    auto rank = static_cast<std::int64_t>(x.rank());
    bool legacy = ctx.opset() < 13;
    auto axis = normalizeAxis(ctx.node().intAttr("axis", legacy ? 1 : -1), rank);
    if (!axis || (!legacy && *axis != rank - 1))
        return referenceSoftmax(ctx);
    std::int64_t cols = 1;
    for (std::int64_t d = *axis; d < rank; ++d)
        cols *= x.dim(static_cast<std::size_t>(d));
    if (cols == 0)
        return referenceSoftmax(ctx);
    std::int64_t rows = x.elementCount() / cols;
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    const float *px = x.as<float>();
    float *po = out->as<float>();
    ctx.pool().parallelFor(rows, std::max<std::int64_t>(1, 8192 / cols),
                           [&](std::int64_t begin, std::int64_t end) {
                               for (std::int64_t r = begin; r < end; ++r)
                                   softmaxRow(px + r * cols, po + r * cols, cols);
                           });
    return Status::success();
}

Status fastLayerNorm(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 || ctx.hasOutput(1) || ctx.hasOutput(2))
        return referenceLayerNorm(ctx);
    SB_ASSIGN_OR_RETURN(LayerNormArgs args, layerNormArgs(ctx));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    const float *px = x.as<float>();
    float *po = out->as<float>();
    const float *scale = ctx.input(1).as<float>();
    const float *bias = ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr;
    const std::int64_t cols = args.cols;
    ctx.pool().parallelFor(
        args.rows, std::max<std::int64_t>(1, 8192 / std::max<std::int64_t>(cols, 1)),
        [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t r = begin; r < end; ++r) {
                const float *in = px + r * cols;
                float *o = po + r * cols;
                if (!args.scaleScalar && !args.biasScalar) {
                    layerNormRow(in, o, cols, scale, bias, static_cast<float>(args.epsilon));
                    continue;
                }
                float sum = 0;
                for (std::int64_t i = 0; i < cols; ++i)
                    sum += in[i];
                float mean = sum / static_cast<float>(cols);
                float var = 0;
                for (std::int64_t i = 0; i < cols; ++i) {
                    float d = in[i] - mean;
                    var += d * d;
                }
                var /= static_cast<float>(cols);
                float inv = 1.0f / std::sqrt(var + static_cast<float>(args.epsilon));
                for (std::int64_t i = 0; i < cols; ++i) {
                    float v = (in[i] - mean) * inv * scale[args.scaleIndex(i)];
                    o[i] = bias ? v + bias[args.biasIndex(i)] : v;
                }
            }
        });
    return Status::success();
}

Status fastGelu(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32)
        return referenceGelu(ctx);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    const float *px = x.as<float>();
    float *po = out->as<float>();
    ctx.pool().parallelFor(x.elementCount(), kParallelGrain / 4,
                           [&](std::int64_t b, std::int64_t e) { geluRow(px + b, po + b, e - b); });
    return Status::success();
}

template <typename Op>
Status parallelUnaryFloat(KernelContext &ctx, Op op, Status (*fallback)(KernelContext &))
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32)
        return fallback(ctx);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    const float *px = x.as<float>();
    float *po = out->as<float>();
    ctx.pool().parallelFor(x.elementCount(), kParallelGrain / 4,
                           [&](std::int64_t b, std::int64_t e) {
                               for (std::int64_t i = b; i < e; ++i)
                                   po[i] = op(px[i]);
                           });
    return Status::success();
}

} // namespace

void registerFastNn(KernelRegistry &r)
{
    runtime::Tolerance gemmTol{1e-4, 1e-5};
    addFast(r, "MatMul", fastMatMul, gemmTol);
    addFast(r, "FusedMatMul", fastMatMul, gemmTol, "sb");
    addFast(r, "Gemm", fastGemm, gemmTol);
    addFast(r, "FusedGemm", fastGemm, gemmTol, "sb");
    addFast(r, "Conv", fastConv, gemmTol);
    addFast(r, "FusedConv", fastConv, gemmTol, "sb");
    {
        runtime::KernelInfo info;
        info.opType = "FusedPointwiseDepthwise";
        info.domain = "sb";
        info.variant = runtime::KernelVariant::Fast;
        info.fn = fastPointwiseDepthwise;
        info.tolerance = gemmTol;
        // Channels-last operands as they are with the AVX-512 1x1 kernel
        // (with OpenBLAS below it, ISA capped to AVX2, the channels-last
        // path measured slower than planes: MobileNetV2's 14x14 blocks 0.33
        // against 0.19 ms, its 7x7 ones 0.38-0.42 against 0.28-0.30 ms).
        if (pointwiseConvIsa() == CpuIsa::Avx512)
            info.channelsLastPlane = kPointwiseDepthwiseChannelsLastPlane;
        r.add(std::move(info));
    }
    addFast(r, "MaxPool", [](KernelContext &c) { return fastPool2d(c, true); }, {0, 0});
    addFast(r, "AveragePool", [](KernelContext &c) { return fastPool2d(c, false); }, {1e-5, 1e-6});
    for (const char *op : {"GlobalAveragePool", "GlobalMaxPool"}) {
        const bool isMax = std::string(op) == "GlobalMaxPool";
        const runtime::KernelInfo *info =
            r.findExact(op, "", runtime::DeviceKind::Cpu, runtime::KernelVariant::Reference);
        if (!info) // the reference kernels register first (registry.cpp)
            continue;
        const runtime::KernelFn reference = info->fn;
        addFast(
            r, op,
            [isMax, reference](KernelContext &c) { return fastGlobalPool(c, isMax, reference); },
            isMax ? runtime::Tolerance{0, 0} : runtime::Tolerance{1e-5, 1e-6});
    }
    addFast(r, "BatchNormalization", fastBatchNorm, {1e-5, 1e-5});
    addFast(r, "Softmax", fastSoftmax, {1e-5, 1e-7});
    addFast(r, "LayerNormalization", fastLayerNorm, {1e-4, 1e-5});
    addFast(r, "Gelu", fastGelu, {1e-5, 1e-6}, "sb");
    addFast(r, "Relu",
            [](KernelContext &c) {
                return parallelUnaryFloat(
                    c, [](float v) { return v > 0.0f ? v : 0.0f; }, referenceRelu);
            },
            {0, 0});
}

} // namespace sb::kernels
