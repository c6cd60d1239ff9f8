// The CPU's instruction sets as the kernels use them, chosen at run time.
//
// cpuIsa() is the widest ISA this CPU runs (AVX-512 with AMX, AVX-512,
// AVX2+FMA or the baseline), capped by the environment variable
// SHARDBENCH_MAX_CPU_ISA (values: baseline, avx2, avx512, amx; matched
// case-insensitively) so the lower ISA's paths can run on a higher machine
// for tests and comparisons. The same cap goes to oneDNN (as its
// ONEDNN_MAX_CPU_ISA: AVX2, AVX512_CORE, AVX512_CORE_AMX) before its first
// primitive; when only ONEDNN_MAX_CPU_ISA is set, our dispatch follows it.
// Read once per process. OpenBLAS (our GEMMs) picks its kernels when it
// loads, before main: cap it with OPENBLAS_CORETYPE=Haswell alongside.
#pragma once

#include <string>

namespace sb::kernels {

enum class CpuIsa
{
    Baseline,
    Avx2,      // AVX2 + FMA
    Avx512,    // AVX-512 F/BW/VL/DQ ("avx512_core")
    Avx512Amx, // AVX-512 with AMX tiles (bf16/int8)
};

CpuIsa cpuIsa();                    // detected, capped
CpuIsa cpuIsaDetected();            // what the CPU has, before the cap
const char *cpuIsaName(CpuIsa isa); // "baseline", "avx2", "avx512", "amx"
// "avx512" / "avx2 (capped from avx512)".
std::string cpuIsaDescription();
// Whether the CPU runs 512-bit vectors at full width: every AVX-512 CPU
// except AMD's Zen 4 (family 0x19), which splits each 512-bit operation into
// two 256-bit halves. Kernels whose AVX-512 copy only paid off on the narrow
// units (where it measured no faster than AVX2) use it everywhere on wide
// ones. False when the cap is below AVX-512.
bool cpuAvx512FullWidth();
// The CPU's model name (cpuid brand string), e.g. "AMD EPYC 9R14 ...".
std::string cpuModelName();

} // namespace sb::kernels
