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
#include "kernels/cpu/fast/conv_gemm.h"
#include "kernels/cpu/fast/fast.h"
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
                       const std::vector<Shape> &out) {
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
                            const std::vector<Shape> &out)
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
                              const std::vector<Shape> &out)
{
    if (in.size() < 2 || in[0].size() != 2 || out.empty() || out[0].size() != 2)
        return {"gemm.square", 0, 0};
    const std::int64_t depth = node.intAttr("transA", 0) ? in[0][0] : in[0][1];
    return gemmProfile(out[0][0], out[0][1], depth, 1);
}

// The fast Conv's path choice (nn_fast.cpp fastConv) for these shapes.
KernelProfile convProfile(const graph::Node &node, const std::vector<Shape> &in,
                          const std::vector<Shape> &out)
{
    if (in.size() < 2 || out.empty() || in[0].size() < 3 || in[1].size() < 3 ||
        out[0].size() != in[0].size())
        return {"conv.im2col", 0, 0};
    const Shape &x = in[0], &w = in[1], &y = out[0];
    const std::int64_t group = node.intAttr("group", 1);
    const std::int64_t inChannels = x[1], outChannels = y[1];
    std::int64_t window = 1;
    for (std::size_t i = 2; i < w.size(); ++i)
        window *= w[i];
    const double flops = 2.0 * static_cast<double>(profileElements(y)) * static_cast<double>(w[1]) *
                         static_cast<double>(window);
    if (x.size() == 4 && inChannels / group == 1 && outChannels / group == 1)
        return {"conv.depthwise", flops, 0};
    if (window == 1)
        return {"conv.pointwise", flops, 0};
    std::vector<std::int64_t> strides = node.intsAttr("strides");
    std::vector<std::int64_t> dilations = node.intsAttr("dilations");
    std::vector<std::int64_t> pads = node.intsAttr("pads");
    const bool twoD = x.size() == 4;
    auto at = [](const std::vector<std::int64_t> &v, std::size_t i, std::int64_t fallback) {
        return i < v.size() ? v[i] : fallback;
    };
    ConvGemmShape shape;
    shape.group = group;
    shape.inChannels = inChannels;
    shape.outChannels = outChannels;
    shape.window.batch = x[0];
    shape.window.inH = twoD ? x[2] : 1;
    shape.window.inW = x.back();
    shape.window.outH = twoD ? y[2] : 1;
    shape.window.outW = y.back();
    shape.window.kernelH = twoD ? w[2] : 1;
    shape.window.kernelW = w.back();
    shape.window.strideH = twoD ? at(strides, 0, 1) : 1;
    shape.window.strideW = at(strides, twoD ? 1 : 0, 1);
    shape.window.dilationH = twoD ? at(dilations, 0, 1) : 1;
    shape.window.dilationW = at(dilations, twoD ? 1 : 0, 1);
    shape.window.padTop = twoD ? at(pads, 0, 0) : 0;
    shape.window.padLeft = at(pads, twoD ? 1 : 0, 0);
    if (winogradApplies(shape)) {
        // Transformed input and output tiles: 16 positions per 2x2 tile.
        const double tiles = static_cast<double>(x[0]) *
                             static_cast<double>((shape.window.outH + 1) / 2) *
                             static_cast<double>((shape.window.outW + 1) / 2);
        const auto scratch = static_cast<std::uint64_t>(
            tiles * 16.0 * static_cast<double>(inChannels + outChannels) * kFloat);
        return {"conv.winograd", flops, scratch};
    }
    // im2col: (C_in/group * window) x (output pixels) floats.
    const auto scratch = static_cast<std::uint64_t>(
        static_cast<double>(w[1] * window) *
        static_cast<double>(profileElements(y) / static_cast<std::uint64_t>(outChannels)) * kFloat);
    return {"conv.im2col", flops, scratch};
}

KernelProfile pointwiseDepthwiseProfile(const graph::Node &, const std::vector<Shape> &in,
                                        const std::vector<Shape> &out)
{
    // Inputs X, W1, B1?, W2, B2?: W2 is the last rank-4 input.
    if (in.size() < 3 || out.empty() || in[0].size() != 4 || out[0].size() != 4)
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
    return {"conv.pointwise_depthwise", expand + depthwise, 0};
}

KernelProfile poolProfile(const graph::Node &node, const std::vector<Shape> &,
                          const std::vector<Shape> &out)
{
    double window = 1;
    for (std::int64_t k : node.intsAttr("kernel_shape"))
        window *= static_cast<double>(k);
    return {"pool", out.empty() ? 0.0 : static_cast<double>(profileElements(out[0])) * window, 0};
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
            [](const graph::Node &, const std::vector<Shape> &in, const std::vector<Shape> &) {
                return KernelProfile{"reduce", bytesOf(in, 0, 1), 0};
            });
}

} // namespace sb::kernels
