// Convolution as im2col + OpenBLAS GEMM (NCHW float32, any group count),
// with the bias and activation epilogue; panels with few im2col rows use
// pointwise.h's AVX-512 kernel instead (convIm2colSmallK).
//
// Work is cut into column panels of the output (a few hundred output pixels
// of one sample and group): each panel's im2col block is built into a
// per-thread slice of the node's scratch, multiplied by the group's weights straight into the
// output (which starts as the bias, so the GEMM accumulates with beta = 1),
// and the activation runs on it while it is still in cache. Panels of
// all samples and groups are shared out over the pool; when there are too
// few (small images, batch 1) one GEMM is split by output channels instead.
// Images smaller than a panel (7x7 late layers) are multiplied together, side
// by side as columns of one GEMM, so OpenBLAS gets a wider matrix.
#pragma once

#include "core/runtime/thread_pool.h"
#include "kernels/cpu/fast/window2d.h"
#include "kernels/cpu/nn_common.h"

#include <cstdint>

namespace sb::kernels {

struct ConvGemmShape
{
    std::int64_t group = 1, inChannels = 1, outChannels = 1;
    // batch, spatial sizes, kernel, strides, dilations and leading pads
    // (window.channels is not used).
    Window2dShape window;
};

// The scratch convIm2colGemm needs on a pool of `threads` (scratch.h): the
// im2col panels (one per thread), or one item's whole im2col matrix, or the
// images' side-by-side matrix and its product; 0 for 1x1 stride-1 convs that
// multiply the input planes directly.
std::int64_t convIm2colGemmScratchFloats(const ConvGemmShape &shape, int threads);

// x: [batch, inChannels, inH, inW]; w: [outChannels, inChannels / group,
// kernelH, kernelW]; bias: [outChannels] or null; out: [batch, outChannels,
// outH, outW]; scratch: convIm2colGemmScratchFloats(shape, pool.size()) floats.
void convIm2colGemm(runtime::ThreadPool &pool, const ConvGemmShape &shape, const float *x,
                    const float *w, const float *bias, float *out, const Activation &act,
                    float *scratch);

// True when convIm2colGemm's panels run pointwise.h's AVX-512 kernel instead
// of OpenBLAS for this shape: at most 64 im2col rows (input channels per
// group x kernel taps) on an AVX-512 CPU (e.g. an RGB stem conv, 27 rows).
// Images of fewer than 128 outputs and too few panels to share still run
// OpenBLAS (profiles name the kernel by this predicate alone).
bool convIm2colSmallK(const ConvGemmShape &shape);

} // namespace sb::kernels
