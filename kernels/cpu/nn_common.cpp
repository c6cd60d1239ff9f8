#include "kernels/cpu/nn_common.h"

#include "kernels/cpu/channels_last.h"

#include <cmath>

namespace sb::kernels {

Result<MatMulShape> matmulShape(KernelContext &ctx, const Shape &aIn, const Shape &bIn)
{
    if (aIn.empty() || bIn.empty())
        return ctx.invalid("MatMul inputs must have rank >= 1");
    Shape a = aIn, b = bIn;
    bool aVec = a.size() == 1, bVec = b.size() == 1;
    if (aVec)
        a.insert(a.begin(), 1);
    if (bVec)
        b.push_back(1);
    MatMulShape ms;
    ms.m = a[a.size() - 2];
    ms.k = a.back();
    ms.n = b.back();
    if (b[b.size() - 2] != ms.k)
        return ctx.invalid("MatMul inner dimensions differ: " + runtime::shapeToString(aIn) +
                           " x " + runtime::shapeToString(bIn));
    Shape aBatch(a.begin(), a.end() - 2), bBatch(b.begin(), b.end() - 2);
    auto batchShape = broadcastShapes(aBatch, bBatch);
    if (!batchShape)
        return ctx.invalid("MatMul batch dims do not broadcast");
    ms.batch = runtime::shapeElementCount(*batchShape);
    auto sa = broadcastStrides(aBatch, *batchShape);
    auto sb = broadcastStrides(bBatch, *batchShape);
    ms.aOffsets.resize(static_cast<std::size_t>(ms.batch));
    ms.bOffsets.resize(static_cast<std::size_t>(ms.batch));
    for (std::int64_t i = 0; i < ms.batch; ++i) {
        std::int64_t rem = i, ao = 0, bo = 0;
        for (std::size_t d = batchShape->size(); d-- > 0;) {
            std::int64_t c = rem % (*batchShape)[d];
            rem /= (*batchShape)[d];
            ao += c * sa[d];
            bo += c * sb[d];
        }
        ms.aOffsets[static_cast<std::size_t>(i)] = ao * ms.m * ms.k;
        ms.bOffsets[static_cast<std::size_t>(i)] = bo * ms.k * ms.n;
    }
    ms.outShape = *batchShape;
    if (!aVec)
        ms.outShape.push_back(ms.m);
    if (!bVec)
        ms.outShape.push_back(ms.n);
    return ms;
}

Result<GemmArgs> gemmArgs(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    if (a.type() != b.type() ||
        (a.type() != ElementType::Float32 && a.type() != ElementType::Float64))
        return ctx.unsupported("element type " + typeName(a.type()));
    if (a.rank() != 2 || b.rank() != 2)
        return ctx.invalid("Gemm inputs must be 2-D");
    GemmArgs g;
    g.transA = ctx.node().intAttr("transA", 0) != 0;
    g.transB = ctx.node().intAttr("transB", 0) != 0;
    g.alpha = ctx.node().floatAttr("alpha", 1.0f);
    g.beta = ctx.node().floatAttr("beta", 1.0f);
    g.m = g.transA ? a.dim(1) : a.dim(0);
    g.k = g.transA ? a.dim(0) : a.dim(1);
    std::int64_t kb = g.transB ? b.dim(1) : b.dim(0);
    g.n = g.transB ? b.dim(0) : b.dim(1);
    if (kb != g.k)
        return ctx.invalid("Gemm inner dimensions differ");
    if (ctx.hasInput(2)) {
        const Tensor &c = ctx.input(2);
        if (c.type() != a.type())
            return ctx.unsupported("C element type differs");
        if (!broadcastShapes(c.shape(), {g.m, g.n}) || c.rank() > 2)
            return ctx.invalid("C does not broadcast to [M, N]");
    }
    return g;
}

Status gemmAddC(KernelContext &ctx, const GemmArgs &g, Tensor &out)
{
    if (!ctx.hasInput(2) || g.beta == 0)
        return Status::success();
    const Tensor &c = ctx.input(2);
    Shape target = {g.m, g.n};
    auto strides = broadcastStrides(c.shape(), target);
    dispatch(out.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *pc = c.as<T>();
        T *po = out.as<T>();
        for (std::int64_t i = 0; i < g.m; ++i)
            for (std::int64_t j = 0; j < g.n; ++j)
                po[i * g.n + j] =
                    static_cast<T>(po[i * g.n + j] + g.beta * pc[i * strides[0] + j * strides[1]]);
    });
    return Status::success();
}

namespace {

struct Window
{
    Shape kernel;
    std::vector<std::int64_t> strides, dilations, padBegin, padEnd;
    Shape outSpatial;
};

Result<Window> window(KernelContext &ctx, const Shape &inSpatial, Shape kernel, bool ceilMode)
{
    std::size_t sd = inSpatial.size();
    Window w;
    w.kernel = std::move(kernel);
    w.strides = ctx.node().intsAttr("strides");
    w.dilations = ctx.node().intsAttr("dilations");
    auto pads = ctx.node().intsAttr("pads");
    std::string autoPad = ctx.node().stringAttr("auto_pad", "NOTSET");
    if (w.strides.empty())
        w.strides.assign(sd, 1);
    if (w.dilations.empty())
        w.dilations.assign(sd, 1);
    if (pads.empty())
        pads.assign(2 * sd, 0);
    if (w.kernel.size() != sd || w.strides.size() != sd || w.dilations.size() != sd ||
        pads.size() != 2 * sd)
        return ctx.invalid("kernel_shape/strides/dilations/pads do not match the spatial rank " +
                           std::to_string(sd));
    w.padBegin.resize(sd);
    w.padEnd.resize(sd);
    w.outSpatial.resize(sd);
    for (std::size_t d = 0; d < sd; ++d) {
        if (w.strides[d] <= 0 || w.dilations[d] <= 0 || w.kernel[d] <= 0)
            return ctx.invalid("strides, dilations and kernel must be positive");
        std::int64_t eff = (w.kernel[d] - 1) * w.dilations[d] + 1;
        std::int64_t in = inSpatial[d];
        if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            std::int64_t out = (in + w.strides[d] - 1) / w.strides[d];
            std::int64_t total = std::max<std::int64_t>(0, (out - 1) * w.strides[d] + eff - in);
            w.padBegin[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            w.padEnd[d] = total - w.padBegin[d];
            w.outSpatial[d] = out;
        } else if (autoPad == "VALID") {
            w.padBegin[d] = w.padEnd[d] = 0;
            w.outSpatial[d] = in >= eff ? (in - eff) / w.strides[d] + 1 : 0;
        } else if (autoPad == "NOTSET") {
            w.padBegin[d] = pads[d];
            w.padEnd[d] = pads[d + sd];
            std::int64_t span = in + w.padBegin[d] + w.padEnd[d] - eff;
            if (span < 0)
                return ctx.invalid("kernel larger than the padded input");
            std::int64_t out =
                ceilMode ? (span + w.strides[d] - 1) / w.strides[d] + 1 : span / w.strides[d] + 1;
            if (ceilMode && (out - 1) * w.strides[d] >= in + w.padBegin[d])
                --out;
            w.outSpatial[d] = out;
        } else {
            return ctx.unsupported("auto_pad '" + autoPad + "'");
        }
    }
    return w;
}

} // namespace

Result<ConvGeometry> convGeometry(KernelContext &ctx, const ConvOperands &operands)
{
    const Tensor &x = ctx.input(0);
    const Tensor &w = ctx.input(operands.weight);
    if (operands.floatOnly &&
        (x.type() != ElementType::Float32 || w.type() != ElementType::Float32))
        return ctx.unsupported("element type " + typeName(x.type()) + " (float32 only)");
    if (x.rank() < 3 || w.rank() != x.rank())
        return ctx.invalid("input " + runtime::shapeToString(x.shape()) + " and weight " +
                           runtime::shapeToString(w.shape()) + " ranks must match and be >= 3");
    ConvGeometry g;
    g.n = x.dim(0);
    g.inChannels = x.dim(1);
    g.outChannels = w.dim(0);
    g.group = ctx.node().intAttr("group", 1);
    if (g.group <= 0 || g.inChannels % g.group || g.outChannels % g.group ||
        w.dim(1) * g.group != g.inChannels)
        return ctx.invalid("weight " + runtime::shapeToString(w.shape()) + " and group " +
                           std::to_string(g.group) + " do not match " +
                           std::to_string(g.inChannels) + " input channels");
    if (ctx.hasInput(operands.bias) && ctx.input(operands.bias).elementCount() != g.outChannels)
        return ctx.invalid("bias must have one value per output channel");
    g.inSpatial.assign(x.shape().begin() + 2, x.shape().end());
    Shape kernel(w.shape().begin() + 2, w.shape().end());
    auto kernelAttr = ctx.node().intsAttr("kernel_shape");
    if (!kernelAttr.empty() && kernelAttr != kernel)
        return ctx.invalid("kernel_shape does not match the weight");
    SB_ASSIGN_OR_RETURN(Window win, window(ctx, g.inSpatial, kernel, false));
    g.kernel = win.kernel;
    g.strides = win.strides;
    g.dilations = win.dilations;
    g.padBegin = win.padBegin;
    g.padEnd = win.padEnd;
    g.outSpatial = win.outSpatial;
    return g;
}

Result<PointwiseDepthwiseGeometry> pointwiseDepthwiseGeometry(KernelContext &ctx)
{
    if (ctx.inputCount() < 4 || !ctx.hasInput(0) || !ctx.hasInput(1) || !ctx.hasInput(3))
        return ctx.invalid("needs inputs X, W1, B1?, W2, B2?");
    const Tensor &x = ctx.input(0);
    const Tensor &w1 = ctx.input(1);
    const Tensor &w2 = ctx.input(3);
    if (x.type() != ElementType::Float32 || w1.type() != ElementType::Float32 ||
        w2.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(x.type()) + " (float32 only)");
    if (x.rank() != 4 || w1.rank() != 4 || w2.rank() != 4 || w1.dim(1) != x.dim(1) ||
        w1.dim(2) != 1 || w1.dim(3) != 1 || w2.dim(0) != w1.dim(0) || w2.dim(1) != 1)
        return ctx.invalid("input " + runtime::shapeToString(x.shape()) + ", pointwise weight " +
                           runtime::shapeToString(w1.shape()) + " and depthwise weight " +
                           runtime::shapeToString(w2.shape()) + " do not match");
    PointwiseDepthwiseGeometry g;
    g.n = x.dim(0);
    g.inChannels = x.dim(1);
    g.channels = w1.dim(0);
    if ((ctx.hasInput(2) && ctx.input(2).elementCount() != g.channels) ||
        (ctx.inputCount() > 4 && ctx.hasInput(4) && ctx.input(4).elementCount() != g.channels))
        return ctx.invalid("biases must have one value per expanded channel");
    g.inH = x.dim(2);
    g.inW = x.dim(3);
    Shape kernel(w2.shape().begin() + 2, w2.shape().end());
    auto kernelAttr = ctx.node().intsAttr("kernel_shape");
    if (!kernelAttr.empty() && kernelAttr != kernel)
        return ctx.invalid("kernel_shape does not match the depthwise weight");
    SB_ASSIGN_OR_RETURN(Window win, window(ctx, {g.inH, g.inW}, kernel, false));
    g.outH = win.outSpatial[0];
    g.outW = win.outSpatial[1];
    g.kernelH = win.kernel[0];
    g.kernelW = win.kernel[1];
    g.strideH = win.strides[0];
    g.strideW = win.strides[1];
    g.dilationH = win.dilations[0];
    g.dilationW = win.dilations[1];
    g.padTop = win.padBegin[0];
    g.padLeft = win.padBegin[1];
    g.xChannelsLast = inputChannelsLast(ctx.node(), 0);
    g.yChannelsLast = outputChannelsLast(ctx.node());
    return g;
}

Result<PointwiseDepthwiseOperands> pointwiseDepthwiseOperands(KernelContext &ctx)
{
    PointwiseDepthwiseOperands op;
    SB_ASSIGN_OR_RETURN(op.g, pointwiseDepthwiseGeometry(ctx));
    const PointwiseDepthwiseGeometry &g = op.g;
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32,
                                                         {g.n, g.channels, g.outH, g.outW}));
    op.out = out->as<float>();
    op.x = ctx.input(0).as<float>();
    op.w1 = ctx.input(1).as<float>();
    op.b1 = ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr;
    op.w2 = ctx.input(3).as<float>();
    op.b2 = ctx.inputCount() > 4 && ctx.hasInput(4) ? ctx.input(4).as<float>() : nullptr;
    op.act1 = activationOf(ctx.node(), "pointwise_");
    op.act2 = activationOf(ctx.node());
    return op;
}

Result<PoolGeometry> poolGeometry(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.rank() < 3)
        return ctx.invalid("input rank must be >= 3");
    PoolGeometry g;
    g.n = x.dim(0);
    g.channels = x.dim(1);
    g.inSpatial.assign(x.shape().begin() + 2, x.shape().end());
    auto kernel = ctx.node().intsAttr("kernel_shape");
    if (kernel.empty())
        return ctx.invalid("kernel_shape missing");
    bool ceilMode = ctx.node().intAttr("ceil_mode", 0) != 0;
    SB_ASSIGN_OR_RETURN(Window win, window(ctx, g.inSpatial, kernel, ceilMode));
    g.kernel = win.kernel;
    g.strides = win.strides;
    g.dilations = win.dilations;
    g.padBegin = win.padBegin;
    g.padEnd = win.padEnd;
    g.outSpatial = win.outSpatial;
    return g;
}

Result<LayerNormArgs> layerNormArgs(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (ctx.input(1).type() != x.type() || (ctx.hasInput(2) && ctx.input(2).type() != x.type()))
        return ctx.unsupported("scale/bias element type differs from X");
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", -1), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    LayerNormArgs args;
    args.epsilon = ctx.node().floatAttr("epsilon", 1e-5f);
    args.cols = 1;
    for (std::size_t d = axis; d < x.rank(); ++d)
        args.cols *= x.dim(d);
    args.rows = args.cols ? x.elementCount() / args.cols : 0;
    for (std::size_t d = 0; d < x.rank(); ++d)
        args.statShape.push_back(d < axis ? x.dim(d) : 1);
    std::int64_t scaleCount = ctx.input(1).elementCount();
    if (scaleCount != args.cols && scaleCount != 1)
        return ctx.unsupported("scale broadcast of shape " +
                               runtime::shapeToString(ctx.input(1).shape()));
    args.scaleScalar = scaleCount == 1 && args.cols != 1;
    if (ctx.hasInput(2)) {
        std::int64_t biasCount = ctx.input(2).elementCount();
        if (biasCount != args.cols && biasCount != 1)
            return ctx.unsupported("bias broadcast of shape " +
                                   runtime::shapeToString(ctx.input(2).shape()));
        args.biasScalar = biasCount == 1 && args.cols != 1;
    }
    return args;
}

Activation activationOf(const graph::Node &node)
{
    return activationOf(node, "");
}

Activation activationOf(const graph::Node &node, const std::string &prefix)
{
    Activation act;
    std::string name = node.stringAttr(prefix + "activation", "");
    if (name == "Relu")
        act.kind = Activation::Relu;
    else if (name == "Gelu")
        act.kind = Activation::Gelu;
    else if (name == "Clip") {
        act.kind = Activation::Clip;
        act.lo = node.floatAttr(prefix + "clip_min", -INFINITY);
        act.hi = node.floatAttr(prefix + "clip_max", INFINITY);
    }
    return act;
}

void applyActivation(float *p, std::int64_t count, const Activation &act)
{
    switch (act.kind) {
    case Activation::None:
        return;
    case Activation::Relu:
        for (std::int64_t i = 0; i < count; ++i)
            p[i] = p[i] > 0.0f ? p[i] : 0.0f;
        return;
    case Activation::Clip:
        for (std::int64_t i = 0; i < count; ++i)
            p[i] = std::isnan(p[i]) ? p[i] : std::min(std::max(p[i], act.lo), act.hi);
        return;
    case Activation::Gelu:
        for (std::int64_t i = 0; i < count; ++i)
            p[i] = 0.5f * p[i] * (1.0f + std::erf(p[i] * 0.70710678118654752f));
        return;
    }
}

void applyActivation(Tensor &t, const Activation &act)
{
    if (t.type() == ElementType::Float32)
        applyActivation(t.as<float>(), t.elementCount(), act);
}

Status addBiasLastAxis(KernelContext &ctx, Tensor &out, const Tensor &bias)
{
    if (out.type() != ElementType::Float32 || bias.type() != ElementType::Float32 ||
        out.rank() == 0 || bias.elementCount() != out.shape().back())
        return ctx.invalid("bias must be float32 with one value per output column");
    std::int64_t n = bias.elementCount();
    std::int64_t rows = n ? out.elementCount() / n : 0;
    float *po = out.as<float>();
    const float *pb = bias.as<float>();
    for (std::int64_t r = 0; r < rows; ++r)
        for (std::int64_t j = 0; j < n; ++j)
            po[r * n + j] += pb[j];
    return Status::success();
}

} // namespace sb::kernels
