#include "kernels/cpu/cpu_isa.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <fstream>

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <cpuid.h>
#define SB_X86 1
#else
#define SB_X86 0
#endif

namespace sb::kernels {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// The ISA a cap names (ours or oneDNN's spelling); Avx512Amx when unknown
// or empty (no cap).
CpuIsa parseCap(const char *value)
{
    if (!value || !*value)
        return CpuIsa::Avx512Amx;
    const std::string v = lower(value);
    if (v == "baseline" || v == "sse41" || v == "sse4.1" || v == "sse")
        return CpuIsa::Baseline;
    if (v == "avx" || v == "avx2" || v == "avx2_vnni" || v == "avx2_vnni_2")
        return CpuIsa::Avx2;
    if (v.rfind("avx512", 0) == 0)
        return v.find("amx") != std::string::npos ? CpuIsa::Avx512Amx : CpuIsa::Avx512;
    return CpuIsa::Avx512Amx;
}

CpuIsa detect()
{
#if SB_X86
    __builtin_cpu_init();
    if (!(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")))
        return CpuIsa::Baseline;
    if (!(__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
          __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")))
        return CpuIsa::Avx2;
    unsigned a = 0, b = 0, c = 0, d = 0;
    // CPUID.(7,0):EDX bit 24 = AMX-TILE (the OS must also enable the tile
    // state; oneDNN checks that itself before it uses AMX).
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d) && (d & (1u << 24)))
        return CpuIsa::Avx512Amx;
    return CpuIsa::Avx512;
#else
    return CpuIsa::Baseline;
#endif
}

CpuIsa capped()
{
    const char *ours = std::getenv("SHARDBENCH_MAX_CPU_ISA");
    const CpuIsa cap = parseCap(ours && *ours ? ours : std::getenv("ONEDNN_MAX_CPU_ISA"));
    return std::min(detect(), cap);
}

} // namespace

CpuIsa cpuIsaDetected()
{
    static const CpuIsa isa = detect();
    return isa;
}

CpuIsa cpuIsa()
{
    static const CpuIsa isa = capped();
    return isa;
}

bool cpuAvx512FullWidth()
{
    static const bool full = [] {
        if (cpuIsa() < CpuIsa::Avx512)
            return false;
#if SB_X86
        unsigned a = 0, b = 0, c = 0, d = 0;
        if (__builtin_cpu_is("amd") && __get_cpuid(1, &a, &b, &c, &d)) {
            const unsigned base = (a >> 8) & 0xf;
            const unsigned family = base == 0xf ? base + ((a >> 20) & 0xff) : base;
            return family != 0x19; // Zen 4
        }
#endif
        return true;
    }();
    return full;
}

const char *cpuIsaName(CpuIsa isa)
{
    switch (isa) {
    case CpuIsa::Baseline:
        return "baseline";
    case CpuIsa::Avx2:
        return "avx2";
    case CpuIsa::Avx512:
        return "avx512";
    case CpuIsa::Avx512Amx:
        return "amx";
    }
    return "baseline";
}

std::string cpuIsaDescription()
{
    std::string text = cpuIsaName(cpuIsa());
    if (cpuIsa() != cpuIsaDetected())
        text += std::string(" (capped from ") + cpuIsaName(cpuIsaDetected()) + ")";
    return text;
}

std::string cpuModelName()
{
#if SB_X86
    unsigned regs[12] = {};
    unsigned top = __get_cpuid_max(0x80000000u, nullptr);
    if (top >= 0x80000004u) {
        for (unsigned i = 0; i < 3; ++i)
            __get_cpuid(0x80000002u + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2],
                        &regs[4 * i + 3]);
        char brand[49] = {};
        std::memcpy(brand, regs, 48);
        std::string name(brand);
        const auto first = name.find_first_not_of(' ');
        const auto last = name.find_last_not_of(' ');
        if (first != std::string::npos)
            return name.substr(first, last - first + 1);
    }
#endif
    std::ifstream info("/proc/cpuinfo");
    std::string line;
    while (std::getline(info, line))
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos)
                return line.substr(line.find_first_not_of(' ', colon + 1));
        }
    return "unknown CPU";
}

} // namespace sb::kernels
