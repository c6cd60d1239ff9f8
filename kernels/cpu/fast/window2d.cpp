#include "kernels/cpu/fast/window2d.h"

#include "kernels/cpu/fast/epilogue.h"
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
#if SB_HAVE_AVX2_DISPATCH
// 3x3, dilation 1, strides 1 or 2 (MobileNet's depthwise convs) written with
// AVX2 intrinsics: bias, nine taps and the activation in registers, stored
// straight into the output rows (rows of 8 or more end with an overlapping
// vector, shorter ones go through a buffer), two output rows per pass at
// stride 1 so each input row is loaded once for both. Tap kx of padded row r
// reads tapsOf(r)[kx][x] for output column x.
bool depthwise3x3Avx2Applies(const Window2dShape &s, const Activation &act)
{
    return s.kernelH == 3 && s.kernelW == 3 && s.dilationH == 1 && s.dilationW == 1 &&
           s.strideH == s.strideW && (s.strideW == 1 || s.strideW == 2) &&
           act.kind != Activation::Gelu;
}

SB_TARGET_AVX2 inline __m256i laneMask(std::int64_t lanes)
{
    alignas(32) static const std::int32_t kTable[16] = {-1, -1, -1, -1, -1, -1, -1, -1,
                                                        0,  0,  0,  0,  0,  0,  0,  0};
    return _mm256_loadu_si256(reinterpret_cast<const __m256i *>(kTable + 8 - lanes));
}

// The activation on 8 lanes, with the scalar epilogue's NaN behaviour
// (max/min return their second operand when either is NaN).
template <Activation::Kind Kind>
SB_TARGET_AVX2 inline __m256 activate8(__m256 v, __m256 lo, __m256 hi)
{
    if constexpr (Kind == Activation::Relu)
        return _mm256_max_ps(v, _mm256_setzero_ps()); // v > 0 ? v : 0
    else if constexpr (Kind == Activation::Clip)
        return _mm256_min_ps(hi, _mm256_max_ps(lo, v)); // hi < v ? hi : (v < lo ? lo : v)
    else
        return v;
}

struct Taps3x3
{
    __m256 w[9];
    __m256 bias, lo, hi;
};

// acc + the three taps of one input row (row pointers for kx = 0, 1, 2).
template <bool Masked>
SB_TARGET_AVX2 inline __m256 rowTaps(__m256 acc, const float *t0, const float *t1, const float *t2,
                                     const __m256 *w, __m256i mask)
{
    if constexpr (Masked) {
        acc = _mm256_fmadd_ps(w[0], _mm256_maskload_ps(t0, mask), acc);
        acc = _mm256_fmadd_ps(w[1], _mm256_maskload_ps(t1, mask), acc);
        return _mm256_fmadd_ps(w[2], _mm256_maskload_ps(t2, mask), acc);
    } else {
        acc = _mm256_fmadd_ps(w[0], _mm256_loadu_ps(t0), acc);
        acc = _mm256_fmadd_ps(w[1], _mm256_loadu_ps(t1), acc);
        return _mm256_fmadd_ps(w[2], _mm256_loadu_ps(t2), acc);
    }
}

// Masked vector stores are microcoded and slow on AMD cores: a partial vector
// goes through a small buffer instead.
template <bool Masked> SB_TARGET_AVX2 inline void store8(float *p, __m256 v, std::int64_t lanes)
{
    if constexpr (Masked) {
        alignas(32) float buffer[8];
        _mm256_store_ps(buffer, v);
        for (std::int64_t i = 0; i < lanes; ++i)
            p[i] = buffer[i];
    } else {
        _mm256_storeu_ps(p, v);
    }
}

// Output rows y (and y + 1 when two) at columns [x, x + 8): rows[i] are the
// tap pointers (kx = 0, 1, 2) of padded row y * stride + i. Masked: only the
// first `lanes` columns are read and written.
template <Activation::Kind Kind, bool Masked, bool Two>
SB_TARGET_AVX2 inline void outputColumns(const Taps3x3 &k, const float *const (*rows)[3],
                                         std::int64_t x, float *out0, float *out1, __m256i mask,
                                         std::int64_t lanes)
{
    __m256 acc0 = k.bias, acc1 = k.bias;
    acc0 = rowTaps<Masked>(acc0, rows[0][0] + x, rows[0][1] + x, rows[0][2] + x, k.w, mask);
    acc0 = rowTaps<Masked>(acc0, rows[1][0] + x, rows[1][1] + x, rows[1][2] + x, k.w + 3, mask);
    if constexpr (Two)
        acc1 = rowTaps<Masked>(acc1, rows[1][0] + x, rows[1][1] + x, rows[1][2] + x, k.w, mask);
    acc0 = rowTaps<Masked>(acc0, rows[2][0] + x, rows[2][1] + x, rows[2][2] + x, k.w + 6, mask);
    if constexpr (Two) {
        acc1 = rowTaps<Masked>(acc1, rows[2][0] + x, rows[2][1] + x, rows[2][2] + x, k.w + 3, mask);
        acc1 = rowTaps<Masked>(acc1, rows[3][0] + x, rows[3][1] + x, rows[3][2] + x, k.w + 6, mask);
        store8<Masked>(out1 + x, activate8<Kind>(acc1, k.lo, k.hi), lanes);
    }
    store8<Masked>(out0 + x, activate8<Kind>(acc0, k.lo, k.hi), lanes);
}

// Rows of at least 8 columns end with a vector that overlaps the one before
// (recomputing a few outputs to the same values) instead of a partial one.
template <Activation::Kind Kind, bool Two>
SB_TARGET_AVX2 inline void outputRows(const Taps3x3 &k, const float *const (*rows)[3],
                                      std::int64_t outW, float *out0, float *out1)
{
    if (outW < 8) {
        outputColumns<Kind, true, Two>(k, rows, 0, out0, out1, laneMask(outW), outW);
        return;
    }
    const __m256i unused = _mm256_setzero_si256();
    std::int64_t x = 0;
    for (; x + 8 <= outW; x += 8)
        outputColumns<Kind, false, Two>(k, rows, x, out0, out1, unused, 8);
    if (x < outW)
        outputColumns<Kind, false, Two>(k, rows, outW - 8, out0, out1, unused, 8);
}

// fillPaddedImpl in one pass: copy and input activation per vector.
template <Activation::Kind Kind>
SB_TARGET_AVX2 void fillPaddedAvx2(const Window2dShape &s, const PaddedPlane &pp,
                                   const float *__restrict in, float *__restrict padded,
                                   const Activation &inAct)
{
    const __m256 lo = _mm256_set1_ps(inAct.lo), hi = _mm256_set1_ps(inAct.hi);
    if (s.inW < 8) {
        fillPaddedImpl(s, pp, in, padded, inAct);
        return;
    }
    for (std::int64_t iy = 0; iy < s.inH; ++iy) {
        const float *src = in + iy * s.inW;
        float *dst = padded + (iy + s.padTop) * pp.cols + s.padLeft;
        std::int64_t x = 0;
        for (; x + 8 <= s.inW; x += 8)
            _mm256_storeu_ps(dst + x, activate8<Kind>(_mm256_loadu_ps(src + x), lo, hi));
        if (x < s.inW) // overlapping last vector, not a (slow) masked store
            _mm256_storeu_ps(dst + s.inW - 8,
                             activate8<Kind>(_mm256_loadu_ps(src + s.inW - 8), lo, hi));
    }
}

template <Activation::Kind Kind> inline float activate1(float v, float lo, float hi)
{
    if constexpr (Kind == Activation::Relu)
        return v > 0.0f ? v : 0.0f;
    else if constexpr (Kind == Activation::Clip)
        return hi < (v < lo ? lo : v) ? hi : (v < lo ? lo : v);
    else
        return v;
}

// splitInputImpl for stride 2 in one pass over the input: each 16 input
// columns give 8 columns of both phases (even input columns to one, odd to
// the other; which is which follows from padLeft), with two shuffles each,
// and the input activation.
template <Activation::Kind Kind>
SB_TARGET_AVX2 void splitInputStride2Avx2(const Window2dShape &s, const PaddedPlane &pp,
                                          const float *__restrict in, float *__restrict phased,
                                          const Activation &inAct)
{
    const __m256 lo = _mm256_set1_ps(inAct.lo), hi = _mm256_set1_ps(inAct.hi);
    // Input column c lands in phase (c + padLeft) % 2, column (c + padLeft) / 2.
    const std::int64_t evenPhase = s.padLeft % 2, evenShift = s.padLeft / 2;
    const std::int64_t oddShift = (s.padLeft + 1) / 2;
    for (std::int64_t iy = 0; iy < s.inH; ++iy) {
        const float *src = in + iy * s.inW;
        float *rowPhases = phased + (iy + s.padTop) * 2 * pp.phaseCols;
        float *evens = rowPhases + evenPhase * pp.phaseCols + evenShift;
        float *odds = rowPhases + (1 - evenPhase) * pp.phaseCols + oddShift;
        std::int64_t i = 0; // pairs (2i, 2i + 1)
        for (; 2 * i + 16 <= s.inW; i += 8) {
            const __m256 a = _mm256_loadu_ps(src + 2 * i), b = _mm256_loadu_ps(src + 2 * i + 8);
            // [a0 a2 b0 b2 a4 a6 b4 b6] -> [a0 a2 a4 a6 b0 b2 b4 b6]; odd lanes alike.
            const __m256 even = _mm256_castpd_ps(_mm256_permute4x64_pd(
                _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(2, 0, 2, 0))),
                _MM_SHUFFLE(3, 1, 2, 0)));
            const __m256 odd = _mm256_castpd_ps(_mm256_permute4x64_pd(
                _mm256_castps_pd(_mm256_shuffle_ps(a, b, _MM_SHUFFLE(3, 1, 3, 1))),
                _MM_SHUFFLE(3, 1, 2, 0)));
            _mm256_storeu_ps(evens + i, activate8<Kind>(even, lo, hi));
            _mm256_storeu_ps(odds + i, activate8<Kind>(odd, lo, hi));
        }
        for (std::int64_t c = 2 * i; c < s.inW; ++c) {
            const float v = activate1<Kind>(src[c], inAct.lo, inAct.hi);
            if (c % 2 == 0)
                evens[c / 2] = v;
            else
                odds[c / 2] = v;
        }
    }
}

template <Activation::Kind Kind>
SB_TARGET_AVX2 void depthwise3x3Avx2(const Window2dShape &s, const PaddedPlane &pp,
                                     const float *padded, const float *w, float bias, float *out,
                                     const Activation &act)
{
    Taps3x3 k;
    for (int i = 0; i < 9; ++i)
        k.w[i] = _mm256_set1_ps(w[i]);
    k.bias = _mm256_set1_ps(bias);
    k.lo = _mm256_set1_ps(act.lo);
    k.hi = _mm256_set1_ps(act.hi);
    const std::int64_t stride = s.strideW;
    // Tap pointers of padded row r: plain (stride 1) or its two phases
    // (stride 2: kx = 0 and 2 read the even phase, kx = 1 the odd one).
    auto tapsOf = [&](std::int64_t r, const float **t) {
        if (stride == 1) {
            const float *row = padded + r * pp.cols;
            t[0] = row;
            t[1] = row + 1;
            t[2] = row + 2;
        } else {
            const float *even = padded + r * 2 * pp.phaseCols;
            t[0] = even;
            t[1] = even + pp.phaseCols;
            t[2] = even + 1;
        }
    };
    const float *rows[4][3];
    std::int64_t y = 0;
    if (stride == 1)
        for (; y + 2 <= s.outH; y += 2) {
            for (int i = 0; i < 4; ++i)
                tapsOf(y + i, rows[i]);
            outputRows<Kind, true>(k, rows, s.outW, out + y * s.outW, out + (y + 1) * s.outW);
        }
    for (; y < s.outH; ++y) {
        for (int i = 0; i < 3; ++i)
            tapsOf(y * stride + i, rows[i]);
        outputRows<Kind, false>(k, rows, s.outW, out + y * s.outW, nullptr);
    }
}

SB_TARGET_AVX2 void depthwisePlaneAvx2(const Window2dShape &s, const PaddedPlane &pp,
                                       DepthwiseScratch &scratch, const float *in, const float *w,
                                       float bias, float *out, const Activation &inAct,
                                       const Activation &act)
{
    if (!depthwise3x3Avx2Applies(s, act)) {
        depthwisePlaneImpl(s, pp, scratch, in, w, bias, out, inAct, act);
        return;
    }
    const float *padded = scratch.padded.data();
    if (s.strideW > 1) {
        padded = scratch.phased.data();
        if (inAct.kind == Activation::Clip)
            splitInputStride2Avx2<Activation::Clip>(s, pp, in, scratch.phased.data(), inAct);
        else if (inAct.kind == Activation::Relu)
            splitInputStride2Avx2<Activation::Relu>(s, pp, in, scratch.phased.data(), inAct);
        else if (inAct.kind == Activation::None)
            splitInputStride2Avx2<Activation::None>(s, pp, in, scratch.phased.data(), inAct);
        else
            splitInputImpl(s, pp, in, scratch.phased.data(), inAct);
    } else if (inAct.kind == Activation::Clip) {
        fillPaddedAvx2<Activation::Clip>(s, pp, in, scratch.padded.data(), inAct);
    } else if (inAct.kind == Activation::Relu) {
        fillPaddedAvx2<Activation::Relu>(s, pp, in, scratch.padded.data(), inAct);
    } else if (inAct.kind == Activation::None) {
        fillPaddedAvx2<Activation::None>(s, pp, in, scratch.padded.data(), inAct);
    } else {
        fillPaddedImpl(s, pp, in, scratch.padded.data(), inAct);
    }
    switch (act.kind) {
    case Activation::Relu:
        depthwise3x3Avx2<Activation::Relu>(s, pp, padded, w, bias, out, act);
        return;
    case Activation::Clip:
        depthwise3x3Avx2<Activation::Clip>(s, pp, padded, w, bias, out, act);
        return;
    default:
        depthwise3x3Avx2<Activation::None>(s, pp, padded, w, bias, out, act);
        return;
    }
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
    const auto splitPhases = SB_PICK_AVX2(splitPhasesBase, splitPhasesAvx2);
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
                     std::int64_t inPlane, const float *w, const float *bias, float *out,
                     std::int64_t outPlane, const Activation &inAct, const Activation &act,
                     std::int64_t begin, std::int64_t end)
{
    const auto plane = SB_PICK_AVX2(depthwisePlaneBase, depthwisePlaneAvx2);
    const std::int64_t kernelSize = shape.kernelH * shape.kernelW;
    DepthwiseScratch &scratch = depthwiseScratch(shape, pp);
    for (std::int64_t p = begin; p < end; ++p) {
        const std::int64_t c = p % shape.channels;
        plane(shape, pp, scratch, x + p * inPlane, w + c * kernelSize, bias ? bias[c] : 0.0f,
              out + p * outPlane, inAct, act);
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
                         depthwisePlanes(shape, pp, x, shape.inH * shape.inW, w, bias, out,
                                         shape.outH * shape.outW, Activation{}, act, begin, end);
                     });
}

void depthwiseConv2dSerial(const Window2dShape &shape, const float *x, std::int64_t inPlane,
                           const Activation &inAct, const float *w, const float *bias, float *out,
                           std::int64_t outPlane, const Activation &act)
{
    if (shape.batch * shape.channels == 0 || shape.outH * shape.outW == 0)
        return;
    depthwisePlanes(shape, paddedPlane(shape), x, inPlane, w, bias, out, outPlane, inAct, act, 0,
                    shape.batch * shape.channels);
}

namespace {

SB_FAST_INLINE void depthwiseChannelsLastImpl(const Window2dShape &s, std::int64_t channels,
                                              std::int64_t ld, const float *x, const float *wT,
                                              const float *bias, float *out, const Activation &act)
{
    for (std::int64_t oy = 0; oy < s.outH; ++oy)
        for (std::int64_t ox = 0; ox < s.outW; ++ox) {
            float *__restrict o = out + (oy * s.outW + ox) * ld;
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
                               const Activation &act)
{
    depthwiseChannelsLastImpl(s, channels, ld, x, wT, bias, out, act);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void depthwiseChannelsLastAvx2(const Window2dShape &s, std::int64_t channels,
                                              std::int64_t ld, const float *x, const float *wT,
                                              const float *bias, float *out, const Activation &act)
{
    depthwiseChannelsLastImpl(s, channels, ld, x, wT, bias, out, act);
}
#endif

} // namespace

void depthwiseConv2dChannelsLast(const Window2dShape &shape, std::int64_t channels, std::int64_t ld,
                                 const float *x, const float *wT, const float *bias, float *out,
                                 const Activation &act)
{
    SB_PICK_AVX2(depthwiseChannelsLastBase, depthwiseChannelsLastAvx2)
    (shape, channels, ld, x, wT, bias, out, act);
}

void maxPool2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x, float *out)
{
    std::vector<TapColumns> taps;
    const PlaneJob job = planeJob(shape, taps);
    const auto plane = SB_PICK_AVX2(maxPoolPlaneBase, maxPoolPlaneAvx2);
    const std::int64_t outPlane = shape.outH * shape.outW;
    forEachPlane(pool, shape, job, x, shape.kernelH * shape.kernelW,
                 [&](const float *in, const float *phased, std::int64_t p) {
                     plane(job, in, phased, out + p * outPlane);
                 });
}

} // namespace sb::kernels
