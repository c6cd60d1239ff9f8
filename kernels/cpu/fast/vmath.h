// Row kernels with transcendental functions for the fast CPU kernels: GELU,
// softmax and layer normalisation. On CPUs with AVX2+FMA they run 8 lanes at
// a time (16 with AVX-512, unless SHARDBENCH_MAX_CPU_ISA caps it) with polynomial exp/erf (Cephes
// expf, relative error ~2 ulp; Abramowitz-Stegun 7.1.26 erfc, absolute error <= 1.5e-7, evaluated
// without cancellation for negative inputs); elsewhere they use the C library like the reference
// kernels. NaN inputs give NaN like the reference.
#pragma once

#include <cstdint>

namespace sb::kernels {

// out[i] = 0.5 * x * (1 + erf(x / sqrt(2))); out may equal in.
void geluRow(const float *in, float *out, std::int64_t count);

// out = softmax(in) over `count` values (max-subtracted). A row of only -inf
// gives NaN, like the reference.
void softmaxRow(const float *in, float *out, std::int64_t count);

// out = (in - mean) / sqrt(var + epsilon) * scale + bias over `count` values
// (population variance); bias may be null.
void layerNormRow(const float *in, float *out, std::int64_t count, const float *scale,
                  const float *bias, float epsilon);

} // namespace sb::kernels
