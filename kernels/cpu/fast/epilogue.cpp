#include "kernels/cpu/fast/epilogue.h"

namespace sb::kernels {

namespace {

SB_FAST_INLINE void scalarBiasLoop(float *__restrict p, std::int64_t count, float bias,
                                   const Activation &act)
{
    for (std::int64_t i = 0; i < count; ++i)
        p[i] += bias;
    activateLoop(p, count, act);
}

SB_FAST_INLINE void biasLoop(float *__restrict p, std::int64_t count, const float *__restrict bias,
                             const Activation &act)
{
    if (bias)
        for (std::int64_t i = 0; i < count; ++i)
            p[i] += bias[i];
    activateLoop(p, count, act);
}

void activateBase(float *p, std::int64_t count, const Activation &act)
{
    activateLoop(p, count, act);
}
void scalarBiasBase(float *p, std::int64_t count, float bias, const Activation &act)
{
    scalarBiasLoop(p, count, bias, act);
}
void biasBase(float *p, std::int64_t count, const float *bias, const Activation &act)
{
    biasLoop(p, count, bias, act);
}
#if SB_HAVE_AVX2_DISPATCH
SB_TARGET_AVX2 void activateAvx2(float *p, std::int64_t count, const Activation &act)
{
    activateLoop(p, count, act);
}
SB_TARGET_AVX2 void scalarBiasAvx2(float *p, std::int64_t count, float bias, const Activation &act)
{
    scalarBiasLoop(p, count, bias, act);
}
SB_TARGET_AVX2 void biasAvx2(float *p, std::int64_t count, const float *bias, const Activation &act)
{
    biasLoop(p, count, bias, act);
}
SB_TARGET_AVX512 void activateAvx512(float *p, std::int64_t count, const Activation &act)
{
    activateLoop(p, count, act);
}
SB_TARGET_AVX512 void scalarBiasAvx512(float *p, std::int64_t count, float bias,
                                       const Activation &act)
{
    scalarBiasLoop(p, count, bias, act);
}
SB_TARGET_AVX512 void biasAvx512(float *p, std::int64_t count, const float *bias,
                                 const Activation &act)
{
    biasLoop(p, count, bias, act);
}
#endif

} // namespace

void activateInPlace(float *p, std::int64_t count, const Activation &act)
{
    if (act.kind == Activation::None)
        return;
    SB_PICK_AVX512(activateBase, activateAvx2, activateAvx512)(p, count, act);
}

void addScalarBiasActivate(float *p, std::int64_t count, float bias, const Activation &act)
{
    SB_PICK_AVX512(scalarBiasBase, scalarBiasAvx2, scalarBiasAvx512)(p, count, bias, act);
}

void addBiasActivate(float *p, std::int64_t count, const float *bias, const Activation &act)
{
    if (!bias && act.kind == Activation::None)
        return;
    SB_PICK_AVX512(biasBase, biasAvx2, biasAvx512)(p, count, bias, act);
}

void addResidualActivate(runtime::ThreadPool &pool, float *p, const float *r, std::int64_t count,
                         const Activation &act)
{
    pool.parallelFor(count, 16384, [&](std::int64_t begin, std::int64_t end) {
        addBiasActivate(p + begin, end - begin, r + begin, act);
    });
}

} // namespace sb::kernels
