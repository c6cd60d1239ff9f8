// Kernel profiles: which calibrated rate class each CPU kernel's code path
// belongs to and how much work it does for given shapes (KernelProfile). The
// cost model asks the kernel the executor will run (registry.find(...)->
// profile), so a kernel that picks another path (Winograd vs im2col) or a new
// kernel (oneDNN) declares its own class here instead of in an op list on the
// cost side.
//
// Classes (the probes of core/plan/kernel_rates.cpp measure each):
//   gemm.small_m  MatMul/Gemm with at most 16 output rows (gemv-like)
//   gemm.square   one GEMM with rows < 8 x columns
//   gemm.tall     one GEMM with rows >= 8 x columns
//   gemm.batched  MatMul whose B is batched (attention scores, context)
//   conv.im2col / conv.pointwise / conv.winograd / conv.depthwise /
//   conv.pointwise_depthwise  the fast Conv paths (FLOPs of a direct conv)
//   pool          MaxPool/AveragePool (window reads)
//   pool.global   GlobalAveragePool/GlobalMaxPool (bytes)
//   mem.normalization  Softmax/LayerNorm/BatchNorm (bytes in + out)
//   mem.transpose, mem.copy, mem.gelu, reduce (bytes)
//   mem.elementwise  everything else (bytes in + out; no profile needed)
// A conv path run on channels-last operands (a float or int8 channels-last
// chain, core/runtime/fusion.h) is its own class, "<path>.nhwc": oneDNN's
// NHWC primitive and the fused kernel's NHWC rows run at other rates than
// the planar path (with one learned factor for both, cost_model_bench
// predicted MobileNetV2's early, planar stages 12-18% short and its late,
// channels-last ones 35-42% long). No probe measures the variants; they
// take their path's calibrated rate and a learned factor of their own
// (core/plan/predict.h).
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/fast/conv_gemm.h"
#include "kernels/cpu/fast/fast.h"
#include "kernels/cpu/fast/window2d.h"
#include "kernels/cpu/fast/winograd.h"
#include "kernels/cpu/kernel_util.h"

#include <algorithm>

namespace sb::kernels {

using runtime::DeviceKind;
using runtime::KernelProfile;
using runtime::KernelRegistry;
using runtime::ProfileFn;
using runtime::Shape;

namespace {

std::uint64_t profileElements(const Shape &shape)
{
    std::uint64_t count = 1;
    for (std::int64_t dim : shape)
        count *= static_cast<std::uint64_t>(std::max<std::int64_t>(dim, 0));
    return count;
}

constexpr double kFloat = sizeof(float);

double bytesOf(const std::vector<Shape> &shapes, std::size_t first, std::size_t count)
{
    double total = 0;
    for (std::size_t i = first; i < std::min(shapes.size(), first + count); ++i)
        total += static_cast<double>(profileElements(shapes[i])) * kFloat;
    return total;
}

// Bytes of input 0 and output 0.
ProfileFn bytesProfile(const std::string &rateClass)
{
    return [rateClass](const graph::Node &, const std::vector<Shape> &in,
                       const std::vector<Shape> &out, int) {
        return KernelProfile{rateClass, bytesOf(in, 0, 1) + bytesOf(out, 0, 1), 0};
    };
}

KernelProfile gemmProfile(std::int64_t rows, std::int64_t columns, std::int64_t depth,
                          std::int64_t batches)
{
    KernelProfile profile;
    profile.work = 2.0 * static_cast<double>(rows) * static_cast<double>(columns) *
                   static_cast<double>(depth) * static_cast<double>(batches);
    if (batches > 1)
        profile.rateClass = "gemm.batched";
    else if (rows <= 16)
        profile.rateClass = "gemm.small_m";
    else if (rows >= 8 * columns)
        profile.rateClass = "gemm.tall";
    else
        profile.rateClass = "gemm.square";
    return profile;
}

KernelProfile matmulProfile(const graph::Node &, const std::vector<Shape> &in,
                            const std::vector<Shape> &out, int)
{
    if (in.size() < 2 || out.empty() || in[0].empty() || in[1].empty() || out[0].empty())
        return {"gemm.square", 0, 0};
    const Shape &a = in[0], &b = in[1], &c = out[0];
    const std::int64_t depth = a.back();
    const std::int64_t columns = b.size() >= 2 ? b.back() : 1;
    // A batched B means one GEMM per batch; a 2-D B lets the batch fold into rows.
    std::int64_t batches = 1;
    for (std::size_t i = 0; b.size() > 2 && i + 2 < c.size(); ++i)
        batches *= c[i];
    const std::int64_t rows = static_cast<std::int64_t>(profileElements(c)) /
                              std::max<std::int64_t>(columns, 1) /
                              std::max<std::int64_t>(batches, 1);
    return gemmProfile(rows, columns, depth, batches);
}

KernelProfile gemmNodeProfile(const graph::Node &node, const std::vector<Shape> &in,
                              const std::vector<Shape> &out, int)
{
    if (in.size() < 2 || in[0].size() != 2 || out.empty() || out[0].size() != 2)
        return {"gemm.square", 0, 0};
    const std::int64_t depth = node.intAttr("transA", 0) ? in[0][0] : in[0][1];
    return gemmProfile(out[0][0], out[0][1], depth, 1);
}

std::int64_t attrAt(const std::vector<std::int64_t> &v, std::size_t i, std::int64_t fallback)
{
    return i < v.size() ? v[i] : fallback;
}

// The 2-D window of a conv or pool node (1-D lifted to 2-D as the fast
// kernels do), with its leading pads from the `pads` attribute.
Window2dShape windowOf(const graph::Node &node, const Shape &x, const Shape &y,
                       std::int64_t kernelH, std::int64_t kernelW)
{
    const bool twoD = x.size() == 4;
    const std::vector<std::int64_t> strides = node.intsAttr("strides");
    const std::vector<std::int64_t> dilations = node.intsAttr("dilations");
    const std::vector<std::int64_t> pads = node.intsAttr("pads");
    Window2dShape w;
    w.batch = x[0];
    w.channels = x[1];
    w.inH = twoD ? x[2] : 1;
    w.inW = x.back();
    w.outH = twoD ? y[2] : 1;
    w.outW = y.back();
    w.kernelH = kernelH;
    w.kernelW = kernelW;
    w.strideH = twoD ? attrAt(strides, 0, 1) : 1;
    w.strideW = attrAt(strides, twoD ? 1 : 0, 1);
    w.dilationH = twoD ? attrAt(dilations, 0, 1) : 1;
    w.dilationW = attrAt(dilations, twoD ? 1 : 0, 1);
    w.padTop = twoD ? attrAt(pads, 0, 0) : 0;
    w.padLeft = attrAt(pads, twoD ? 1 : 0, 0);
    return w;
}

std::uint64_t floatBytes(std::int64_t floats)
{
    return static_cast<std::uint64_t>(std::max<std::int64_t>(floats, 0)) * sizeof(float);
}

// `profile` as the channels-last variant of its class when the node's
// operands are channels-last.
KernelProfile withLayout(KernelProfile profile, const graph::Node &node)
{
    if (anyChannelsLast(node))
        profile.rateClass += ".nhwc";
    return profile;
}

// The fast Conv's path choice (nn_fast.cpp fastConv) for these shapes, and
// the scratch that path takes (our kernel's; when oneDNN's wins the
// node's timing, onednn.h, its scratchpad differs).
KernelProfile pathProfile(const graph::Node &node, const std::vector<Shape> &in,
                          const std::vector<Shape> &out, int threads)
{
    if (in.size() < 2 || out.empty() || in[0].size() < 3 || in[1].size() < 3 ||
        out[0].size() != in[0].size() || in[0].size() > 4)
        return {"conv.im2col", 0, 0};
    const Shape &x = in[0], &w = in[1], &y = out[0];
    const std::int64_t group = node.intAttr("group", 1);
    const std::int64_t inChannels = x[1], outChannels = y[1];
    std::int64_t window = 1;
    for (std::size_t i = 2; i < w.size(); ++i)
        window *= w[i];
    const double flops = 2.0 * static_cast<double>(profileElements(y)) * static_cast<double>(w[1]) *
                         static_cast<double>(window);
    const bool twoD = x.size() == 4;
    ConvGemmShape shape;
    shape.group = group;
    shape.inChannels = inChannels;
    shape.outChannels = outChannels;
    shape.window = windowOf(node, x, y, twoD ? w[2] : 1, w.back());
    if (inChannels / group == 1 && outChannels / group == 1) {
        Window2dShape depthwise = shape.window;
        depthwise.channels = outChannels;
        return {"conv.depthwise", flops,
                floatBytes(depthwiseConv2dScratchFloats(depthwise, threads))};
    }
    if (window == 1)
        return {"conv.pointwise", flops, floatBytes(convIm2colGemmScratchFloats(shape, threads))};
    if (winogradApplies(shape))
        return {"conv.winograd", flops, floatBytes(convWinograd3x3ScratchFloats(shape, threads))};
    return {"conv.im2col", flops, floatBytes(convIm2colGemmScratchFloats(shape, threads))};
}

KernelProfile convProfile(const graph::Node &node, const std::vector<Shape> &in,
                          const std::vector<Shape> &out, int threads)
{
    return withLayout(pathProfile(node, in, out, threads), node);
}

KernelProfile pointwiseDepthwiseProfile(const graph::Node &node, const std::vector<Shape> &in,
                                        const std::vector<Shape> &out, int threads)
{
    // Inputs X, W1, B1?, W2, B2?: W2 is the last rank-4 input.
    if (in.size() < 3 || out.empty() || in[0].size() != 4 || out[0].size() != 4 ||
        in[1].size() != 4)
        return {"conv.pointwise_depthwise", 0, 0};
    const Shape &x = in[0], &y = out[0];
    const Shape *w2 = nullptr;
    for (std::size_t i = 2; i < in.size(); ++i)
        if (in[i].size() == 4)
            w2 = &in[i];
    const double window = w2 ? static_cast<double>((*w2)[2] * (*w2)[3]) : 9.0;
    const double expand = 2.0 * static_cast<double>(x[0] * x[2] * x[3]) *
                          static_cast<double>(x[1]) * static_cast<double>(y[1]);
    const double depthwise = 2.0 * static_cast<double>(profileElements(y)) * window;
    std::uint64_t scratch = 0;
    if (w2) {
        const Window2dShape win = windowOf(node, x, y, (*w2)[2], (*w2)[3]);
        PointwiseDepthwiseGeometry g;
        g.n = x[0];
        g.inChannels = x[1];
        g.channels = in[1][0];
        g.inH = win.inH;
        g.inW = win.inW;
        g.outH = win.outH;
        g.outW = win.outW;
        g.kernelH = win.kernelH;
        g.kernelW = win.kernelW;
        g.strideH = win.strideH;
        g.strideW = win.strideW;
        g.dilationH = win.dilationH;
        g.dilationW = win.dilationW;
        g.padTop = win.padTop;
        g.padLeft = win.padLeft;
        g.xChannelsLast = inputChannelsLast(node, 0);
        g.yChannelsLast = outputChannelsLast(node);
        scratch = floatBytes(
            pointwiseDepthwiseScratchFloats(g, node.intAttr("channel_block", 0), threads));
    }
    return withLayout({"conv.pointwise_depthwise", expand + depthwise, scratch}, node);
}

// Window reads; MaxPool's fast kernel (float, 2-D, no indices) takes a phase
// split of a strided plane per thread (a row buffer for 3x3 stride 2 on
// AVX-512; nothing channels-last).
KernelProfile poolProfile(const graph::Node &node, const std::vector<Shape> &in,
                          const std::vector<Shape> &out, int threads)
{
    double window = 1;
    const std::vector<std::int64_t> kernel = node.intsAttr("kernel_shape");
    for (std::int64_t k : kernel)
        window *= static_cast<double>(k);
    KernelProfile profile{
        "pool", out.empty() ? 0.0 : static_cast<double>(profileElements(out[0])) * window, 0};
    if (node.opType == "MaxPool" && (out.size() < 2 || out[1].empty()) && !in.empty() &&
        in[0].size() == 4 && out[0].size() == 4 && kernel.size() == 2 &&
        node.intAttr("storage_order", 0) == 0 && !anyChannelsLast(node))
        profile.scratchBytes = floatBytes(
            maxPool2dScratchFloats(windowOf(node, in[0], out[0], kernel[0], kernel[1]), threads));
    return profile;
}

} // namespace

void registerCpuProfiles(KernelRegistry &r)
{
    const DeviceKind cpu = DeviceKind::Cpu;
    for (const char *op : {"MatMul", "FusedMatMul"})
        r.setDefaultProfile(op, op[0] == 'F' ? "sb" : "", cpu, matmulProfile);
    for (const char *op : {"Gemm", "FusedGemm"})
        r.setDefaultProfile(op, op[0] == 'F' ? "sb" : "", cpu, gemmNodeProfile);
    r.setDefaultProfile("Conv", "", cpu, convProfile);
    r.setDefaultProfile("FusedConv", "sb", cpu, convProfile);
    r.setDefaultProfile("FusedPointwiseDepthwise", "sb", cpu, pointwiseDepthwiseProfile);
    r.setDefaultProfile("MaxPool", "", cpu, poolProfile);
    r.setDefaultProfile("AveragePool", "", cpu, poolProfile);
    for (const char *op : {"Softmax", "LogSoftmax", "LayerNormalization", "BatchNormalization",
                           "InstanceNormalization"})
        r.setDefaultProfile(op, "", cpu, bytesProfile("mem.normalization"));
    r.setDefaultProfile("Transpose", "", cpu, bytesProfile("mem.transpose"));
    for (const char *op : {"GlobalAveragePool", "GlobalMaxPool"})
        r.setDefaultProfile(op, "", cpu, bytesProfile("pool.global"));
    r.setDefaultProfile("Gelu", "sb", cpu, bytesProfile("mem.gelu"));
    for (const char *op : {"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"})
        r.setDefaultProfile(op, "", cpu, bytesProfile("mem.copy"));
    for (const char *op : {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd",
                           "ReduceL2", "ReduceSumSquare", "ArgMax", "ArgMin"})
        r.setDefaultProfile(
            op, "", cpu,
            [](const graph::Node &, const std::vector<Shape> &in, const std::vector<Shape> &, int) {
                return KernelProfile{"reduce", bytesOf(in, 0, 1), 0};
            });
}

} // namespace sb::kernels
