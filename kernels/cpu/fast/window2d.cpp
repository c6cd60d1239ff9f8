#include "kernels/cpu/fast/window2d.h"

#include "kernels/cpu/fast/epilogue.h"
#include "kernels/cpu/fast/scratch.h"
#include "kernels/cpu/fast/simd.h"

#include <algorithm>
#include <limits>
#include <vector>

#if SB_HAVE_AVX2_DISPATCH
#include <immintrin.h>
#endif

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

// Copies the input plane, through the input activation, into the padded
// plane's interior (the borders were zeroed once for this geometry and are
// never written: padding is zero after the activation too).
SB_FAST_INLINE void fillPaddedImpl(const Window2dShape &s, const PaddedPlane &pp,
                                   const float *__restrict in, float *__restrict padded,
                                   const Activation &inAct)
{
    for (std::int64_t iy = 0; iy < s.inH; ++iy) {
        const float *src = in + iy * s.inW;
        float *dst = padded + (iy + s.padTop) * pp.cols + s.padLeft;
        for (std::int64_t x = 0; x < s.inW; ++x)
            dst[x] = src[x];
        activateLoop(dst, s.inW, inAct);
    }
}

// Strided planes: the phase split of the padded plane built straight from the
// input (phase p, column j is input column j * strideW + p - padLeft); the
// zero borders were written once for this geometry.
SB_FAST_INLINE void splitInputImpl(const Window2dShape &s, const PaddedPlane &pp,
                                   const float *__restrict in, float *__restrict phased,
                                   const Activation &inAct)
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
            activateLoop(dst + j0, j1 - j0, inAct);
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

SB_FAST_INLINE void depthwisePlaneImpl(const Window2dShape &s, const PaddedPlane &pp,
                                       DepthwiseScratch &scratch, const float *in, const float *w,
                                       float bias, float *out, const Activation &inAct,
                                       const Activation &act)
{
    if (pp.flat) {
        fillPaddedImpl(s, pp, in, scratch.padded.data(), inAct);
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
        splitInputImpl(s, pp, in, scratch.phased.data(), inAct);
        phased = scratch.phased.data();
    } else {
        fillPaddedImpl(s, pp, in, scratch.padded.data(), inAct);
    }
    depthwiseRowsImpl(s, pp, phased, w, bias, out, act);
}

void depthwisePlaneBase(const Window2dShape &s, const PaddedPlane &pp, DepthwiseScratch &scratch,
                        const float *in, const float *w, float bias, float *out,
                        const Activation &inAct, const Activation &act)
{
    depthwisePlaneImpl(s, pp, scratch, in, w, bias, out, inAct, act);
}
// The 3x3 plane kernel of depthwise3x3_simd.inc applies: dilation 1, equal
// strides 1 or 2, an activation the vector epilogue has.
bool depthwise3x3SimdApplies(const Window2dShape &s, const Activation &act)
{
    return s.kernelH == 3 && s.kernelW == 3 && s.dilationH == 1 && s.dilationW == 1 &&
           s.strideH == s.strideW && (s.strideW == 1 || s.strideW == 2) &&
           act.kind != Activation::Gelu;
}

#if SB_HAVE_AVX2_DISPATCH
namespace avx2 {

// 8 lanes. Masked vector stores are microcoded and slow on AMD cores: a
// partial vector goes through a small buffer instead.
struct Vec
{
    using F = __m256;
    using Mask = __m256i;
    static constexpr std::int64_t kLanes = 8;
    static constexpr bool kCheapMasks = false;
    SB_FAST_INLINE SB_TARGET_AVX2 static F set1(float v) { return _mm256_set1_ps(v); }
    SB_FAST_INLINE SB_TARGET_AVX2 static F zero() { return _mm256_setzero_ps(); }
    SB_FAST_INLINE SB_TARGET_AVX2 static F load(const float *p) { return _mm256_loadu_ps(p); }
    SB_FAST_INLINE SB_TARGET_AVX2 static void store(float *p, F v) { _mm256_storeu_ps(p, v); }
    SB_FAST_INLINE SB_TARGET_AVX2 static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
    SB_FAST_INLINE SB_TARGET_AVX2 static F max(F a, F b) { return _mm256_max_ps(a, b); }
    SB_FAST_INLINE SB_TARGET_AVX2 static F min(F a, F b) { return _mm256_min_ps(a, b); }
    SB_FAST_INLINE SB_TARGET_AVX2 static Mask mask(std::int64_t lanes)
    {
        alignas(32) static const std::int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                            0,  0,  0,  0,  0,  0,  0,  0};
        return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kTable + 8 - lanes));
    }
    SB_FAST_INLINE SB_TARGET_AVX2 static F maskLoad(const float *p, Mask m)
    {
        return _mm256_maskload_ps(p, m);
    }
    SB_FAST_INLINE SB_TARGET_AVX2 static void maskStore(float *p, F v, Mask, std::int64_t lanes)
    {
        alignas(32) float buffer[8];
        _mm256_store_ps(buffer, v);
        for (std::int64_t i = 0; i < lanes; ++i)
            p[i] = buffer[i];
    }
    // [a0 a2 b0 b2 a4 a6 b4 b6] -> [a0 a2 a4 a6 b0 b2 b4 b6]; odd lanes alike.
    SB_FAST_INLINE SB_TARGET_AVX2 static void deinterleave(F a, F b, F &even, F &odd)
    {
        even = _mm256_castpd_ps(_mm256_permute4x64_pd(
            _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
            _MM_SHUFFLE(3, 1, 2, 0)));
        odd = _mm256_castpd_ps(_mm256_permute4x64_pd(
            _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
            _MM_SHUFFLE(3, 1, 2, 0)));
    }
};

#define SB_SIMD_TARGET SB_TARGET_AVX2
#include "kernels/cpu/fast/depthwise3x3_simd.inc"
#undef SB_SIMD_TARGET

} // namespace avx2

// GCC 12's avx512fintrin.h builds max/min from _mm512_undefined_ps(), which
// trips -Wmaybe-uninitialized once inlined (GCC bug 105593, fixed in GCC
// 13); the warning is about the header, not this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
namespace avx512 {

// 16 lanes; partial vectors use mask registers (fast loads and stores).
struct Vec
{
    using F = __m512;
    using Mask = __mmask16;
    static constexpr std::int64_t kLanes = 16;
    static constexpr bool kCheapMasks = true;
    SB_FAST_INLINE SB_TARGET_AVX512 static F set1(float v) { return _mm512_set1_ps(v); }
    SB_FAST_INLINE SB_TARGET_AVX512 static F zero() { return _mm512_setzero_ps(); }
    SB_FAST_INLINE SB_TARGET_AVX512 static F load(const float *p) { return _mm512_loadu_ps(p); }
    SB_FAST_INLINE SB_TARGET_AVX512 static void store(float *p, F v) { _mm512_storeu_ps(p, v); }
    SB_FAST_INLINE SB_TARGET_AVX512 static F fmadd(F a, F b, F c)
    {
        return _mm512_fmadd_ps(a, b, c);
    }
    SB_FAST_INLINE SB_TARGET_AVX512 static F max(F a, F b) { return _mm512_max_ps(a, b); }
    SB_FAST_INLINE SB_TARGET_AVX512 static F min(F a, F b) { return _mm512_min_ps(a, b); }
    SB_FAST_INLINE SB_TARGET_AVX512 static Mask mask(std::int64_t lanes)
    {
        return static_cast<Mask>((1u << lanes) - 1u);
    }
    SB_FAST_INLINE SB_TARGET_AVX512 static F maskLoad(const float *p, Mask m)
    {
        return _mm512_maskz_loadu_ps(m, p);
    }
    SB_FAST_INLINE SB_TARGET_AVX512 static void maskStore(float *p, F v, Mask m, std::int64_t)
    {
        _mm512_mask_storeu_ps(p, m, v);
    }
    SB_FAST_INLINE SB_TARGET_AVX512 static void deinterleave(F a, F b, F &even, F &odd)
    {
        const __m512i evens =
            _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const __m512i odds =
            _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        even = _mm512_permutex2var_ps(a, evens, b);
        odd = _mm512_permutex2var_ps(a, odds, b);
    }
};

#define SB_SIMD_TARGET SB_TARGET_AVX512
#include "kernels/cpu/fast/depthwise3x3_simd.inc"
#undef SB_SIMD_TARGET

} // namespace avx512
#pragma GCC diagnostic pop
#endif

// The padded plane (stride 1) or its phase split (other strides) first, then
// the flat output run (strides 1).
std::int64_t planeFloats(const Window2dShape &s, const PaddedPlane &pp)
{
    return s.strideW > 1 ? pp.rows * s.strideW * pp.phaseCols : pp.rows * pp.cols;
}

// The scratch laid out for the geometry, its zero borders written when the
// geometry changed since its last use.
DepthwiseScratch &depthwiseScratch(DepthwiseScratch &scratch, const Window2dShape &s,
                                   const PaddedPlane &pp)
{
    if (scratch.rows != pp.rows || scratch.cols != pp.cols || scratch.padTop != s.padTop ||
        scratch.padLeft != s.padLeft || scratch.inH != s.inH || scratch.inW != s.inW ||
        scratch.strideW != s.strideW) {
        const std::int64_t plane = planeFloats(s, pp);
        std::fill(scratch.memory, scratch.memory + plane, 0.0f);
        scratch.padded.p = scratch.memory;
        scratch.phased.p = scratch.memory;
        scratch.flat.p = scratch.memory + plane;
        scratch.rows = pp.rows;
        scratch.cols = pp.cols;
        scratch.padTop = s.padTop;
        scratch.padLeft = s.padLeft;
        scratch.inH = s.inH;
        scratch.inW = s.inW;
        scratch.strideW = s.strideW;
    }
    return scratch;
}

// Floats of one thread's phase split of a strided input plane (0: stride 1).
std::int64_t phasedFloats(const Window2dShape &shape)
{
    const std::int64_t phaseWidth = (shape.inW + shape.strideW - 1) / shape.strideW;
    return shape.strideW > 1 ? scratchSlice(shape.inH * shape.strideW * phaseWidth) : 0;
}

// Runs planeFn(job, in, phased, planeIndex) over every plane on the pool,
// splitting strided inputs into phases first (in the thread's slice of
// `scratch`, phasedFloats each).
template <typename PlaneFn>
void forEachPlane(runtime::ThreadPool &pool, const Window2dShape &shape, const PlaneJob &job,
                  const float *x, std::int64_t opsPerOutput, float *scratch, PlaneFn planeFn)
{
    const auto splitPhases = SB_PICK_AVX2(splitPhasesBase, splitPhasesAvx2);
    const std::int64_t inPlane = shape.inH * shape.inW;
    // About 16K operations per chunk, so small planes are batched.
    const std::int64_t grain = std::max<std::int64_t>(
        1, 16384 / std::max<std::int64_t>(1, shape.outH * shape.outW * opsPerOutput));
    pool.parallelFor(
        shape.batch * shape.channels, grain, [&](std::int64_t begin, std::int64_t end) {
            float *phased =
                shape.strideW > 1 ? scratch + pool.slot() * phasedFloats(shape) : nullptr;
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

using DepthwisePlaneFn = void (*)(const Window2dShape &, const PaddedPlane &, DepthwiseScratch &,
                                  const float *, const float *, float, float *, const Activation &,
                                  const Activation &);

// The plane kernel for this CPU and geometry (depthwiseConv2dIsa).
DepthwisePlaneFn depthwisePlaneFor(const Window2dShape &shape)
{
    switch (depthwiseConv2dIsa(shape)) {
#if SB_HAVE_AVX2_DISPATCH
    case CpuIsa::Avx512:
        return avx512::depthwisePlane;
    case CpuIsa::Avx2:
        return avx2::depthwisePlane;
#endif
    default:
        return depthwisePlaneBase;
    }
}

// Depthwise planes [begin, end) of batch x channels on this thread, with the
// plane kernel for this CPU and geometry.
void depthwisePlanes(const Window2dShape &shape, const PaddedPlane &pp, const float *x,
                     std::int64_t inPlane, const float *w, const float *bias, float *out,
                     std::int64_t outPlane, const Activation &inAct, const Activation &act,
                     std::int64_t begin, std::int64_t end, DepthwiseScratch &threadScratch)
{
    const auto plane = depthwisePlaneFor(shape);
    const std::int64_t kernelSize = shape.kernelH * shape.kernelW;
    DepthwiseScratch &scratch = depthwiseScratch(threadScratch, shape, pp);
    for (std::int64_t p = begin; p < end; ++p) {
        const std::int64_t c = p % shape.channels;
        plane(shape, pp, scratch, x + p * inPlane, w + c * kernelSize, bias ? bias[c] : 0.0f,
              out + p * outPlane, inAct, act);
    }
}

} // namespace

CpuIsa depthwiseConv2dIsa(const Window2dShape &shape)
{
    // 3x3 stride 2 with output rows shorter than two 16-lane vectors.
    const bool avx512Wins = shape.kernelH == 3 && shape.kernelW == 3 && shape.dilationH == 1 &&
                            shape.dilationW == 1 && shape.strideH == 2 && shape.strideW == 2 &&
                            shape.outW < 32;
    // Measured on Zen 4 (512-bit operations split in two); on full-width
    // units the AVX-512 planes win everywhere (MobileNetV2's fused expand +
    // depthwise nodes on a Zen 5 core: 0.73 -> 0.65 ms at 56x56, 0.25 ->
    // 0.21 ms at 28x28, batch 2, 2 threads).
    if ((avx512Wins || cpuAvx512FullWidth()) && cpuHasAvx512())
        return CpuIsa::Avx512;
    return cpuHasAvx2Fma() ? CpuIsa::Avx2 : CpuIsa::Baseline;
}

std::int64_t depthwiseScratchFloats(const Window2dShape &shape)
{
    const PaddedPlane pp = paddedPlane(shape);
    return scratchSlice(planeFloats(shape, pp) + (pp.flat ? shape.outH * pp.cols : 0));
}

std::int64_t depthwiseConv2dScratchFloats(const Window2dShape &shape, int threads)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return 0;
    return threads * depthwiseScratchFloats(shape);
}

void depthwiseConv2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act,
                     float *scratch)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return;
    const PaddedPlane pp = paddedPlane(shape);
    // About 16K multiply-adds per chunk, so small planes are batched.
    const std::int64_t grain = std::max<std::int64_t>(
        1,
        16384 / std::max<std::int64_t>(1, shape.outH * shape.outW * shape.kernelH * shape.kernelW));
    pool.parallelFor(
        shape.batch * shape.channels, grain, [&](std::int64_t begin, std::int64_t end) {
            DepthwiseScratch mine;
            mine.memory = scratch + pool.slot() * depthwiseScratchFloats(shape);
            depthwisePlanes(shape, pp, x, shape.inH * shape.inW, w, bias, out,
                            shape.outH * shape.outW, Activation{}, act, begin, end, mine);
        });
}

void depthwiseConv2dSerial(const Window2dShape &shape, const float *x, std::int64_t inPlane,
                           const Activation &inAct, const float *w, const float *bias, float *out,
                           std::int64_t outPlane, const Activation &act, DepthwiseScratch &scratch)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return;
    depthwisePlanes(shape, paddedPlane(shape), x, inPlane, w, bias, out, outPlane, inAct, act, 0,
                    shape.batch * shape.channels, scratch);
}

namespace {

SB_FAST_INLINE void depthwiseChannelsLastImpl(const Window2dShape &s, std::int64_t channels,
                                              std::int64_t ld, const float *x, const float *wT,
                                              const float *bias, float *out, std::int64_t ldOut,
                                              const Activation &act)
{
    for (std::int64_t oy = 0; oy < s.outH; ++oy)
        for (std::int64_t ox = 0; ox < s.outW; ++ox) {
            float *__restrict o = out + (oy * s.outW + ox) * ldOut;
            for (std::int64_t c = 0; c < channels; ++c)
                o[c] = bias ? bias[c] : 0.0f;
            for (std::int64_t ky = 0; ky < s.kernelH; ++ky) {
                const std::int64_t iy = oy * s.strideH - s.padTop + ky * s.dilationH;
                if (iy < 0 || iy >= s.inH)
                    continue;
                for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                    const std::int64_t ix = ox * s.strideW - s.padLeft + kx * s.dilationW;
                    if (ix < 0 || ix >= s.inW)
                        continue;
                    const float *__restrict in = x + (iy * s.inW + ix) * ld;
                    const float *__restrict w = wT + (ky * s.kernelW + kx) * ld;
                    for (std::int64_t c = 0; c < channels; ++c)
                        o[c] += w[c] * in[c];
                }
            }
            activateLoop(o, channels, act);
        }
}

void depthwiseChannelsLastBase(const Window2dShape &s, std::int64_t channels, std::int64_t ld,
                               const float *x, const float *wT, const float *bias, float *out,
                               std::int64_t ldOut, const Activation &act)
{
    depthwiseChannelsLastImpl(s, channels, ld, x, wT, bias, out, ldOut, act);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void depthwiseChannelsLastAvx2(const Window2dShape &s, std::int64_t channels,
                                              std::int64_t ld, const float *x, const float *wT,
                                              const float *bias, float *out, std::int64_t ldOut,
                                              const Activation &act)
{
    depthwiseChannelsLastImpl(s, channels, ld, x, wT, bias, out, ldOut, act);
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// One output pixel's channels [0, 16 * Vectors) (the last vector masked to
// `last`) over its taps inside the input: the sums stay in registers across
// the taps (the plain loop above loads and stores every output vector per
// tap), then the activation and one store per vector. NaN as activateLoop:
// max/min return their second operand when either is NaN.
template <int Vectors>
SB_FAST_INLINE SB_TARGET_AVX512 void
depthwiseChannelsLastPixelAvx512(const float *x, const float *wT, const std::int64_t *xOffsets,
                                 const std::int64_t *wOffsets, int taps, const float *bias,
                                 float *o, __mmask16 last, const Activation &act)
{
    __m512 acc[Vectors];
    for (int v = 0; v < Vectors - 1; ++v)
        acc[v] = bias ? _mm512_loadu_ps(bias + 16 * v) : _mm512_setzero_ps();
    acc[Vectors - 1] =
        bias ? _mm512_maskz_loadu_ps(last, bias + 16 * (Vectors - 1)) : _mm512_setzero_ps();
    for (int t = 0; t < taps; ++t) {
        const float *in = x + xOffsets[t], *w = wT + wOffsets[t];
        for (int v = 0; v < Vectors - 1; ++v)
            acc[v] =
                _mm512_fmadd_ps(_mm512_loadu_ps(w + 16 * v), _mm512_loadu_ps(in + 16 * v), acc[v]);
        constexpr int l = Vectors - 1;
        acc[l] = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(last, w + 16 * l),
                                 _mm512_maskz_loadu_ps(last, in + 16 * l), acc[l]);
    }
    if (act.kind == Activation::Relu) {
        for (int v = 0; v < Vectors; ++v)
            acc[v] = _mm512_max_ps(acc[v], _mm512_setzero_ps());
    } else if (act.kind == Activation::Clip) {
        const __m512 lo = _mm512_set1_ps(act.lo), hi = _mm512_set1_ps(act.hi);
        for (int v = 0; v < Vectors; ++v)
            acc[v] = _mm512_min_ps(hi, _mm512_max_ps(lo, acc[v]));
    }
    for (int v = 0; v < Vectors - 1; ++v)
        _mm512_storeu_ps(o + 16 * v, acc[v]);
    _mm512_mask_storeu_ps(o + 16 * (Vectors - 1), last, acc[Vectors - 1]);
    if (act.kind == Activation::Gelu)
        geluRow(o, o, 16 * (Vectors - 1) + _mm_popcnt_u32(last));
}

SB_TARGET_AVX512 void depthwiseChannelsLastAvx512(const Window2dShape &s, std::int64_t channels,
                                                  std::int64_t ld, const float *x, const float *wT,
                                                  const float *bias, float *out, std::int64_t ldOut,
                                                  const Activation &act)
{
    constexpr int kMaxTaps = 64;
    if (s.kernelH * s.kernelW > kMaxTaps)
        return depthwiseChannelsLastImpl(s, channels, ld, x, wT, bias, out, ldOut, act);
    std::int64_t xOffsets[kMaxTaps], wOffsets[kMaxTaps];
    const std::int64_t rest = channels % 64;
    const int restVectors = static_cast<int>((rest + 15) / 16);
    const auto restLast = static_cast<__mmask16>(
        rest % 16 == 0 ? 0xFFFFu : (1u << static_cast<unsigned>(rest % 16)) - 1u);
    for (std::int64_t oy = 0; oy < s.outH; ++oy)
        for (std::int64_t ox = 0; ox < s.outW; ++ox) {
            int taps = 0;
            for (std::int64_t ky = 0; ky < s.kernelH; ++ky) {
                const std::int64_t iy = oy * s.strideH - s.padTop + ky * s.dilationH;
                if (iy < 0 || iy >= s.inH)
                    continue;
                for (std::int64_t kx = 0; kx < s.kernelW; ++kx) {
                    const std::int64_t ix = ox * s.strideW - s.padLeft + kx * s.dilationW;
                    if (ix < 0 || ix >= s.inW)
                        continue;
                    xOffsets[taps] = (iy * s.inW + ix) * ld;
                    wOffsets[taps] = (ky * s.kernelW + kx) * ld;
                    ++taps;
                }
            }
            float *o = out + (oy * s.outW + ox) * ldOut;
            std::int64_t c = 0;
            for (; c + 64 <= channels; c += 64)
                depthwiseChannelsLastPixelAvx512<4>(x + c, wT + c, xOffsets, wOffsets, taps,
                                                    bias ? bias + c : nullptr, o + c, 0xFFFF, act);
            const float *b = bias ? bias + c : nullptr;
            switch (restVectors) {
            case 1:
                depthwiseChannelsLastPixelAvx512<1>(x + c, wT + c, xOffsets, wOffsets, taps, b,
                                                    o + c, restLast, act);
                break;
            case 2:
                depthwiseChannelsLastPixelAvx512<2>(x + c, wT + c, xOffsets, wOffsets, taps, b,
                                                    o + c, restLast, act);
                break;
            case 3:
                depthwiseChannelsLastPixelAvx512<3>(x + c, wT + c, xOffsets, wOffsets, taps, b,
                                                    o + c, restLast, act);
                break;
            case 4:
                depthwiseChannelsLastPixelAvx512<4>(x + c, wT + c, xOffsets, wOffsets, taps, b,
                                                    o + c, restLast, act);
                break;
            default:
                break;
            }
        }
}

#pragma GCC diagnostic pop
#endif

} // namespace

CpuIsa depthwiseConv2dChannelsLastIsa()
{
    if (cpuAvx512FullWidth())
        return CpuIsa::Avx512;
    return cpuHasAvx2Fma() ? CpuIsa::Avx2 : CpuIsa::Baseline;
}

void depthwiseConv2dChannelsLast(const Window2dShape &shape, std::int64_t channels, std::int64_t ld,
                                 const float *x, const float *wT, const float *bias, float *out,
                                 std::int64_t ldOut, const Activation &act)
{
    switch (depthwiseConv2dChannelsLastIsa()) {
#if SB_HAVE_AVX2_DISPATCH
    case CpuIsa::Avx512:
        return depthwiseChannelsLastAvx512(shape, channels, ld, x, wT, bias, out, ldOut, act);
    case CpuIsa::Avx2:
        return depthwiseChannelsLastAvx2(shape, channels, ld, x, wT, bias, out, ldOut, act);
#endif
    default:
        return depthwiseChannelsLastBase(shape, channels, ld, x, wT, bias, out, ldOut, act);
    }
}

namespace {

// ResNet's stem pool (3x3, stride 2, padding of at most 1, no dilation) has
// a loop of its own on AVX-512: the generic one splits every plane into its
// stride phases and then takes the max over nine taps, which measured 0.67
// ms for ResNet-18's 2 x 64 planes of 112x112 on a Zen 5 core pair where
// ONNX Runtime takes 0.16 ms.
bool maxPool3x3Stride2(const Window2dShape &s)
{
    return s.kernelH == 3 && s.kernelW == 3 && s.strideH == 2 && s.strideW == 2 &&
           s.dilationH == 1 && s.dilationW == 1 && s.padTop >= 0 && s.padTop <= 1 &&
           s.padLeft >= 0 && s.padLeft <= 1 && cpuHasAvx512();
}

// Floats of one thread's row buffer: a leading -inf (column -1), the row's
// max in whole vectors, and -inf after it for the last outputs' reads.
std::int64_t maxPool3x3Stride2RowFloats(const Window2dShape &s)
{
    return scratchSlice(1 + (s.inW + 15) / 16 * 16 + 64);
}

#if SB_HAVE_AVX2_DISPATCH
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized once inlined (GCC bug
// 105593, as above).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
// One plane: per output row, the max of its (up to) three input rows into
// `rowMax`, then each output's max over three neighbours of it, the even and
// odd columns picked by permutes, 16 outputs at a time. Padding is -inf,
// so it never wins (ONNX's max over the window's real elements).
SB_TARGET_AVX512 void maxPool3x3Stride2Plane(const Window2dShape &s, const float *in, float *out,
                                             float *rowMax)
{
    const __m512 lowest = _mm512_set1_ps(-std::numeric_limits<float>::infinity());
    std::fill(rowMax, rowMax + maxPool3x3Stride2RowFloats(s),
              -std::numeric_limits<float>::infinity());
    const __m512i even =
        _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd =
        _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    float *row = rowMax + 1; // row[x] = column x's max, row[-1] = -inf
    for (std::int64_t oy = 0; oy < s.outH; ++oy) {
        const float *rows[3];
        int count = 0;
        for (std::int64_t iy = oy * 2 - s.padTop; iy < oy * 2 - s.padTop + 3; ++iy)
            if (iy >= 0 && iy < s.inH)
                rows[count++] = in + iy * s.inW;
        for (std::int64_t x = 0; x < s.inW; x += 16) {
            const std::int64_t left = s.inW - x;
            const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u);
            __m512 v = lowest;
            for (int r = 0; r < count; ++r)
                v = _mm512_max_ps(v, _mm512_mask_loadu_ps(lowest, mask, rows[r] + x));
            _mm512_storeu_ps(row + x, v);
        }
        // Output ox covers columns 2 ox - padLeft + {0, 1, 2}.
        const float *base = row - s.padLeft;
        float *o = out + oy * s.outW;
        for (std::int64_t ox = 0; ox < s.outW; ox += 16) {
            const float *p = base + 2 * ox;
            const __m512 a = _mm512_loadu_ps(p), b = _mm512_loadu_ps(p + 16);
            const __m512 a2 = _mm512_loadu_ps(p + 2), b2 = _mm512_loadu_ps(p + 18);
            const __m512 m = _mm512_max_ps(_mm512_max_ps(_mm512_permutex2var_ps(a, even, b),
                                                         _mm512_permutex2var_ps(a, odd, b)),
                                           _mm512_permutex2var_ps(a2, even, b2));
            const std::int64_t left = s.outW - ox;
            _mm512_mask_storeu_ps(
                o + ox, static_cast<__mmask16>(left >= 16 ? 0xFFFFu : (1u << left) - 1u), m);
        }
    }
}
#pragma GCC diagnostic pop
#endif

} // namespace

std::int64_t maxPool2dScratchFloats(const Window2dShape &shape, int threads)
{
    if (maxPool3x3Stride2(shape))
        return threads * maxPool3x3Stride2RowFloats(shape);
    return threads * phasedFloats(shape);
}

void maxPool2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x, float *out,
               float *scratch)
{
#if SB_HAVE_AVX2_DISPATCH
    if (maxPool3x3Stride2(shape)) {
        const std::int64_t inPlane = shape.inH * shape.inW, outPlane = shape.outH * shape.outW;
        const std::int64_t slice = maxPool3x3Stride2RowFloats(shape);
        pool.parallelFor(
            shape.batch * shape.channels, 4, [&](std::int64_t begin, std::int64_t end) {
                float *rowMax = scratch + pool.slot() * slice;
                for (std::int64_t p = begin; p < end; ++p)
                    maxPool3x3Stride2Plane(shape, x + p * inPlane, out + p * outPlane, rowMax);
            });
        return;
    }
#endif
    std::vector<TapColumns> taps;
    const PlaneJob job = planeJob(shape, taps);
    const auto plane = SB_PICK_AVX2(maxPoolPlaneBase, maxPoolPlaneAvx2);
    const std::int64_t outPlane = shape.outH * shape.outW;
    forEachPlane(pool, shape, job, x, shape.kernelH * shape.kernelW, scratch,
                 [&](const float *in, const float *phased, std::int64_t p) {
                     plane(job, in, phased, out + p * outPlane);
                 });
}

} // namespace sb::kernels
