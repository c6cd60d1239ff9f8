#include "kernels/cpu/fast/blas.h"

#include <cblas.h>

#include <algorithm>

namespace sb::kernels {

void sgemm(bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float *a, std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c,
           std::int64_t ldc)
{
    if (m == 0 || n == 0)
        return;
    if (k == 0) {
        for (std::int64_t i = 0; i < m; ++i)
            for (std::int64_t j = 0; j < n; ++j)
                c[i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[i * ldc + j];
        return;
    }
    if (beta == 0.0f) {
        // OpenBLAS clears C in a separate slow pass when beta is 0 (its
        // small-K GEMMs ran at ~60% of the speed of beta = 1); a plain fill
        // of the rows and beta = 1 gives the same result.
        for (std::int64_t i = 0; i < m; ++i)
            std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
        beta = 1.0f;
    }
    if (m <= 4) {
        // A few rows (e.g. a classifier on a small batch): one matrix-vector
        // product per row streams B without packing it. OpenBLAS's GEMM packs
        // all of B first: 2.6x slower for [2 x 1280] x [1280 x 500]. (After
        // the fill above: beta = 0 never asks BLAS to scale unset memory.)
        for (std::int64_t i = 0; i < m; ++i)
            cblas_sgemv(CblasRowMajor, transB ? CblasNoTrans : CblasTrans,
                        static_cast<blasint>(transB ? n : k), static_cast<blasint>(transB ? k : n),
                        alpha, b, static_cast<blasint>(ldb), transA ? a + i : a + i * lda,
                        static_cast<blasint>(transA ? lda : 1), beta, c + i * ldc, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans,
                transB ? CblasTrans : CblasNoTrans, static_cast<blasint>(m),
                static_cast<blasint>(n), static_cast<blasint>(k), alpha, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
                static_cast<blasint>(ldc));
}

void parallelSgemm(runtime::ThreadPool &pool, bool transA, bool transB, std::int64_t m,
                   std::int64_t n, std::int64_t k, float alpha, const float *a, std::int64_t lda,
                   const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc,
                   const GemmEpilogue &epilogue)
{
    const int threads = pool.size();
    const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
    if (threads == 1 || work < 2.0e5) {
        sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        if (epilogue)
            epilogue(0, m, 0, n);
        return;
    }
    // One block per thread along the longer output dimension: every thread
    // packs the whole of the operand the split does not cut (B for row
    // blocks, A for column blocks), so cutting the longer side duplicates the
    // smaller packing. Row blocks when the sides are close (rows stay
    // contiguous) or the columns are too few for wide blocks.
    if (!(n > m && n >= 64 * threads)) {
        std::int64_t block = (m + threads - 1) / threads;
        pool.parallelFor(threads, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t t = begin; t < end; ++t) {
                std::int64_t r0 = t * block, r1 = std::min(m, r0 + block);
                if (r0 >= r1)
                    continue;
                const float *ablock = transA ? a + r0 : a + r0 * lda;
                sgemm(transA, transB, r1 - r0, n, k, alpha, ablock, lda, b, ldb, beta, c + r0 * ldc,
                      ldc);
                if (epilogue)
                    epilogue(r0, r1, 0, n);
            }
        });
    } else {
        std::int64_t block = ((n + threads - 1) / threads + 15) / 16 * 16;
        pool.parallelFor(threads, 1, [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t t = begin; t < end; ++t) {
                std::int64_t c0 = t * block, c1 = std::min(n, c0 + block);
                if (c0 >= c1)
                    continue;
                const float *bblock = transB ? b + c0 * ldb : b + c0;
                sgemm(transA, transB, m, c1 - c0, k, alpha, a, lda, bblock, ldb, beta, c + c0, ldc);
                if (epilogue)
                    epilogue(0, m, c0, c1);
            }
        });
    }
}

} // namespace sb::kernels
