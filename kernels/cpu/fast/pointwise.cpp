#include "kernels/cpu/fast/pointwise.h"

#include "kernels/cpu/fast/blas.h"
#include "kernels/cpu/fast/simd.h"

#include <algorithm>

#if SB_HAVE_AVX2_DISPATCH
#include <immintrin.h>
#endif

namespace sb::kernels {

namespace {

#if SB_HAVE_AVX2_DISPATCH
// GCC 12's avx512fintrin.h trips -Wmaybe-uninitialized once inlined (GCC bug
// 105593, see window2d.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

// Both layouts are out[r][j] = bias + sum_k a[r][k] * b[k][j] over a tile of
// Rows x Vectors * 16 outputs (24 accumulators at most of 32 registers), k
// innermost: a's element is broadcast, b's row loaded as vectors, the last
// vector masked to `last` (a full mask inside the row). Planes: r = output
// channel, j = pixel, bias per row. Channels last: r = pixel, j = channel,
// bias per column.
struct TileOperands
{
    const float *a;
    std::int64_t aRow, aK; // a[r][k] = a[r * aRow + k * aK]
    const float *b;
    std::int64_t ldB;
    const float *bias; // rows' (RowBias) or columns' bias, or null
    float *out;
    std::int64_t ldOut;
};

template <int Rows, int Vectors, bool RowBias>
SB_FAST_INLINE SB_TARGET_AVX512 void tileAvx512(const TileOperands &t, std::int64_t inChannels,
                                                __mmask16 last)
{
    __m512 acc[Rows][Vectors];
    for (int r = 0; r < Rows; ++r)
        for (int v = 0; v < Vectors; ++v) {
            if (!t.bias)
                acc[r][v] = _mm512_setzero_ps();
            else if constexpr (RowBias)
                acc[r][v] = _mm512_set1_ps(t.bias[r]);
            else if (v == Vectors - 1)
                acc[r][v] = _mm512_maskz_loadu_ps(last, t.bias + 16 * v);
            else
                acc[r][v] = _mm512_loadu_ps(t.bias + 16 * v);
        }
    for (std::int64_t k = 0; k < inChannels; ++k) {
        const float *bk = t.b + k * t.ldB;
        __m512 bv[Vectors];
        for (int v = 0; v < Vectors - 1; ++v)
            bv[v] = _mm512_loadu_ps(bk + 16 * v);
        bv[Vectors - 1] = _mm512_maskz_loadu_ps(last, bk + 16 * (Vectors - 1));
        const float *ak = t.a + k * t.aK;
        for (int r = 0; r < Rows; ++r) {
            const __m512 av = _mm512_set1_ps(ak[r * t.aRow]);
            for (int v = 0; v < Vectors; ++v)
                acc[r][v] = _mm512_fmadd_ps(av, bv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < Rows; ++r) {
        float *o = t.out + r * t.ldOut;
        for (int v = 0; v < Vectors - 1; ++v)
            _mm512_storeu_ps(o + 16 * v, acc[r][v]);
        _mm512_mask_storeu_ps(o + 16 * (Vectors - 1), last, acc[r][Vectors - 1]);
    }
}

// Rows [0, rows) of one column tile: blocks of 8 rows, the rest in 4, 2, 1.
template <int Vectors, bool RowBias>
SB_FAST_INLINE SB_TARGET_AVX512 void rowTilesAvx512(TileOperands t, std::int64_t rows,
                                                    std::int64_t inChannels, __mmask16 last)
{
    auto step = [&](std::int64_t r) {
        t.a += r * t.aRow;
        t.out += r * t.ldOut;
        if (RowBias && t.bias)
            t.bias += r;
    };
    std::int64_t r = 0;
    for (; r + 8 <= rows; r += 8, step(8))
        tileAvx512<8, Vectors, RowBias>(t, inChannels, last);
    if (r + 4 <= rows) {
        tileAvx512<4, Vectors, RowBias>(t, inChannels, last);
        r += 4;
        step(4);
    }
    if (r + 2 <= rows) {
        tileAvx512<2, Vectors, RowBias>(t, inChannels, last);
        r += 2;
        step(2);
    }
    if (r < rows)
        tileAvx512<1, Vectors, RowBias>(t, inChannels, last);
}

// Column tiles of 48 (three vectors) outermost, so a tile's b rows (48 x
// inChannels floats) stay in L1 while every row block reads them; the last
// tile has one to three vectors, its last one masked.
template <bool RowBias>
SB_TARGET_AVX512 void tilesAvx512(TileOperands t, std::int64_t rows, std::int64_t columns,
                                  std::int64_t inChannels)
{
    constexpr std::int64_t kTile = 48;
    for (std::int64_t j = 0; j < columns; j += kTile) {
        const std::int64_t count = std::min(kTile, columns - j);
        const std::int64_t vectors = (count + 15) / 16, tail = count - 16 * (vectors - 1);
        const auto last = static_cast<__mmask16>(tail == 16 ? 0xFFFFu : (1u << tail) - 1u);
        TileOperands tj = t;
        tj.b += j;
        tj.out += j;
        if (!RowBias && tj.bias)
            tj.bias += j;
        if (vectors == 3)
            rowTilesAvx512<3, RowBias>(tj, rows, inChannels, last);
        else if (vectors == 2)
            rowTilesAvx512<2, RowBias>(tj, rows, inChannels, last);
        else
            rowTilesAvx512<1, RowBias>(tj, rows, inChannels, last);
    }
}

#pragma GCC diagnostic pop
#endif

} // namespace

CpuIsa pointwiseConvIsa()
{
    return cpuHasAvx512() ? CpuIsa::Avx512 : CpuIsa::Baseline;
}

void pointwiseConv(std::int64_t channels, std::int64_t pixels, std::int64_t inChannels,
                   const float *w, const float *bias, const float *x, std::int64_t ldX, float *out,
                   std::int64_t ldOut)
{
    if (channels <= 0 || pixels <= 0)
        return;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx512()) {
        tilesAvx512<true>({w, inChannels, 1, x, ldX, bias, out, ldOut}, channels, pixels,
                          inChannels);
        return;
    }
#endif
    for (std::int64_t c = 0; c < channels; ++c)
        std::fill(out + c * ldOut, out + c * ldOut + pixels, bias ? bias[c] : 0.0f);
    sgemm(false, false, channels, pixels, inChannels, 1.0f, w, inChannels, x, ldX, 1.0f, out,
          ldOut);
}

namespace {

// Channels-last output from x read as [inChannels][ldX] (xPixelRows false)
// or as [pixels][ldX] (true).
void pointwiseConvToChannelsLast(std::int64_t pixels, std::int64_t channels,
                                 std::int64_t inChannels, const float *x, std::int64_t ldX,
                                 bool xPixelRows, const float *wT, std::int64_t ldW,
                                 const float *bias, float *out, std::int64_t ldOut)
{
    if (channels <= 0 || pixels <= 0)
        return;
#if SB_HAVE_AVX2_DISPATCH
    if (cpuHasAvx512()) {
        tilesAvx512<false>(
            {x, xPixelRows ? ldX : 1, xPixelRows ? 1 : ldX, wT, ldW, bias, out, ldOut}, pixels,
            channels, inChannels);
        return;
    }
#endif
    for (std::int64_t p = 0; p < pixels; ++p)
        for (std::int64_t c = 0; c < channels; ++c)
            out[p * ldOut + c] = bias ? bias[c] : 0.0f;
    sgemm(!xPixelRows, false, pixels, channels, inChannels, 1.0f, x, ldX, wT, ldW, 1.0f, out,
          ldOut);
}

} // namespace

void pointwiseConvChannelsLast(std::int64_t pixels, std::int64_t channels, std::int64_t inChannels,
                               const float *x, std::int64_t ldX, const float *wT, std::int64_t ldW,
                               const float *bias, float *out, std::int64_t ldOut)
{
    pointwiseConvToChannelsLast(pixels, channels, inChannels, x, ldX, false, wT, ldW, bias, out,
                                ldOut);
}

void pointwiseConvPixelRows(std::int64_t pixels, std::int64_t channels, std::int64_t inChannels,
                            const float *x, std::int64_t ldX, const float *wT, std::int64_t ldW,
                            const float *bias, float *out, std::int64_t ldOut)
{
    pointwiseConvToChannelsLast(pixels, channels, inChannels, x, ldX, true, wT, ldW, bias, out,
                                ldOut);
}

} // namespace sb::kernels
