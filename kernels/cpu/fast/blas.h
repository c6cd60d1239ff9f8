// Parallel single-precision GEMM on a device's thread pool, through OpenBLAS
// (single-threaded per call; the pool splits the output into blocks).
#pragma once

#include "core/runtime/thread_pool.h"

#include <cstdint>
#include <functional>

namespace sb::kernels {

// Epilogue applied to each finished block of C: rows [r0, r1), cols [c0, c1).
using GemmEpilogue =
    std::function<void(std::int64_t r0, std::int64_t r1, std::int64_t c0, std::int64_t c1)>;

// C = alpha * op(A) * op(B) + beta * C, row-major.
void parallelSgemm(runtime::ThreadPool &pool, bool transA, bool transB, std::int64_t m,
                   std::int64_t n, std::int64_t k, float alpha, const float *a, std::int64_t lda,
                   const float *b, std::int64_t ldb, float beta, float *c, std::int64_t ldc,
                   const GemmEpilogue &epilogue = {});
// Single call on this thread (used inside already-parallel loops). beta = 0
// means C's old contents are ignored (NaN included), like BLAS.
void sgemm(bool transA, bool transB, std::int64_t m, std::int64_t n, std::int64_t k, float alpha,
           const float *a, std::int64_t lda, const float *b, std::int64_t ldb, float beta, float *c,
           std::int64_t ldc);

} // namespace sb::kernels
