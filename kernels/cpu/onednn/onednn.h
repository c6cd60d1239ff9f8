// oneDNN (Debian libdnnl) behind the fast CPU kernels: convolution and
// matmul primitives with fused post-ops (bias, ReLU/Clip/GELU, a residual
// add), JIT-compiled by oneDNN for the widest ISA the CPU has (AVX2,
// AVX-512, AMX; capped by cpu_isa.h).
//
// Per node and input shape, the first run (the executor's planning run)
// builds the primitives, reorders constant weights into oneDNN's blocked
// layout once, and times each candidate (our own kernel, oneDNN on plain
// NCHW / row-major tensors, oneDNN on blocked tensors with reorders in and
// out) on the real operands; the fastest is kept in the node's KernelState
// for the rest of the session, never rebuilt per run. SHARDBENCH_CPU_KERNELS
// (or setKernelChoice) forces one side: "ours", "onednn", "onednn-blocked"
// or "auto" (default). Scratchpads and blocked activation copies come from
// KernelContext::allocateScratch, so the memory plan counts them; blocked
// weights count as the state's persistent bytes.
//
// Without oneDNN in the build (SHARDBENCH_HAVE_ONEDNN unset), every call
// runs our kernel.
#pragma once

#include "core/runtime/kernel_registry.h"
#include "kernels/cpu/cpu_isa.h"
#include "kernels/cpu/nn_common.h"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace sb::kernels {

enum class KernelChoice
{
    Auto,          // time both, keep the faster (per node and shape, once per session)
    Ours,          // our kernels only
    OneDnn,        // oneDNN wherever it covers the case (plain layouts when it has them)
    OneDnnBlocked, // oneDNN, blocked layouts when it has them (tests)
};
// The process-wide choice: SHARDBENCH_CPU_KERNELS unless set here (tests).
KernelChoice kernelChoice();
void setKernelChoice(KernelChoice choice);

// Problems below `macs` float32 multiply-adds (int8: four times as many) run
// whole on the calling thread, without forking to the pool (default 512K,
// about 20 us of one core; a negative value restores it). Int8 kernel names
// end in "(N parts)" when a problem was cut across N threads. Tests set 0 to
// run the parted path on small problems.
void setSerialMacsLimit(double macs);

// "oneDNN 2.6.3 (avx512_core)" or "oneDNN not built in".
std::string oneDnnDescription();
bool oneDnnAvailable();

// A 2-D convolution, NCHW float32. residual: optional tensor of the
// output's shape added before the activation (sb.FusedConv's 4th input).
struct ConvProblem
{
    std::int64_t n = 1, inChannels = 1, outChannels = 1, group = 1;
    std::int64_t inH = 1, inW = 1, outH = 1, outW = 1, kernelH = 1, kernelW = 1;
    std::int64_t strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
    std::int64_t padTop = 0, padLeft = 0, padBottom = 0, padRight = 0;
    const float *x = nullptr, *w = nullptr, *bias = nullptr, *residual = nullptr;
    float *y = nullptr;
    Activation act;
    bool weightsConstant = false;
    // NHWC bytes under the NCHW shape (kernels/cpu/channels_last.h): x, and
    // y with its residual.
    bool xChannelsLast = false, yChannelsLast = false;
};

// The geometry of a 2-D convolution (pointers and activation left empty).
ConvProblem convProblemOf(const ConvGeometry &g);

// C[b] = act(A[b] * B[b] + bias) for b < batch, row-major float32, A [m, k]
// at a + aOffset(b), B [k, n] at b + bOffset(b) (ld = k and n), C [m, n]
// contiguous. bShared: B is the same matrix for every batch.
struct MatMulProblem
{
    std::int64_t batch = 1, m = 1, n = 1, k = 1;
    std::int64_t aBatchStride = 0, bBatchStride = 0; // elements; 0 = broadcast
    const float *a = nullptr, *b = nullptr, *bias = nullptr;
    float *c = nullptr;
    Activation act;
    bool bConstant = false;
};

// Our kernel for a problem: takes its scratch from the context it is given
// (null in the timing runs that choose the implementation: the heap; see
// kernels/cpu/fast/scratch.h).
using OursFn = std::function<Status(KernelContext *)>;
// Runs the problem with the implementation chosen for this node and shape
// (see above); `ours` runs our kernel (oursName names it for profiles).
Status runConvolution(KernelContext &ctx, const ConvProblem &problem, const OursFn &ours,
                      const char *oursName);
Status runMatMul(KernelContext &ctx, const MatMulProblem &problem,
                 const std::function<void()> &ours, const char *oursName);

// Int8 convolution with QLinearConv's semantics, NCHW: x uint8 or int8
// with a per-tensor zero point, w int8 with zero point 0 (symmetric, per
// output channel scales), optional int32 bias, y uint8 or int8:
//   y = saturate(round(act(acc * outputScales[oc])) + yZeroPoint),
//   acc = sum (x - xZeroPoint) * w + bias, outputScales = xs * ws[oc] / ys.
// `shape` carries the geometry (its float pointers are unused).
// xChannelsLast / yChannelsLast: x / y are stored NHWC under their NCHW
// shape (kernels/cpu/channels_last.h); oneDNN reads / writes them in place
// (NCHW operands are reordered to NHWC and back around the primitive).
// The operands sit where QLinearConv has them: x is the node's input 0, the
// bias (when `bias` is set: that tensor's data) its input 8; the output is
// allocated as output 0.
struct QConvProblem
{
    ConvProblem shape;
    bool xSigned = false, ySigned = false;
    bool xChannelsLast = false, yChannelsLast = false;
    const std::int8_t *w = nullptr; // constant
    const std::int32_t *bias = nullptr;
    std::int32_t xZeroPoint = 0, yZeroPoint = 0;
    std::vector<float> outputScales; // one, or one per output channel
    bool relu = false;
};

// Int8 matrix product with the same requantisation: A [m, k] (uint8 or
// int8, per-tensor zero point), B int8 [k, n] (or [n, k] when transB) with
// zero point 0, int32 bias [n], C [m, n] (of shape cShape). As sb.QGemm has
// them: A is the node's input 0, the bias its input 8, C output 0.
struct QMatMulProblem
{
    std::int64_t m = 1, n = 1, k = 1;
    bool transB = false, aSigned = false, cSigned = false;
    const std::int8_t *b = nullptr; // constant
    const std::int32_t *bias = nullptr;
    std::int32_t aZeroPoint = 0, cZeroPoint = 0;
    std::vector<float> outputScales; // one, or one per column
    bool relu = false;
    Shape cShape;
};

// Run the problem with oneDNN's int8 primitives (u8s8 / s8s8 on VNNI),
// built once per node and input shape with the weights reordered once;
// `reference` runs when oneDNN is absent, forced off
// (SHARDBENCH_CPU_KERNELS=ours), does not cover the case, or the CPU (or
// the ISA cap) has no VNNI: there oneDNN's u8s8 kernels sum products in
// saturating 16-bit pairs and would be wrong for full-range int8 weights.
// Else the output is allocated and computed (exactly one of the two runs).
Status runQConvolution(KernelContext &ctx, const QConvProblem &problem,
                       const std::function<Status()> &reference);
Status runQMatMul(KernelContext &ctx, const QMatMulProblem &problem,
                  const std::function<Status()> &reference);
// Once runQConvolution / runQMatMul has built the node's primitive for the
// type and shape of its input 0, later runs need none of the problem (no
// attributes, geometry or scales read per call on a tiny model's dozens of
// nodes): this runs it again, or returns nullopt (not built yet, or not
// covered) and the caller goes the long way.
std::optional<Status> runPreparedInt8(KernelContext &ctx);

// A static string "ours <algorithm> <isa>" for profiles (interned).
const char *oursKernelName(const std::string &algorithm);
// The same for a kernel whose widest copy is `widest` (e.g. a loop with only
// an AVX2 copy reports "avx2" on an AVX-512 CPU).
const char *oursKernelName(const std::string &algorithm, CpuIsa widest);

} // namespace sb::kernels
