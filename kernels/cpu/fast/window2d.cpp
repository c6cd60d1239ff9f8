#include "kernels/cpu/fast/window2d.h"

#include "kernels/cpu/fast/epilogue.h"
#include "kernels/cpu/fast/simd.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace sb::kernels {

namespace {

// Output columns x for which tap kx reads inside the input row
// (0 <= x * strideW + offset < inW), and where it reads: element x of the tap
// is row[x + shift] of input phase `phase` (the columns ix = phase mod stride).
struct TapColumns
{
    std::int64_t x0 = 0, x1 = 0;
    std::int64_t phase = 0, shift = 0, offset = 0;
};

TapColumns tapColumns(const Window2dShape &s, std::int64_t kx)
{
    TapColumns t;
    t.offset = kx * s.dilationW - s.padLeft;
    t.x0 = t.offset >= 0 ? 0 : (-t.offset + s.strideW - 1) / s.strideW;
    t.x1 = s.inW - 1 - t.offset < 0 ? 0 : (s.inW - 1 - t.offset) / s.strideW + 1;
    t.x0 = std::min(t.x0, s.outW);
    t.x1 = std::clamp(t.x1, t.x0, s.outW);
    t.phase = ((t.offset % s.strideW) + s.strideW) % s.strideW;
    t.shift = (t.offset - t.phase) / s.strideW;
    return t;
}

// What every plane of one call shares.
struct PlaneJob
{
    const Window2dShape *shape;
    const TapColumns *taps;              // kernelW entries
    std::int64_t interiorX0, interiorX1; // x where all three taps of a row are inside (kernelW 3)
    std::int64_t phaseWidth;             // columns per phase row (strideW > 1)
};

PlaneJob planeJob(const Window2dShape &shape, std::vector<TapColumns> &taps)
{
    taps.resize(static_cast<std::size_t>(shape.kernelW));
    for (std::int64_t kx = 0; kx < shape.kernelW; ++kx)
        taps[static_cast<std::size_t>(kx)] = tapColumns(shape, kx);
    PlaneJob job{&shape, taps.data(), 0, 0, (shape.inW + shape.strideW - 1) / shape.strideW};
    if (shape.kernelW == 3) {
        job.interiorX0 = std::max({taps[0].x0, taps[1].x0, taps[2].x0});
        job.interiorX1 = std::max(job.interiorX0, std::min({taps[0].x1, taps[1].x1, taps[2].x1}));
    }
    return job;
}

// Input row iy as read by tap kx: plain (stride 1) or its phase row.
SB_FAST_INLINE const float *tapRow(const PlaneJob &job, const float *in, const float *phased,
                                   std::int64_t iy, std::int64_t kx)
{
    const Window2dShape &s = *job.shape;
    return s.strideW > 1 ? phased + (iy * s.strideW + job.taps[kx].phase) * job.phaseWidth
                         : in + iy * s.inW;
}

// `v > best ? v : best`, the reference's comparison: NaN never replaces.
SB_FAST_INLINE float maxOf(float best, float v)
{
    return v > best ? v : best;
}

SB_FAST_INLINE void maxPoolPlaneImpl(const PlaneJob &job, const float *in, const float *phased,
                                     float *out)
{
    const Window2dShape &s = *job.shape;
    const TapColumns *taps = job.taps;
    constexpr float kLowest = -std::numeric_limits<float>::infinity();
    for (std::int64_t y = 0; y < s.outH; ++y) {
        float *__restrict orow = out + y * s.outW;
        const std::int64_t iyTop = y * s.strideH - s.padTop;
        for (std::int64_t x = 0; x < s.outW; ++x)
            orow[x] = kLowest;
        for (std::int64_t ky = 0; ky < s.kernelH; ++ky) {
            std::int64_t iy = iyTop + ky * s.dilationH;
            if (iy < 0 || iy >= s.inH)
                continue;
            for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                const float *__restrict row = tapRow(job, in, phased, iy, kx);
                const std::int64_t shift = taps[kx].shift;
                for (std::int64_t x = taps[kx].x0; x < taps[kx].x1; ++x)
                    orow[x] = maxOf(orow[x], row[x + shift]);
            }
        }
    }
}

// phased = in as [inH][strideW][phaseWidth] (phase p holds columns p, p + stride, ...).
SB_FAST_INLINE void splitPhasesImpl(const Window2dShape &s, std::int64_t phaseWidth,
                                    const float *__restrict in, float *__restrict phased)
{
    for (std::int64_t iy = 0; iy < s.inH; ++iy) {
        const float *src = in + iy * s.inW;
        if (s.strideW == 2) { // constant stride: the compiler vectorises the de-interleave
            float *__restrict even = phased + iy * 2 * phaseWidth;
            float *__restrict odd = even + phaseWidth;
            const std::int64_t pairs = s.inW / 2;
            for (std::int64_t j = 0; j < pairs; ++j) {
                even[j] = src[2 * j];
                odd[j] = src[2 * j + 1];
            }
            if (s.inW % 2)
                even[pairs] = src[s.inW - 1];
            continue;
        }
        for (std::int64_t p = 0; p < s.strideW; ++p) {
            float *dst = phased + (iy * s.strideW + p) * phaseWidth;
            std::int64_t count = (s.inW - p + s.strideW - 1) / s.strideW;
            for (std::int64_t j = 0; j < count; ++j)
                dst[j] = src[p + j * s.strideW];
        }
    }
}

void maxPoolPlaneBase(const PlaneJob &job, const float *in, const float *phased, float *out)
{
    maxPoolPlaneImpl(job, in, phased, out);
}
void splitPhasesBase(const Window2dShape &s, std::int64_t phaseWidth, const float *in,
                     float *phased)
{
    splitPhasesImpl(s, phaseWidth, in, phased);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void maxPoolPlaneAvx2(const PlaneJob &job, const float *in, const float *phased,
                                     float *out)
{
    maxPoolPlaneImpl(job, in, phased, out);
}
SB_TARGET_AVX2 void splitPhasesAvx2(const Window2dShape &s, std::int64_t phaseWidth,
                                    const float *in, float *phased)
{
    splitPhasesImpl(s, phaseWidth, in, phased);
}
#endif

// ---- depthwise convolution ----------------------------------------------
//
// Each input plane is first copied into a zero-padded plane (padded rows of
// paddedW columns, enough rows and columns that every tap of every output is
// inside), so the loops below need no bounds checks and no scalar borders.
// Stride 1: the plane is processed as one flat run, output i of the run being
// row i / paddedW (columns past outW are discarded): long vector loops even
// for 7x7 planes. Other strides: per output row, with the padded rows split
// into `strideW` phases so every tap reads contiguous memory.

struct PaddedPlane
{
    std::int64_t rows = 0, cols = 0; // padded plane
    std::int64_t phaseCols = 0;      // columns per phase row (strideW > 1)
    bool flat = false;               // strides 1: one flat run per plane
    std::int64_t flatLength = 0;     // (outH - 1) * cols + outW
};

PaddedPlane paddedPlane(const Window2dShape &s)
{
    PaddedPlane p;
    p.rows =
        std::max(s.padTop + s.inH, (s.outH - 1) * s.strideH + (s.kernelH - 1) * s.dilationH + 1);
    p.cols =
        std::max(s.padLeft + s.inW, (s.outW - 1) * s.strideW + (s.kernelW - 1) * s.dilationW + 1);
    p.phaseCols = (p.cols + s.strideW - 1) / s.strideW;
    p.flat = s.strideH == 1 && s.strideW == 1;
    p.flatLength = (s.outH - 1) * p.cols + s.outW;
    return p;
}

// Copies the input plane into the padded plane's interior (the borders were
// zeroed once for this geometry and are never written).
SB_FAST_INLINE void fillPaddedImpl(const Window2dShape &s, const PaddedPlane &pp,
                                   const float *__restrict in, float *__restrict padded)
{
    for (std::int64_t iy = 0; iy < s.inH; ++iy) {
        const float *src = in + iy * s.inW;
        float *dst = padded + (iy + s.padTop) * pp.cols + s.padLeft;
        for (std::int64_t x = 0; x < s.inW; ++x)
            dst[x] = src[x];
    }
}

// Strided planes: the phase split of the padded plane built straight from the
// input (phase p, column j is input column j * strideW + p - padLeft); the
// zero borders were written once for this geometry.
SB_FAST_INLINE void splitInputImpl(const Window2dShape &s, const PaddedPlane &pp,
                                   const float *__restrict in, float *__restrict phased)
{
    const std::int64_t sw = s.strideW;
    for (std::int64_t p = 0; p < sw; ++p) {
        const std::int64_t off = p - s.padLeft;
        std::int64_t j1 = s.inW - 1 - off < 0 ? 0 : (s.inW - 1 - off) / sw + 1;
        j1 = std::min(j1, pp.phaseCols);
        const std::int64_t j0 = std::min(off >= 0 ? 0 : (-off + sw - 1) / sw, j1);
        for (std::int64_t iy = 0; iy < s.inH; ++iy) {
            const float *src = in + iy * s.inW;
            float *dst = phased + ((iy + s.padTop) * sw + p) * pp.phaseCols;
            if (sw == 2) // constant stride: vectorised
                for (std::int64_t j = j0; j < j1; ++j)
                    dst[j] = src[2 * j + off];
            else
                for (std::int64_t j = j0; j < j1; ++j)
                    dst[j] = src[j * sw + off];
        }
    }
}

// Strides 1: flat[i] = bias + sum of taps at padded[i + ky * dH * cols + kx * dW].
SB_FAST_INLINE void depthwiseFlatImpl(const Window2dShape &s, const PaddedPlane &pp,
                                      const float *padded, const float *w, float bias,
                                      float *__restrict flat)
{
    const std::int64_t n = pp.flatLength;
    if (s.kernelH == 3 && s.kernelW == 3) {
        const std::int64_t rowStep = s.dilationH * pp.cols, colStep = s.dilationW;
        const float *r0 = padded, *r1 = padded + rowStep, *r2 = padded + 2 * rowStep;
        const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
                    w7 = w[7], w8 = w[8];
        for (std::int64_t i = 0; i < n; ++i) {
            float acc = bias + w0 * r0[i] + w1 * r0[i + colStep] + w2 * r0[i + 2 * colStep];
            acc += w3 * r1[i] + w4 * r1[i + colStep] + w5 * r1[i + 2 * colStep];
            acc += w6 * r2[i] + w7 * r2[i + colStep] + w8 * r2[i + 2 * colStep];
            flat[i] = acc;
        }
        return;
    }
    for (std::int64_t i = 0; i < n; ++i)
        flat[i] = bias;
    for (std::int64_t ky = 0; ky < s.kernelH; ++ky)
        for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
            const float *__restrict tap = padded + ky * s.dilationH * pp.cols + kx * s.dilationW;
            const float wv = w[ky * s.kernelW + kx];
            for (std::int64_t i = 0; i < n; ++i)
                flat[i] += wv * tap[i];
        }
}

// Other strides: output row y from the phase-split padded rows.
SB_FAST_INLINE void depthwiseRowsImpl(const Window2dShape &s, const PaddedPlane &pp,
                                      const float *phased, const float *w, float bias, float *out,
                                      const Activation &act)
{
    // Tap kx reads phase (kx * dW) mod strideW at column x + (kx * dW) / strideW.
    auto tapRow = [&](std::int64_t paddedRow, std::int64_t kx) {
        const std::int64_t c = kx * s.dilationW;
        return phased + (paddedRow * s.strideW + c % s.strideW) * pp.phaseCols + c / s.strideW;
    };
    for (std::int64_t y = 0; y < s.outH; ++y) {
        float *__restrict orow = out + y * s.outW;
        const std::int64_t top = y * s.strideH;
        if (s.kernelH == 3 && s.kernelW == 3) {
            const float *r0 = tapRow(top, 0), *r1 = tapRow(top, 1), *r2 = tapRow(top, 2);
            const std::int64_t mid = top + s.dilationH, bottom = top + 2 * s.dilationH;
            const float *r3 = tapRow(mid, 0), *r4 = tapRow(mid, 1), *r5 = tapRow(mid, 2);
            const float *r6 = tapRow(bottom, 0), *r7 = tapRow(bottom, 1), *r8 = tapRow(bottom, 2);
            const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
                        w7 = w[7], w8 = w[8];
            for (std::int64_t x = 0; x < s.outW; ++x) {
                float acc = bias + w0 * r0[x] + w1 * r1[x] + w2 * r2[x];
                acc += w3 * r3[x] + w4 * r4[x] + w5 * r5[x];
                acc += w6 * r6[x] + w7 * r7[x] + w8 * r8[x];
                orow[x] = acc;
            }
        } else {
            for (std::int64_t x = 0; x < s.outW; ++x)
                orow[x] = bias;
            for (std::int64_t ky = 0; ky < s.kernelH; ++ky)
                for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                    const float *__restrict row = tapRow(top + ky * s.dilationH, kx);
                    const float wv = w[ky * s.kernelW + kx];
                    for (std::int64_t x = 0; x < s.outW; ++x)
                        orow[x] += wv * row[x];
                }
        }
        activateLoop(orow, s.outW, act);
    }
}

// Per-thread scratch: the padded plane (stride 1) or its phase split (other
// strides), borders zeroed once per geometry, and the flat output run.
struct DepthwiseScratch
{
    std::vector<float> padded, phased, flat;
    // Geometry the zero borders of padded / phased were written for.
    std::int64_t rows = -1, cols = -1, padTop = -1, padLeft = -1, inH = -1, inW = -1, strideW = -1;
};
thread_local DepthwiseScratch t_depthwise;

SB_FAST_INLINE void depthwisePlaneImpl(const Window2dShape &s, const PaddedPlane &pp,
                                       DepthwiseScratch &scratch, const float *in, const float *w,
                                       float bias, float *out, const Activation &act)
{
    if (pp.flat) {
        fillPaddedImpl(s, pp, in, scratch.padded.data());
        float *flat = scratch.flat.data();
        depthwiseFlatImpl(s, pp, scratch.padded.data(), w, bias, flat);
        for (std::int64_t y = 0; y < s.outH; ++y) {
            float *__restrict orow = out + y * s.outW;
            const float *__restrict frow = flat + y * pp.cols;
            for (std::int64_t x = 0; x < s.outW; ++x)
                orow[x] = frow[x];
            activateLoop(orow, s.outW, act);
        }
        return;
    }
    const float *phased = scratch.padded.data();
    if (s.strideW > 1) {
        splitInputImpl(s, pp, in, scratch.phased.data());
        phased = scratch.phased.data();
    } else {
        fillPaddedImpl(s, pp, in, scratch.padded.data());
    }
    depthwiseRowsImpl(s, pp, phased, w, bias, out, act);
}

void depthwisePlaneBase(const Window2dShape &s, const PaddedPlane &pp, DepthwiseScratch &scratch,
                        const float *in, const float *w, float bias, float *out,
                        const Activation &act)
{
    depthwisePlaneImpl(s, pp, scratch, in, w, bias, out, act);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void depthwisePlaneAvx2(const Window2dShape &s, const PaddedPlane &pp,
                                       DepthwiseScratch &scratch, const float *in, const float *w,
                                       float bias, float *out, const Activation &act)
{
    depthwisePlaneImpl(s, pp, scratch, in, w, bias, out, act);
}
#endif

// This thread's scratch, sized for the geometry with zero borders.
DepthwiseScratch &depthwiseScratch(const Window2dShape &s, const PaddedPlane &pp)
{
    DepthwiseScratch &scratch = t_depthwise;
    if (scratch.rows != pp.rows || scratch.cols != pp.cols || scratch.padTop != s.padTop ||
        scratch.padLeft != s.padLeft || scratch.inH != s.inH || scratch.inW != s.inW ||
        scratch.strideW != s.strideW) {
        if (s.strideW > 1)
            scratch.phased.assign(static_cast<std::size_t>(pp.rows * s.strideW * pp.phaseCols),
                                  0.0f);
        else
            scratch.padded.assign(static_cast<std::size_t>(pp.rows * pp.cols), 0.0f);
        scratch.rows = pp.rows;
        scratch.cols = pp.cols;
        scratch.padTop = s.padTop;
        scratch.padLeft = s.padLeft;
        scratch.inH = s.inH;
        scratch.inW = s.inW;
        scratch.strideW = s.strideW;
    }
    if (pp.flat)
        scratch.flat.resize(static_cast<std::size_t>(s.outH * pp.cols));
    return scratch;
}

thread_local std::vector<float> t_phased;

// Runs planeFn(job, in, phased, planeIndex) over every plane on the pool,
// splitting strided inputs into phases first.
template <typename PlaneFn>
void forEachPlane(runtime::ThreadPool &pool, const Window2dShape &shape, const PlaneJob &job,
                  const float *x, std::int64_t opsPerOutput, PlaneFn planeFn)
{
    auto splitPhases = splitPhasesBase;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx2Fma())
        splitPhases = splitPhasesAvx2;
#endif
    const std::int64_t inPlane = shape.inH * shape.inW;
    // About 16K operations per chunk, so small planes are batched.
    const std::int64_t grain = std::max<std::int64_t>(
        1, 16384 / std::max<std::int64_t>(1, shape.outH * shape.outW * opsPerOutput));
    pool.parallelFor(shape.batch * shape.channels, grain,
                     [&](std::int64_t begin, std::int64_t end) {
                         float *phased = nullptr;
                         if (shape.strideW > 1) {
                             t_phased.resize(static_cast<std::size_t>(shape.inH * shape.strideW *
                                                                      job.phaseWidth));
                             phased = t_phased.data();
                         }
                         for (std::int64_t p = begin; p < end; ++p) {
                             const float *in = x + p * inPlane;
                             if (phased)
                                 splitPhases(shape, job.phaseWidth, in, phased);
                             planeFn(in, phased, p);
                         }
                     });
}

} // namespace

namespace {

// Depthwise planes [begin, end) of batch x channels on this thread, with the
// plane kernel this CPU supports.
void depthwisePlanes(const Window2dShape &shape, const PaddedPlane &pp, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act,
                     std::int64_t begin, std::int64_t end)
{
    auto plane = depthwisePlaneBase;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx2Fma())
        plane = depthwisePlaneAvx2;
#endif
    const std::int64_t inPlane = shape.inH * shape.inW, outPlane = shape.outH * shape.outW;
    const std::int64_t kernelSize = shape.kernelH * shape.kernelW;
    DepthwiseScratch &scratch = depthwiseScratch(shape, pp);
    for (std::int64_t p = begin; p < end; ++p) {
        const std::int64_t c = p % shape.channels;
        plane(shape, pp, scratch, x + p * inPlane, w + c * kernelSize, bias ? bias[c] : 0.0f,
              out + p * outPlane, act);
    }
}

} // namespace

void depthwiseConv2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return;
    const PaddedPlane pp = paddedPlane(shape);
    // About 16K multiply-adds per chunk, so small planes are batched.
    const std::int64_t grain = std::max<std::int64_t>(
        1,
        16384 / std::max<std::int64_t>(1, shape.outH * shape.outW * shape.kernelH * shape.kernelW));
    pool.parallelFor(shape.batch * shape.channels, grain,
                     [&](std::int64_t begin, std::int64_t end) {
                         depthwisePlanes(shape, pp, x, w, bias, out, act, begin, end);
                     });
}

void depthwiseConv2dSerial(const Window2dShape &shape, const float *x, const float *w,
                           const float *bias, float *out, const Activation &act)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return;
    depthwisePlanes(shape, paddedPlane(shape), x, w, bias, out, act, 0,
                    shape.batch * shape.channels);
}

void maxPool2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x, float *out)
{
    std::vector<TapColumns> taps;
    const PlaneJob job = planeJob(shape, taps);
    auto plane = maxPoolPlaneBase;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx2Fma())
        plane = maxPoolPlaneAvx2;
#endif
    const std::int64_t outPlane = shape.outH * shape.outW;
    forEachPlane(pool, shape, job, x, shape.kernelH * shape.kernelW,
                 [&](const float *in, const float *phased, std::int64_t p) {
                     plane(job, in, phased, out + p * outPlane);
                 });
}

} // namespace sb::kernels
