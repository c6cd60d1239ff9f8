// Runtime CPU dispatch for the fast kernels' hot loops. The build stays
// portable (baseline x86-64 / whatever the compiler targets); a loop written
// once as an always-inline template body is compiled twice, once with
// AVX2+FMA enabled, and the AVX2 copy is used when the CPU has both (and
// cpu_isa.h's cap allows it). Loops that gain from 512-bit vectors get a
// third copy, picked by SB_PICK_AVX512(base, avx2, avx512) on AVX-512 CPUs.
//
//   SB_FAST_INLINE void bodyImpl(args) { ... plain loops the compiler vectorises ... }
//   SB_TARGET_AVX2 void bodyAvx2(args) { bodyImpl(args); }
//   void bodyBase(args) { bodyImpl(args); }
//   ... SB_PICK_AVX2(bodyBase, bodyAvx2)(args);
//
// FMA contraction makes the AVX2 copy round differently from the baseline
// one in the last bits; the kernel tests' tolerances allow for that.
#pragma once

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#define SB_HAVE_AVX2_DISPATCH 1
#define SB_TARGET_AVX2 __attribute__((target("avx2,fma")))
// 512-bit vectors preferred (GCC otherwise keeps 256-bit ones for AVX-512).
#define SB_TARGET_AVX512                                                                           \
    __attribute__((target("avx2,fma,avx512f,avx512bw,avx512vl,avx512dq,prefer-vector-width=512")))
#else
#define SB_HAVE_AVX2_DISPATCH 0
#define SB_TARGET_AVX2
#define SB_TARGET_AVX512
#endif

#if defined(__GNUC__)
#define SB_FAST_INLINE [[gnu::always_inline]] inline
#else
#define SB_FAST_INLINE inline
#endif

#include "kernels/cpu/cpu_isa.h"

namespace sb::kernels {

// True when this CPU runs AVX2 and FMA instructions, the ISA cap allows them
// (cpu_isa.h) and the compiler can target them; checked once.
inline bool cpuHasAvx2Fma()
{
#if SB_HAVE_AVX2_DISPATCH
    static const bool has = cpuIsa() >= CpuIsa::Avx2;
    return has;
#else
    return false;
#endif
}

// The same for AVX-512 (F/BW/VL/DQ).
inline bool cpuHasAvx512()
{
#if SB_HAVE_AVX2_DISPATCH
    static const bool has = cpuIsa() >= CpuIsa::Avx512;
    return has;
#else
    return false;
#endif
}

} // namespace sb::kernels

// The AVX2 copy of a function when this CPU runs it, else the baseline copy:
//   SB_PICK_AVX2(bodyBase, bodyAvx2)(args);
// (a macro so builds without the dispatch never name the AVX2 copy).
#if SB_HAVE_AVX2_DISPATCH
#define SB_PICK_AVX2(base, avx2) (::sb::kernels::cpuHasAvx2Fma() ? (avx2) : (base))
#define SB_PICK_AVX512(base, avx2, avx512)                                                         \
    (::sb::kernels::cpuHasAvx512() ? (avx512) : ::sb::kernels::cpuHasAvx2Fma() ? (avx2) : (base))
#else
#define SB_PICK_AVX2(base, avx2) (base)
#define SB_PICK_AVX512(base, avx2, avx512) (base)
#endif
