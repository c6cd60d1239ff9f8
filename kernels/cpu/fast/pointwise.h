// 1x1 convolutions with few input channels (GEMMs with a small K), written
// for the fused pointwise + depthwise kernel's expand convs: MobileNetV2's
// have 16 to 160 input channels, where OpenBLAS's sgemm (Debian's 0.3.21
// runs its 256-bit Haswell kernels on AVX-512 CPUs) spends much of its time
// packing operands.
//
// Contract (every layout): outputs are bias + the sum over k of weight x
// input (bias may be null: 0), out's old contents are ignored, equal to the
// plain sum up to float rounding (fused multiply-adds, k in order).
// Single-threaded (callers are already parallel). pointwiseConvIsa() is the
// ISA of the vector copy this CPU runs (cpu_isa.h's cap applies): AVX-512
// only, 16 lanes (24 accumulators in registers); elsewhere (Baseline) they
// run OpenBLAS's sgemm (blas.h) after filling the bias in.
#pragma once

#include "kernels/cpu/cpu_isa.h"

#include <cstdint>

namespace sb::kernels {

CpuIsa pointwiseConvIsa();

// Planes (NCHW): out[c * ldOut + p] = bias[c] + sum_k w[c * inChannels + k]
// * x[k * ldX + p] for c < channels, p < pixels.
void pointwiseConv(std::int64_t channels, std::int64_t pixels, std::int64_t inChannels,
                   const float *w, const float *bias, const float *x, std::int64_t ldX, float *out,
                   std::int64_t ldOut);

// Channels last: out[p * ldOut + c] = bias[c] + sum_k x[k * ldX + p] *
// wT[k * ldW + c] for p < pixels, c < channels (weights transposed:
// [inChannels][ldW]).
void pointwiseConvChannelsLast(std::int64_t pixels, std::int64_t channels, std::int64_t inChannels,
                               const float *x, std::int64_t ldX, const float *wT, std::int64_t ldW,
                               const float *bias, float *out, std::int64_t ldOut);

// Channels last in and out (x NHWC): out[p * ldOut + c] = bias[c] + sum_k
// x[p * ldX + k] * wT[k * ldW + c].
void pointwiseConvPixelRows(std::int64_t pixels, std::int64_t channels, std::int64_t inChannels,
                            const float *x, std::int64_t ldX, const float *wT, std::int64_t ldW,
                            const float *bias, float *out, std::int64_t ldOut);

} // namespace sb::kernels
