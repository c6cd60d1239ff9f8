#include "kernels/cpu/fast/winograd.h"

#include "kernels/cpu/fast/blas.h"
#include "kernels/cpu/fast/epilogue.h"
#include "kernels/cpu/fast/scratch.h"
#include "kernels/cpu/fast/simd.h"

#include <algorithm>
#include <vector>

namespace sb::kernels {

namespace {

// F(2x2, 3x3):  Y = A^T [ (G g G^T) .* (B^T d B) ] A  with
//   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
//   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
//   A^T = [1 1 1 0; 0 1 -1 -1]
// (ONNX Conv is a correlation, which is what these matrices compute.)
constexpr std::int64_t kPositions = 16;
// Floats per transformed block (16 x channels x tiles) aimed at.
constexpr std::int64_t kBlockFloats = 256 * 1024;
constexpr std::int64_t kMinTiles = 64;

struct Geometry
{
    std::int64_t batch, inC, outC, inH, inW, outH, outW, padTop, padLeft;
    std::int64_t tilesH, tilesW, tiles;
};

Geometry geometryOf(const ConvGemmShape &shape)
{
    const Window2dShape &s = shape.window;
    Geometry g{
        s.batch,   shape.inChannels, shape.outChannels, s.inH, s.inW, s.outH, s.outW, s.padTop,
        s.padLeft, (s.outH + 1) / 2, (s.outW + 1) / 2,  0};
    g.tiles = g.batch * g.tilesH * g.tilesW;
    return g;
}

// U[k][xi][c] = (G g_kc G^T)[xi]; `transposed` is per-thread scratch (9 x C).
SB_FAST_INLINE void transformWeightsImpl(const Geometry &g, const float *w, std::int64_t k,
                                         float *__restrict transposed, float *__restrict u)
{
    const std::int64_t C = g.inC;
    const float *wk = w + k * C * 9;
    for (std::int64_t c = 0; c < C; ++c)
        for (std::int64_t j = 0; j < 9; ++j)
            transposed[j * C + c] = wk[c * 9 + j];
    const float *t = transposed;
    const std::int64_t plane =
        C; // U is [k][xi][c]: position xi of filter k at u + (k * 16 + xi) * C
    float *uk = u + k * kPositions * C;
    // The 16 output rows and the 9 input rows never overlap; ivdep lets GCC
    // vectorise without runtime alias checks (too many streams for them).
#pragma GCC ivdep
    for (std::int64_t c = 0; c < C; ++c) {
        const float g00 = t[c], g01 = t[C + c], g02 = t[2 * C + c];
        const float g10 = t[3 * C + c], g11 = t[4 * C + c], g12 = t[5 * C + c];
        const float g20 = t[6 * C + c], g21 = t[7 * C + c], g22 = t[8 * C + c];
        // Rows of G g (4 x 3).
        const float r[4][3] = {
            {g00, g01, g02},
            {0.5f * (g00 + g10 + g20), 0.5f * (g01 + g11 + g21), 0.5f * (g02 + g12 + g22)},
            {0.5f * (g00 - g10 + g20), 0.5f * (g01 - g11 + g21), 0.5f * (g02 - g12 + g22)},
            {g20, g21, g22}};
        for (int i = 0; i < 4; ++i) {
            uk[(i * 4 + 0) * plane + c] = r[i][0];
            uk[(i * 4 + 1) * plane + c] = 0.5f * (r[i][0] + r[i][1] + r[i][2]);
            uk[(i * 4 + 2) * plane + c] = 0.5f * (r[i][0] - r[i][1] + r[i][2]);
            uk[(i * 4 + 3) * plane + c] = r[i][2];
        }
    }
}

// A run of tiles in one tile row: image b, tile row ty, tiles tx0 .. tx0 + count.
struct TileRun
{
    std::int64_t b, ty, tx0, count, offset; // offset: index of the first tile in the block
};

template <typename Fn> void forEachRun(const Geometry &g, std::int64_t t0, std::int64_t t1, Fn fn)
{
    for (std::int64_t t = t0; t < t1;) {
        const std::int64_t tx = t % g.tilesW, rowIndex = t / g.tilesW;
        const std::int64_t count = std::min(t1 - t, g.tilesW - tx);
        fn(TileRun{rowIndex / g.tilesH, rowIndex % g.tilesH, tx, count, t - t0});
        t += count;
    }
}

// One thread's block buffers: slices of the node's scratch.
struct Span
{
    float *p = nullptr;
    float *data() const { return p; }
};
struct Scratch
{
    Span v, m, rows, columns, y;
};

// V[c][xi][tile] = (B^T d B)[xi] for the block's tiles; ldv = tiles in the block.
// (Positions of one channel sit next to each other: 16 planes a power-of-two
// apart would alias in the L1 cache.)
SB_FAST_INLINE void transformInputImpl(const Geometry &g, const float *x, const TileRun &run,
                                       std::int64_t ldv, Scratch &scratch)
{
    const std::int64_t n = run.count, len = 2 * n + 2;
    float *rows = scratch.rows.data();    // 4 input rows of the run, zero outside the image
    float *cols = scratch.columns.data(); // the 4 rows of B^T d
    const std::int64_t col0 = 2 * run.tx0 - g.padLeft;
    const std::int64_t colA = std::clamp<std::int64_t>(-col0, 0, len);
    const std::int64_t colB = std::clamp<std::int64_t>(g.inW - col0, colA, len);
    for (std::int64_t c = 0; c < g.inC; ++c) {
        const float *plane = x + (run.b * g.inC + c) * g.inH * g.inW;
        for (std::int64_t r = 0; r < 4; ++r) {
            float *__restrict dst = rows + r * len;
            const std::int64_t iy = 2 * run.ty - g.padTop + r;
            if (iy < 0 || iy >= g.inH) {
                std::fill(dst, dst + len, 0.0f);
                continue;
            }
            const float *src = plane + iy * g.inW;
            std::fill(dst, dst + colA, 0.0f);
            for (std::int64_t j = colA; j < colB; ++j)
                dst[j] = src[col0 + j];
            std::fill(dst + colB, dst + len, 0.0f);
        }
        {
            const float *__restrict d0 = rows, *__restrict d1 = rows + len,
                                    *__restrict d2 = rows + 2 * len,
                                    *__restrict d3 = rows + 3 * len;
            float *__restrict a0 = cols, *__restrict a1 = cols + len,
                              *__restrict a2 = cols + 2 * len, *__restrict a3 = cols + 3 * len;
#pragma GCC ivdep
            for (std::int64_t j = 0; j < len; ++j) {
                a0[j] = d0[j] - d2[j];
                a1[j] = d1[j] + d2[j];
                a2[j] = d2[j] - d1[j];
                a3[j] = d1[j] - d3[j];
            }
        }
        float *v = scratch.v.data() + c * kPositions * ldv + run.offset;
        const std::int64_t plane16 = ldv;
        for (std::int64_t i = 0; i < 4; ++i) {
            const float *__restrict a = cols + i * len;
            float *__restrict v0 = v + (i * 4 + 0) * plane16,
                              *__restrict v1 = v + (i * 4 + 1) * plane16,
                              *__restrict v2 = v + (i * 4 + 2) * plane16,
                              *__restrict v3 = v + (i * 4 + 3) * plane16;
            for (std::int64_t q = 0; q < n; ++q) {
                v0[q] = a[2 * q] - a[2 * q + 2];
                v1[q] = a[2 * q + 1] + a[2 * q + 2];
                v2[q] = a[2 * q + 2] - a[2 * q + 1];
                v3[q] = a[2 * q + 1] - a[2 * q + 3];
            }
        }
    }
}

// out tiles of the run = A^T M A + bias, then the activation.
SB_FAST_INLINE void transformOutputImpl(const Geometry &g, const TileRun &run, std::int64_t ldm,
                                        const float *bias, const Activation &act, float *out,
                                        Scratch &scratch)
{
    const std::int64_t n = run.count;
    float *y = scratch.y.data();      // y00 | y01 | y10 | y11, n each
    const std::int64_t plane16 = ldm; // M is [k][xi][tile]
    const std::int64_t oy = 2 * run.ty, ox0 = 2 * run.tx0;
    const std::int64_t ox1 = std::min(g.outW, ox0 + 2 * n);
    for (std::int64_t k = 0; k < g.outC; ++k) {
        const float *m = scratch.m.data() + k * kPositions * ldm + run.offset;
        const float b = bias ? bias[k] : 0.0f;
        float *__restrict y00 = y, *__restrict y01 = y + n, *__restrict y10 = y + 2 * n,
                          *__restrict y11 = y + 3 * n;
#pragma GCC ivdep
        for (std::int64_t q = 0; q < n; ++q) {
            const float *p = m + q;
            const float m0 = p[0], m1 = p[plane16], m2 = p[2 * plane16], m3 = p[3 * plane16];
            const float m4 = p[4 * plane16], m5 = p[5 * plane16], m6 = p[6 * plane16],
                        m7 = p[7 * plane16];
            const float m8 = p[8 * plane16], m9 = p[9 * plane16], m10 = p[10 * plane16],
                        m11 = p[11 * plane16];
            const float m12 = p[12 * plane16], m13 = p[13 * plane16], m14 = p[14 * plane16],
                        m15 = p[15 * plane16];
            // A^T m: s = rows 0+1+2, d = rows 1-2-3 (per column j).
            const float s0 = m0 + m4 + m8, s1 = m1 + m5 + m9, s2 = m2 + m6 + m10,
                        s3 = m3 + m7 + m11;
            const float d0 = m4 - m8 - m12, d1 = m5 - m9 - m13, d2 = m6 - m10 - m14,
                        d3 = m7 - m11 - m15;
            y00[q] = s0 + s1 + s2 + b;
            y01[q] = s1 - s2 - s3 + b;
            y10[q] = d0 + d1 + d2 + b;
            y11[q] = d1 - d2 - d3 + b;
        }
        float *plane = out + (run.b * g.outC + k) * g.outH * g.outW;
        for (std::int64_t r = 0; r < 2 && oy + r < g.outH; ++r) {
            float *__restrict row = plane + (oy + r) * g.outW + ox0;
            const float *__restrict even = r == 0 ? y00 : y10;
            const float *__restrict odd = r == 0 ? y01 : y11;
            const std::int64_t full = (ox1 - ox0) / 2;
            for (std::int64_t q = 0; q < full; ++q) {
                row[2 * q] = even[q];
                row[2 * q + 1] = odd[q];
            }
            if ((ox1 - ox0) % 2)
                row[2 * full] = even[full];
            activateLoop(row, ox1 - ox0, act);
        }
    }
}

void transformWeightsBase(const Geometry &g, const float *w, std::int64_t k, float *t, float *u)
{
    transformWeightsImpl(g, w, k, t, u);
}
void transformInputBase(const Geometry &g, const float *x, const TileRun &run, std::int64_t ldv,
                        Scratch &scratch)
{
    transformInputImpl(g, x, run, ldv, scratch);
}
void transformOutputBase(const Geometry &g, const TileRun &run, std::int64_t ldm, const float *bias,
                         const Activation &act, float *out, Scratch &scratch)
{
    transformOutputImpl(g, run, ldm, bias, act, out, scratch);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void transformWeightsAvx2(const Geometry &g, const float *w, std::int64_t k,
                                         float *t, float *u)
{
    transformWeightsImpl(g, w, k, t, u);
}
SB_TARGET_AVX2 void transformInputAvx2(const Geometry &g, const float *x, const TileRun &run,
                                       std::int64_t ldv, Scratch &scratch)
{
    transformInputImpl(g, x, run, ldv, scratch);
}
SB_TARGET_AVX2 void transformOutputAvx2(const Geometry &g, const TileRun &run, std::int64_t ldm,
                                        const float *bias, const Activation &act, float *out,
                                        Scratch &scratch)
{
    transformOutputImpl(g, run, ldm, bias, act, out, scratch);
}
#endif

// How the tiles are cut into blocks: at most kBlockFloats per transformed
// block, at least one block per thread, a multiple of the thread count for
// balance.
struct Blocks
{
    std::int64_t count = 0, tiles = 0, maxRun = 0;
    // Floats of one thread's block buffers (V, M, 4 input rows, 4 rows of
    // B^T d, 4 output rows).
    std::int64_t v = 0, m = 0, rows = 0, columns = 0, y = 0;
    std::int64_t sliceFloats() const
    {
        return scratchSlice(v) + scratchSlice(m) + scratchSlice(rows) + scratchSlice(columns) +
               scratchSlice(y);
    }
};

Blocks blocksOf(const Geometry &g, std::int64_t threads)
{
    Blocks b;
    const std::int64_t maxBlockTiles =
        std::max<std::int64_t>(16, kBlockFloats / (kPositions * std::max(g.inC, g.outC)));
    std::int64_t blocks = std::max((g.tiles + maxBlockTiles - 1) / maxBlockTiles, threads);
    blocks = (blocks + threads - 1) / threads * threads;
    b.tiles = (g.tiles + blocks - 1) / blocks;
    b.count = (g.tiles + b.tiles - 1) / b.tiles;
    b.maxRun = std::min(b.tiles, g.tilesW);
    b.v = kPositions * g.inC * b.tiles;
    b.m = kPositions * g.outC * b.tiles;
    b.rows = 4 * (2 * b.maxRun + 2);
    b.columns = b.rows;
    b.y = 4 * b.maxRun;
    return b;
}

// Scratch layout: the transformed weights U (16 x outC x inC), then one
// slice per thread, used first for the weight transform's 9 x inC
// transposed filter and then for the block buffers.
std::int64_t threadSliceFloats(const Geometry &g, const Blocks &blocks)
{
    return std::max(scratchSlice(9 * g.inC), blocks.sliceFloats());
}

} // namespace

std::int64_t convWinograd3x3ScratchFloats(const ConvGemmShape &shape, int threads)
{
    const Geometry g = geometryOf(shape);
    return scratchSlice(kPositions * g.outC * g.inC) +
           threads * threadSliceFloats(g, blocksOf(g, threads));
}

bool winogradApplies(const ConvGemmShape &shape)
{
    const Window2dShape &s = shape.window;
    if (shape.group != 1 || s.kernelH != 3 || s.kernelW != 3 || s.strideH != 1 || s.strideW != 1 ||
        s.dilationH != 1 || s.dilationW != 1)
        return false;
    if (shape.inChannels < 8 || shape.outChannels < 8 || s.outH < 2 || s.outW < 2)
        return false;
    const Geometry g = geometryOf(shape);
    return g.tiles >= kMinTiles;
}

void convWinograd3x3(runtime::ThreadPool &pool, const ConvGemmShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act,
                     float *scratch)
{
    const Geometry g = geometryOf(shape);
    const auto transformWeights = SB_PICK_AVX2(transformWeightsBase, transformWeightsAvx2);
    const auto transformInput = SB_PICK_AVX2(transformInputBase, transformInputAvx2);
    const auto transformOutput = SB_PICK_AVX2(transformOutputBase, transformOutputAvx2);
    const Blocks blocks = blocksOf(g, pool.size());
    const std::int64_t slice = threadSliceFloats(g, blocks);
    // Weights, transformed on every call (they are small next to the work).
    float *u = scratch;
    float *slices = scratch + scratchSlice(kPositions * g.outC * g.inC);
    pool.parallelFor(g.outC, 4, [&](std::int64_t begin, std::int64_t end) {
        float *transposed = slices + pool.slot() * slice;
        for (std::int64_t k = begin; k < end; ++k)
            transformWeights(g, w, k, transposed, u);
    });
    const std::int64_t blockTiles = blocks.tiles;
    pool.parallelFor(blocks.count, 1, [&](std::int64_t begin, std::int64_t end) {
        float *mine = slices + pool.slot() * slice;
        Scratch buffers;
        buffers.v.p = mine;
        buffers.m.p = buffers.v.p + scratchSlice(blocks.v);
        buffers.rows.p = buffers.m.p + scratchSlice(blocks.m);
        buffers.columns.p = buffers.rows.p + scratchSlice(blocks.rows);
        buffers.y.p = buffers.columns.p + scratchSlice(blocks.columns);
        for (std::int64_t block = begin; block < end; ++block) {
            const std::int64_t t0 = block * blockTiles, t1 = std::min(g.tiles, t0 + blockTiles);
            const std::int64_t n = t1 - t0;
            forEachRun(g, t0, t1,
                       [&](const TileRun &run) { transformInput(g, x, run, n, buffers); });
            for (std::int64_t xi = 0; xi < kPositions; ++xi)
                sgemm(false, false, g.outC, n, g.inC, 1.0f, u + xi * g.inC, kPositions * g.inC,
                      buffers.v.data() + xi * n, kPositions * n, 0.0f, buffers.m.data() + xi * n,
                      kPositions * n);
            forEachRun(g, t0, t1, [&](const TileRun &run) {
                transformOutput(g, run, n, bias, act, out, buffers);
            });
        }
    });
}

} // namespace sb::kernels
