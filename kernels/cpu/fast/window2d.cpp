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

SB_FAST_INLINE void depthwisePlaneImpl(const PlaneJob &job, const float *in, const float *phased,
                                       const float *w, float bias, float *out,
                                       const Activation &act)
{
    const Window2dShape &s = *job.shape;
    const TapColumns *taps = job.taps;
    // One output element with bounds checks (borders).
    auto scalarAt = [&](std::int64_t y, std::int64_t x) {
        float acc = bias;
        for (std::int64_t ky = 0; ky < s.kernelH; ++ky) {
            std::int64_t iy = y * s.strideH - s.padTop + ky * s.dilationH;
            if (iy < 0 || iy >= s.inH)
                continue;
            for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                std::int64_t ix = x * s.strideW + taps[kx].offset;
                if (ix >= 0 && ix < s.inW)
                    acc += in[iy * s.inW + ix] * w[ky * s.kernelW + kx];
            }
        }
        return acc;
    };
    const bool is3x3 = s.kernelH == 3 && s.kernelW == 3;
    for (std::int64_t y = 0; y < s.outH; ++y) {
        float *__restrict orow = out + y * s.outW;
        const std::int64_t iyTop = y * s.strideH - s.padTop;
        if (is3x3 && iyTop >= 0 && iyTop + 2 * s.dilationH < s.inH) {
            const std::int64_t iy1 = iyTop + s.dilationH, iy2 = iyTop + 2 * s.dilationH;
            const float *r0 = tapRow(job, in, phased, iyTop, 0);
            const float *r1 = tapRow(job, in, phased, iyTop, 1);
            const float *r2 = tapRow(job, in, phased, iyTop, 2);
            const float *r3 = tapRow(job, in, phased, iy1, 0);
            const float *r4 = tapRow(job, in, phased, iy1, 1);
            const float *r5 = tapRow(job, in, phased, iy1, 2);
            const float *r6 = tapRow(job, in, phased, iy2, 0);
            const float *r7 = tapRow(job, in, phased, iy2, 1);
            const float *r8 = tapRow(job, in, phased, iy2, 2);
            const std::int64_t s0 = taps[0].shift, s1 = taps[1].shift, s2 = taps[2].shift;
            const float w0 = w[0], w1 = w[1], w2 = w[2], w3 = w[3], w4 = w[4], w5 = w[5], w6 = w[6],
                        w7 = w[7], w8 = w[8];
            for (std::int64_t x = 0; x < job.interiorX0; ++x)
                orow[x] = scalarAt(y, x);
            for (std::int64_t x = job.interiorX0; x < job.interiorX1; ++x) {
                float acc = bias + w0 * r0[x + s0] + w1 * r1[x + s1] + w2 * r2[x + s2];
                acc += w3 * r3[x + s0] + w4 * r4[x + s1] + w5 * r5[x + s2];
                acc += w6 * r6[x + s0] + w7 * r7[x + s1] + w8 * r8[x + s2];
                orow[x] = acc;
            }
            for (std::int64_t x = job.interiorX1; x < s.outW; ++x)
                orow[x] = scalarAt(y, x);
        } else {
            // Any kernel, or a row touching the top/bottom padding: one pass per tap.
            for (std::int64_t x = 0; x < s.outW; ++x)
                orow[x] = bias;
            for (std::int64_t ky = 0; ky < s.kernelH; ++ky) {
                std::int64_t iy = iyTop + ky * s.dilationH;
                if (iy < 0 || iy >= s.inH)
                    continue;
                for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                    const float *__restrict row = tapRow(job, in, phased, iy, kx);
                    const float wv = w[ky * s.kernelW + kx];
                    const std::int64_t shift = taps[kx].shift;
                    for (std::int64_t x = taps[kx].x0; x < taps[kx].x1; ++x)
                        orow[x] += wv * row[x + shift];
                }
            }
        }
        activateLoop(orow, s.outW, act);
    }
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

void depthwisePlaneBase(const PlaneJob &job, const float *in, const float *phased, const float *w,
                        float bias, float *out, const Activation &act)
{
    depthwisePlaneImpl(job, in, phased, w, bias, out, act);
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
SB_TARGET_AVX2 void depthwisePlaneAvx2(const PlaneJob &job, const float *in, const float *phased,
                                       const float *w, float bias, float *out,
                                       const Activation &act)
{
    depthwisePlaneImpl(job, in, phased, w, bias, out, act);
}
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

void depthwiseConv2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act)
{
    std::vector<TapColumns> taps;
    const PlaneJob job = planeJob(shape, taps);
    auto plane = depthwisePlaneBase;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx2Fma())
        plane = depthwisePlaneAvx2;
#endif
    const std::int64_t outPlane = shape.outH * shape.outW;
    const std::int64_t kernelSize = shape.kernelH * shape.kernelW;
    forEachPlane(pool, shape, job, x, kernelSize,
                 [&](const float *in, const float *phased, std::int64_t p) {
                     const std::int64_t c = p % shape.channels;
                     plane(job, in, phased, w + c * kernelSize, bias ? bias[c] : 0.0f,
                           out + p * outPlane, act);
                 });
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
