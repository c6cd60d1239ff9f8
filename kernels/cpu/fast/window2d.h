// Sliding-window 2-D kernels on NCHW float32 planes, parallel over planes:
// depthwise convolution (one input and one output channel per group) with
// the bias and activation epilogue, and max pooling.
//
// Contract: any kernel size, stride, dilation and padding; depthwise outputs
// match the reference Conv up to float rounding (FMA on AVX2 CPUs), max pool
// outputs match the reference MaxPool exactly (padding never wins; NaN inputs
// are skipped like the reference's `v > best` does; an all-padding window
// gives -inf). Depthwise: each plane is copied into a zero-padded plane so
// the loops need no bounds checks (rows split into `stride` phases for
// strided convs, so every tap reads contiguous memory). 3x3 at strides 1 and
// 2 on AVX2 and AVX-512 CPUs: intrinsics (depthwise3x3_simd.inc, 8 or 16
// lanes), two output rows per pass at stride 1, stored straight to the
// output; otherwise stride 1 runs as one flat vector loop per plane (fast for
// 7x7 planes too) and other strides per output row. Max
// pool: per output row over the range of x where each tap is inside the
// input. 3x3 kernels handle all nine taps in one pass.
#pragma once

#include "core/runtime/thread_pool.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/nn_common.h"

#include <cstdint>

namespace sb::kernels {

struct Window2dShape
{
    std::int64_t batch = 1, channels = 1;
    std::int64_t inH = 1, inW = 1, outH = 1, outW = 1;
    std::int64_t kernelH = 1, kernelW = 1;
    std::int64_t strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
    std::int64_t padTop = 0, padLeft = 0; // padBottom/Right follow from outH/outW
};

// The ISA of the plane loops depthwiseConv2d and depthwiseConv2dSerial run
// for this geometry on this CPU (capped as cpu_isa.h says). The 16-lane
// (AVX-512) copy runs everywhere on CPUs with full-width 512-bit units
// (cpuAvx512FullWidth: every AVX-512 CPU but Zen 4); on Zen 4 only for 3x3
// stride-2 convs with output rows shorter than 32, elsewhere the 8-lane
// (AVX2) copy, because on an AMD EPYC (Zen 4) core, one thread,
// MobileNetV2's planes (3x3, ReLU6 in and out), best of 40 x 10 calls, 16
// lanes vs 8 lanes measured:
//   stride 2: 28x28 -> 14x14 0.039 vs 0.059 ms (192 planes), 14x14 -> 7x7
//   0.057 vs 0.098 ms (576 planes), 56x56 -> 28x28 equal, 112x112 -> 56x56
//   0.257 vs 0.225 ms (96 planes);
//   stride 1: 14x14 0.033 vs 0.029 ms (384 planes), 56x56 0.164 vs 0.153
//   ms (144 planes), 112x112 0.147 vs 0.142 ms (32 planes), 28x28 equal.
// (Short rows: the 8-lane copy splits stride-2 rows with scalar tails,
// where the 16-lane one uses mask registers; long rows: Zen 4 splits
// 512-bit operations in two and unaligned 64-byte loads span two cache
// lines.) The channels-last loops (7x7 planes) follow the same rule: on Zen
// 4, 16 lanes measured 0.0059 vs 0.0052 ms for 128 channels of 7x7.
CpuIsa depthwiseConv2dIsa(const Window2dShape &shape);

// One thread's scratch for the depthwise plane loops: `memory` holds
// depthwiseScratchFloats(shape) floats (the caller's: a slice of the node's
// KernelContext scratch, see scratch.h); the loops lay out the padded plane
// (or its phase split) and the flat output run in it and write its zero
// borders once per geometry, which the fields below remember.
struct DepthwiseScratch
{
    float *memory = nullptr;
    struct Span
    {
        float *p = nullptr;
        float *data() const { return p; }
    };
    Span padded, phased, flat;
    std::int64_t rows = -1, cols = -1, padTop = -1, padLeft = -1, inH = -1, inW = -1, strideW = -1;
};
// Floats of one thread's DepthwiseScratch for this geometry (whole cache lines).
std::int64_t depthwiseScratchFloats(const Window2dShape &shape);
// The scratch depthwiseConv2d needs on a pool of `threads`: one
// DepthwiseScratch per thread.
std::int64_t depthwiseConv2dScratchFloats(const Window2dShape &shape, int threads);

// x: [batch, channels, inH, inW]; w: [channels, 1, kernelH, kernelW];
// bias: [channels] or null; out: [batch, channels, outH, outW]; scratch:
// depthwiseConv2dScratchFloats(shape, pool.size()) floats.
void depthwiseConv2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x,
                     const float *w, const float *bias, float *out, const Activation &act,
                     float *scratch);

// The same, every plane on the calling thread (for kernels that are already
// parallel, e.g. the fused pointwise + depthwise kernel), on inAct(x): the
// input activation is applied as the planes are read (zero padding stays
// zero). Plane p of x starts at x + p * inPlane (>= inH * inW) and of out at
// out + p * outPlane (>= outH * outW), so a band of rows of larger planes can
// be given. `scratch`: the calling thread's, with memory for
// depthwiseScratchFloats(shape) floats (reused across calls of one thread,
// it keeps its zero borders while the geometry stays).
void depthwiseConv2dSerial(const Window2dShape &shape, const float *x, std::int64_t inPlane,
                           const Activation &inAct, const float *w, const float *bias, float *out,
                           std::int64_t outPlane, const Activation &act, DepthwiseScratch &scratch);

// One image's depthwise conv with channels last, for small planes where a
// plane is too short for vectors along it: x [inH * inW][ld], wT [kernelH *
// kernelW][ld] (tap-major), bias [ld] or null, out [outH * outW][ldOut];
// channels (<= ld, <= ldOut) are computed, vectorised across channels (on
// AVX-512 the sums of up to 64 channels stay in registers over the taps).
// Taps outside the input are skipped (zero padding). shape.batch and
// shape.channels are not used.
void depthwiseConv2dChannelsLast(const Window2dShape &shape, std::int64_t channels, std::int64_t ld,
                                 const float *x, const float *wT, const float *bias, float *out,
                                 std::int64_t ldOut, const Activation &act);
// The ISA of the copy depthwiseConv2dChannelsLast runs (AVX-512 only on
// full-width units, cpuAvx512FullWidth).
CpuIsa depthwiseConv2dChannelsLastIsa();

// The scratch maxPool2d needs on a pool of `threads`: per thread, the phase
// split of one strided input plane (0 for stride 1).
std::int64_t maxPool2dScratchFloats(const Window2dShape &shape, int threads);

// x: [batch, channels, inH, inW]; out: [batch, channels, outH, outW];
// scratch: maxPool2dScratchFloats(shape, pool.size()) floats.
void maxPool2d(runtime::ThreadPool &pool, const Window2dShape &shape, const float *x, float *out,
               float *scratch);

} // namespace sb::kernels
