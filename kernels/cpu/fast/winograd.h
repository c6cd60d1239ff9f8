// 3x3 stride-1 convolution by Winograd F(2x2, 3x3) (Lavin & Gray 2015):
// each 2x2 output tile costs 16 multiplies per (input, output) channel pair
// instead of 36. The multiplies are 16 GEMMs (one per transformed position)
// run by OpenBLAS; the input, weight and output transforms are additions and
// halvings. Tiles are processed in blocks (input transform, 16 GEMMs, output
// transform with bias and activation) so a block's data stays in cache, and
// blocks are shared out over the pool.
//
// Contract: same results as the im2col convolution up to float rounding (the
// transforms use only +-1 and 1/2 coefficients, so the error stays within a
// few ulp of the products' magnitude). Only for shapes winogradApplies()
// accepts.
#pragma once

#include "core/runtime/thread_pool.h"
#include "kernels/cpu/fast/conv_gemm.h"
#include "kernels/cpu/nn_common.h"

namespace sb::kernels {

// Group 1, 3x3 kernel, stride 1, dilation 1, at least 8 input and output
// channels and enough 2x2 output tiles (>= 64 over the batch) that the
// per-call weight transform pays off.
bool winogradApplies(const ConvGemmShape &shape);

// The scratch convWinograd3x3 needs on a pool of `threads` (scratch.h): the
// transformed weights, and per thread the transformed input and output
// tiles of one block.
std::int64_t convWinograd3x3ScratchFloats(const ConvGemmShape &shape, int threads);

// Same arguments as convIm2colGemm; scratch: convWinograd3x3ScratchFloats(
// shape, pool.size()) floats.
void convWinograd3x3(runtime::ThreadPool &pool, const ConvGemmShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act,
                     float *scratch);

} // namespace sb::kernels
