// Vectorised epilogues of the fast kernels: bias and activation applied in
// place to finished output rows (same results as applyActivation, GELU up to
// vmath.h's polynomial; AVX2 copy used when the CPU has it, see simd.h).
#pragma once

#include "core/runtime/thread_pool.h"
#include "kernels/cpu/fast/simd.h"
#include "kernels/cpu/fast/vmath.h"
#include "kernels/cpu/nn_common.h"

#include <cstdint>

namespace sb::kernels {

// p[i] = act(p[i]).
void activateInPlace(float *p, std::int64_t count, const Activation &act);
// p[i] = act(p[i] + bias) (one bias for the whole run, e.g. a conv channel).
void addScalarBiasActivate(float *p, std::int64_t count, float bias, const Activation &act);
// p[i] = act(p[i] + bias[i]) (e.g. a MatMul row; bias may be null).
void addBiasActivate(float *p, std::int64_t count, const float *bias, const Activation &act);

// p[i] = act(p[i] + r[i]) over the pool (a residual add).
void addResidualActivate(runtime::ThreadPool &pool, float *p, const float *r, std::int64_t count,
                         const Activation &act);

// The loop bodies, for kernels that inline them into their own dispatched
// copies. NaN stays NaN through Clip (both comparisons are false for it) and
// becomes 0 through Relu, like the reference.
SB_FAST_INLINE void activateLoop(float *__restrict p, std::int64_t count, const Activation &act)
{
    switch (act.kind) {
    case Activation::None:
        return;
    case Activation::Relu:
        for (std::int64_t i = 0; i < count; ++i)
            p[i] = p[i] > 0.0f ? p[i] : 0.0f;
        return;
    case Activation::Clip: {
        const float lo = act.lo, hi = act.hi;
        for (std::int64_t i = 0; i < count; ++i) {
            float v = p[i];
            v = v < lo ? lo : v;
            p[i] = hi < v ? hi : v;
        }
        return;
    }
    case Activation::Gelu:
        geluRow(p, p, count);
        return;
    }
}

} // namespace sb::kernels
