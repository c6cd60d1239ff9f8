#include "kernels/cpu/fast/conv_gemm.h"

#include "kernels/cpu/fast/blas.h"
#include "kernels/cpu/fast/epilogue.h"
#include "kernels/cpu/fast/pointwise.h"
#include "kernels/cpu/fast/scratch.h"
#include "kernels/cpu/fast/simd.h"

#include <algorithm>
#include <vector>

namespace sb::kernels {

namespace {

// Panel bytes aimed at: the im2col block (kdim x columns) or the output block
// (channels x columns), whichever is larger, stays within a core's L2.
constexpr std::int64_t kPanelFloats = 64 * 1024;
constexpr std::int64_t kMinPanelColumns = 128;
// Panels with at most this many rows of im2col (input channels x taps) run
// pointwise.h's AVX-512 kernel instead of OpenBLAS: on a Zen 4 core, one
// thread, [M x K] x [K x N] into a strided C (best of 20 x 50 calls) it
// measured 79-85 GFLOP/s against OpenBLAS's 48-66 at K = 16..32, 84 against
// 77 at K = 64, equal at K = 96 and slower from K = 144 (OpenBLAS packs its
// operands once per call, which pays off as K grows). Zen 4 splits 512-bit
// FMAs in two; where they run at full width (cpuAvx512FullWidth) the kernel
// runs every panel: on a Zen 5 core OpenBLAS 0.3.21 still runs its 256-bit
// Haswell kernels, and MobileNetV2's 1x1 project convs (K = 96..960) went
// from 0.15-0.42 ms to 0.08-0.24 ms per node (batch 2, 2 threads; e.g.
// features.3's 144 -> 24 at 56x56: 0.417 -> 0.237 ms), the whole model
// from 1.28x ONNX Runtime's time to 1.14x together with the depthwise change
// in window2d.cpp (bench/compare_ort, 2026-12-04).
constexpr std::int64_t kSmallK = 64;

struct Geometry
{
    const ConvGemmShape *shape;
    std::int64_t cinG, coutG, kdim, inHW, outHW;
    bool pointwise; // 1x1, stride 1, no padding: the input plane is the im2col matrix
};

// Rows [r0, r1) and output columns [c0, c1) of the im2col matrix
// (kdim x outHW) of one sample and group, written to dst with row stride ldd
// (dst points at element (r0, c0)).
SB_FAST_INLINE void im2colBlockImpl(const Geometry &geo, const float *in, std::int64_t r0,
                                    std::int64_t r1, std::int64_t c0, std::int64_t c1, float *dst,
                                    std::int64_t ldd)
{
    const Window2dShape &s = geo.shape->window;
    const std::int64_t kernelSize = s.kernelH * s.kernelW;
    const std::int64_t sw = s.strideW;
    for (std::int64_t r = r0; r < r1; ++r) {
        const std::int64_t c = r / kernelSize, ky = (r / s.kernelW) % s.kernelH, kx = r % s.kernelW;
        float *drow = dst + (r - r0) * ldd - c0; // drow[j] for output column j
        const float *plane = in + c * geo.inHW;
        // Output x read inside the input row: 0 <= x * sw + off < inW.
        const std::int64_t off = kx * s.dilationW - s.padLeft;
        std::int64_t x0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
        std::int64_t x1 = s.inW - 1 - off < 0 ? 0 : (s.inW - 1 - off) / sw + 1;
        x0 = std::min(x0, s.outW);
        x1 = std::clamp(x1, x0, s.outW);
        for (std::int64_t y = c0 / s.outW; y * s.outW < c1; ++y) {
            const std::int64_t rowStart = y * s.outW;
            const std::int64_t xa = std::max<std::int64_t>(0, c0 - rowStart);
            const std::int64_t xb = std::min<std::int64_t>(s.outW, c1 - rowStart);
            float *d = drow + rowStart;
            const std::int64_t iy = y * s.strideH - s.padTop + ky * s.dilationH;
            if (iy < 0 || iy >= s.inH) {
                std::fill(d + xa, d + xb, 0.0f);
                continue;
            }
            const float *srow = plane + iy * s.inW;
            const std::int64_t va = std::clamp(x0, xa, xb), vb = std::clamp(x1, va, xb);
            std::fill(d + xa, d + va, 0.0f);
            if (sw == 1)
                std::copy(srow + va + off, srow + vb + off, d + va);
            else if (sw == 2) // constant stride: vectorised
                for (std::int64_t x = va; x < vb; ++x)
                    d[x] = srow[2 * x + off];
            else
                for (std::int64_t x = va; x < vb; ++x)
                    d[x] = srow[x * sw + off];
            std::fill(d + vb, d + xb, 0.0f);
        }
    }
}

void im2colBlockBase(const Geometry &geo, const float *in, std::int64_t r0, std::int64_t r1,
                     std::int64_t c0, std::int64_t c1, float *dst, std::int64_t ldd)
{
    im2colBlockImpl(geo, in, r0, r1, c0, c1, dst, ldd);
}
#if SB_HAVE_AVX2_DISPATCH
// The strided gathers (stride-2 stems and downsampling convs) vectorise
// with AVX2 shuffles.
SB_TARGET_AVX2 void im2colBlockAvx2(const Geometry &geo, const float *in, std::int64_t r0,
                                    std::int64_t r1, std::int64_t c0, std::int64_t c1, float *dst,
                                    std::int64_t ldd)
{
    im2colBlockImpl(geo, in, r0, r1, c0, c1, dst, ldd);
}
#endif

void im2colBlock(const Geometry &geo, const float *in, std::int64_t r0, std::int64_t r1,
                 std::int64_t c0, std::int64_t c1, float *dst, std::int64_t ldd)
{
    SB_PICK_AVX2(im2colBlockBase, im2colBlockAvx2)(geo, in, r0, r1, c0, c1, dst, ldd);
}

// Rows [r0, r1), columns [c0, c1) of a matrix with row stride ld start as the
// bias of their row (or 0): the GEMM then accumulates onto them with beta = 1,
// which is also faster in OpenBLAS than beta = 0 (see blas.cpp).
void fillBias(float *c, std::int64_t ld, const float *bias, std::int64_t r0, std::int64_t r1,
              std::int64_t c0, std::int64_t c1)
{
    for (std::int64_t r = r0; r < r1; ++r)
        std::fill(c + r * ld + c0, c + r * ld + c1, bias ? bias[r] : 0.0f);
}

// The activation on rows [r0, r1), columns [c0, c1) of one group's output.
void activateBlock(const Geometry &geo, float *outGroup, const Activation &act, std::int64_t r0,
                   std::int64_t r1, std::int64_t c0, std::int64_t c1)
{
    if (act.kind == Activation::None)
        return;
    for (std::int64_t r = r0; r < r1; ++r)
        activateInPlace(outGroup + r * geo.outHW + c0, c1 - c0, act);
}

// How convIm2colGemm cuts the work for a shape and thread count (see conv_gemm.h).
struct Im2colPlan
{
    Geometry geo{};
    std::int64_t items = 0, panel = 0, panelsPerItem = 0, tasks = 0;
    enum class Path
    {
        SideBySide, // small images: one GEMM over every image's columns
        Panels,     // whole panels per thread
        Columns     // few GEMMs: each item's whole im2col matrix, GEMM split by rows
    } path = Path::Panels;
};

Im2colPlan im2colPlan(const ConvGemmShape &shape, int threads)
{
    const Window2dShape &s = shape.window;
    Im2colPlan plan;
    plan.geo = Geometry{&shape,
                        shape.inChannels / shape.group,
                        shape.outChannels / shape.group,
                        0,
                        s.inH * s.inW,
                        s.outH * s.outW,
                        false};
    Geometry &geo = plan.geo;
    geo.kdim = geo.cinG * s.kernelH * s.kernelW;
    geo.pointwise = s.kernelH == 1 && s.kernelW == 1 && s.strideH == 1 && s.strideW == 1 &&
                    s.padTop == 0 && s.padLeft == 0 && s.outH == s.inH && s.outW == s.inW;
    plan.items = s.batch * shape.group; // (sample, group) pairs
    const std::int64_t widest = std::max(geo.pointwise ? 0 : geo.kdim, geo.coutG);
    std::int64_t panel = (kPanelFloats / std::max<std::int64_t>(1, widest) + 15) / 16 * 16;
    panel = std::min(std::max(panel, kMinPanelColumns), geo.outHW);
    // Even panels (196 columns as 112 + 84, not 176 + 20: a sliver is slow).
    plan.panelsPerItem = (geo.outHW + panel - 1) / panel;
    plan.panel = std::min(
        geo.outHW, ((geo.outHW + plan.panelsPerItem - 1) / plan.panelsPerItem + 15) / 16 * 16);
    plan.tasks = plan.items * plan.panelsPerItem;
    if (shape.group == 1 && s.batch > 1 && geo.outHW < kMinPanelColumns)
        plan.path = Im2colPlan::Path::SideBySide;
    else if (threads == 1 || plan.tasks >= 2 * threads || plan.tasks % threads == 0)
        plan.path = Im2colPlan::Path::Panels;
    else
        plan.path = Im2colPlan::Path::Columns;
    return plan;
}

} // namespace

bool convIm2colSmallK(const ConvGemmShape &shape)
{
    const std::int64_t kdim =
        shape.inChannels / shape.group * shape.window.kernelH * shape.window.kernelW;
    return pointwiseConvIsa() == CpuIsa::Avx512 && (kdim <= kSmallK || cpuAvx512FullWidth());
}

std::int64_t convIm2colGemmScratchFloats(const ConvGemmShape &shape, int threads)
{
    const Im2colPlan plan = im2colPlan(shape, threads);
    const Geometry &geo = plan.geo;
    switch (plan.path) {
    case Im2colPlan::Path::SideBySide: { // the im2col matrix, then the product
        const std::int64_t cols = shape.window.batch * geo.outHW;
        return scratchSlice(geo.kdim * cols) + geo.coutG * cols;
    }
    case Im2colPlan::Path::Panels: // one panel per thread
        return geo.pointwise ? 0 : threads * scratchSlice(geo.kdim * plan.panel);
    case Im2colPlan::Path::Columns:
        return geo.pointwise ? 0 : geo.kdim * geo.outHW;
    }
    return 0;
}

void convIm2colGemm(runtime::ThreadPool &pool, const ConvGemmShape &shape, const float *x,
                    const float *w, const float *bias, float *out, const Activation &act,
                    float *scratch)
{
    const Window2dShape &s = shape.window;
    const Im2colPlan plan = im2colPlan(shape, pool.size());
    const Geometry &geo = plan.geo;
    const std::int64_t items = plan.items, panel = plan.panel, panelsPerItem = plan.panelsPerItem,
                       tasks = plan.tasks;
    const bool smallK = convIm2colSmallK(shape);
    auto groupInput = [&](std::int64_t item) {
        return x + ((item / shape.group) * shape.inChannels + (item % shape.group) * geo.cinG) *
                       geo.inHW;
    };
    auto groupOutput = [&](std::int64_t item) {
        return out + ((item / shape.group) * shape.outChannels + (item % shape.group) * geo.coutG) *
                         geo.outHW;
    };
    auto groupWeights = [&](std::int64_t item) {
        return w + (item % shape.group) * geo.coutG * geo.kdim;
    };
    auto groupBias = [&](std::int64_t item) {
        return bias ? bias + (item % shape.group) * geo.coutG : nullptr;
    };

    // Small images (late layers, e.g. 7x7): a GEMM per image would have a very
    // narrow N, where OpenBLAS is slow. Put the images side by side as columns
    // of one im2col matrix (kdim x batch * outHW), run one GEMM split by output
    // channels, and scatter each block to the images with the activation.
    if (plan.path == Im2colPlan::Path::SideBySide) {
        const std::int64_t cols = s.batch * geo.outHW;
        float *cp = scratch;
        pool.parallelFor(geo.kdim * s.batch, 8, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t job = begin; job < end; ++job) {
                const std::int64_t r = job / s.batch, image = job % s.batch;
                const float *in = x + image * shape.inChannels * geo.inHW;
                float *dst = cp + r * cols + image * geo.outHW;
                if (geo.pointwise)
                    std::copy(in + r * geo.inHW, in + (r + 1) * geo.inHW, dst);
                else
                    im2colBlock(geo, in, r, r + 1, 0, geo.outHW, dst, cols);
            }
        });
        float *pp = scratch + scratchSlice(geo.kdim * cols); // coutG x cols, before the scatter
        auto scatter = [&](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
            for (std::int64_t image = 0; image < s.batch; ++image) {
                const std::int64_t a = std::max(c0, image * geo.outHW);
                const std::int64_t b = std::min(c1, (image + 1) * geo.outHW);
                if (a >= b)
                    continue;
                float *o = out + image * shape.outChannels * geo.outHW;
                for (std::int64_t r = r0; r < r1; ++r)
                    std::copy(pp + r * cols + a, pp + r * cols + b,
                              o + r * geo.outHW + (a - image * geo.outHW));
                activateBlock(geo, o, act, r0, r1, a - image * geo.outHW, b - image * geo.outHW);
            }
        };
        if (smallK) {
            // Blocks of 8 output channels (the kernel's row tile), an even
            // share per thread: MobileNetV2's 7x7 project convs (batch 2,
            // 98 columns) took 0.16-0.18 ms on OpenBLAS or oneDNN, which
            // this kernel beats by a third on one core.
            const std::int64_t blocks = (geo.coutG + 7) / 8;
            pool.parallelFor(blocks, 1, [&](std::int64_t begin, std::int64_t end) {
                const std::int64_t r0 = begin * 8, r1 = std::min(geo.coutG, end * 8);
                pointwiseConv(r1 - r0, cols, geo.kdim, w + r0 * geo.kdim,
                              bias ? bias + r0 : nullptr, cp, cols, pp + r0 * cols, cols);
                scatter(r0, r1, 0, cols);
            });
            return;
        }
        fillBias(pp, cols, bias, 0, geo.coutG, 0, cols);
        parallelSgemm(pool, false, false, geo.coutG, cols, geo.kdim, 1.0f, w, geo.kdim, cp, cols,
                      1.0f, pp, cols, scatter);
        return;
    }
    // Enough panels to share evenly: every thread runs whole panels, with no
    // synchronisation in between.
    if (plan.path == Im2colPlan::Path::Panels) {
        const std::int64_t slice = scratchSlice(geo.kdim * panel);
        pool.parallelFor(tasks, 1, [&](std::int64_t begin, std::int64_t end) {
            float *mine = scratch + pool.slot() * slice;
            for (std::int64_t task = begin; task < end; ++task) {
                const std::int64_t item = task / panelsPerItem;
                const std::int64_t c0 = (task % panelsPerItem) * panel;
                const std::int64_t c1 = std::min(geo.outHW, c0 + panel);
                if (c0 >= c1)
                    continue;
                const float *in = groupInput(item);
                const float *b = in + c0;
                std::int64_t ldb = geo.outHW;
                if (!geo.pointwise) {
                    im2colBlock(geo, in, 0, geo.kdim, c0, c1, mine, c1 - c0);
                    b = mine;
                    ldb = c1 - c0;
                }
                float *o = groupOutput(item);
                if (smallK) {
                    pointwiseConv(geo.coutG, c1 - c0, geo.kdim, groupWeights(item), groupBias(item),
                                  b, ldb, o + c0, geo.outHW);
                } else {
                    fillBias(o, geo.outHW, groupBias(item), 0, geo.coutG, c0, c1);
                    sgemm(false, false, geo.coutG, c1 - c0, geo.kdim, 1.0f, groupWeights(item),
                          geo.kdim, b, ldb, 1.0f, o + c0, geo.outHW);
                }
                activateBlock(geo, o, act, 0, geo.coutG, c0, c1);
            }
        });
        return;
    }
    // Few, small GEMMs: build each item's whole im2col matrix on the pool and
    // split its GEMM by output channels.
    for (std::int64_t item = 0; item < items; ++item) {
        const float *in = groupInput(item);
        const float *b = in;
        if (!geo.pointwise) {
            float *cp = scratch;
            pool.parallelFor(geo.kdim, 1, [&](std::int64_t begin, std::int64_t end) {
                im2colBlock(geo, in, begin, end, 0, geo.outHW, cp + begin * geo.outHW, geo.outHW);
            });
            b = scratch;
        }
        float *o = groupOutput(item);
        const float *biasGroup = groupBias(item);
        fillBias(o, geo.outHW, biasGroup, 0, geo.coutG, 0, geo.outHW);
        parallelSgemm(pool, false, false, geo.coutG, geo.outHW, geo.kdim, 1.0f, groupWeights(item),
                      geo.kdim, b, geo.outHW, 1.0f, o, geo.outHW,
                      [&](std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1) {
                          activateBlock(geo, o, act, r0, r1, c0, c1);
                      });
    }
}

} // namespace sb::kernels
