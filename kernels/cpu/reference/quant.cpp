// Reference quantization kernels: QuantizeLinear / DequantizeLinear (per
// tensor and per axis; int8, uint8, int16, uint16, int32 inputs to
// DequantizeLinear; round half to even, saturation), DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv (int32
// accumulation, requantisation with round half to even and saturation).
// The fused QDQ ops (core/runtime/fusion.h) sb.QLinearConv (QLinearConv
// with an `activation` "Relu"), sb.QGemm and sb.QLinearAdd have their
// reference kernels here too: the oracle of the oneDNN int8 kernels.
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_common.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace sb::kernels {

namespace {

bool isQuantType(ElementType t)
{
    return t == ElementType::Int8 || t == ElementType::UInt8 || t == ElementType::Int16 ||
           t == ElementType::UInt16;
}

// Per-element index into a scale/zero-point vector: 0 for per-tensor, the
// coordinate on `axis` for per-axis.
struct AxisIndexer
{
    bool perAxis = false;
    std::int64_t inner = 1, length = 1;
    std::int64_t at(std::int64_t i) const { return perAxis ? (i / inner) % length : 0; }
};

Result<AxisIndexer> axisIndexer(KernelContext &ctx, const Tensor &x, const Tensor &scale,
                                const Tensor *zeroPoint)
{
    AxisIndexer ix;
    if (scale.elementCount() == 1 && scale.rank() <= 1) {
        if (zeroPoint && zeroPoint->elementCount() != 1)
            return ctx.invalid("zero point must be a scalar like the scale");
        return ix;
    }
    if (scale.rank() != 1)
        return ctx.unsupported("blocked quantization (scale of rank " +
                               std::to_string(scale.rank()) + ")");
    auto axis = normalizeAxis(ctx.node().intAttr("axis", 1), static_cast<std::int64_t>(x.rank()));
    if (!axis)
        return ctx.invalid("axis out of range");
    auto a = static_cast<std::size_t>(*axis);
    if (scale.elementCount() != x.dim(a))
        return ctx.invalid("scale has " + std::to_string(scale.elementCount()) +
                           " values for axis of size " + std::to_string(x.dim(a)));
    if (zeroPoint && zeroPoint->elementCount() != scale.elementCount())
        return ctx.invalid("zero point and scale differ in length");
    ix.perAxis = true;
    ix.length = x.dim(a);
    for (std::size_t d = a + 1; d < x.rank(); ++d)
        ix.inner *= x.dim(d);
    return ix;
}

template <typename Q> Q saturate(double v)
{
    v = std::nearbyint(v);
    v = std::clamp(v, static_cast<double>(std::numeric_limits<Q>::lowest()),
                   static_cast<double>(std::numeric_limits<Q>::max()));
    return static_cast<Q>(v);
}

} // namespace

Status referenceQuantizeLinear(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &scale = ctx.input(1);
    const Tensor *zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64 &&
        x.type() != ElementType::Int32)
        return ctx.unsupported("input element type " + typeName(x.type()));
    ElementType outType = zp ? zp->type() : ElementType::UInt8;
    if (const graph::Attribute *dt = ctx.node().attribute("output_dtype"); dt && dt->i != 0)
        outType = static_cast<ElementType>(dt->i);
    if (!isQuantType(outType))
        return ctx.unsupported("output element type " + typeName(outType));
    SB_ASSIGN_OR_RETURN(AxisIndexer ix, axisIndexer(ctx, x, scale, zp));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, outType, x.shape()));
    dispatch(outType, kSignedInts | kUnsignedInts, [&](auto tag) {
        using Q = decltype(tag);
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            std::int64_t c = ix.at(i);
            // Single-precision division as the spec's reference (and ORT) does.
            auto s = static_cast<float>(scale.scalarAsDouble(c));
            double q = static_cast<double>(static_cast<float>(x.scalarAsDouble(i)) / s);
            double z = zp ? static_cast<double>(zp->scalarAsInt(c)) : 0.0;
            y->as<Q>()[i] = saturate<Q>(std::nearbyint(q) + z);
        }
    });
    return Status::success();
}

Status referenceDequantizeLinear(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &scale = ctx.input(1);
    const Tensor *zp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    if (!isQuantType(x.type()) && x.type() != ElementType::Int32)
        return ctx.unsupported("input element type " + typeName(x.type()));
    if (!dispatch(scale.type(), kFloats, [](auto) {}))
        return ctx.unsupported("scale element type " + typeName(scale.type()));
    SB_ASSIGN_OR_RETURN(AxisIndexer ix, axisIndexer(ctx, x, scale, zp));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, scale.type(), x.shape()));
    dispatch(scale.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            std::int64_t c = ix.at(i);
            auto diff = static_cast<T>(x.scalarAsInt(i) - (zp ? zp->scalarAsInt(c) : 0));
            y->as<T>()[i] = diff * static_cast<T>(scale.scalarAsDouble(c));
        }
    });
    return Status::success();
}

namespace {

Status dynamicQuantizeLinearKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(x.type()));
    const float *px = x.as<float>();
    float lo = 0, hi = 0; // the range always includes 0
    for (std::int64_t i = 0; i < x.elementCount(); ++i) {
        lo = std::min(lo, px[i]);
        hi = std::max(hi, px[i]);
    }
    const float qmin = 0, qmax = 255;
    float scale = hi == lo ? 1.0f : (hi - lo) / (qmax - qmin);
    float zeroPoint = std::nearbyint(std::clamp(qmin - lo / scale, qmin, qmax));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::UInt8, x.shape()));
    for (std::int64_t i = 0; i < x.elementCount(); ++i)
        y->as<std::uint8_t>()[i] =
            saturate<std::uint8_t>(std::nearbyint(px[i] / scale) + static_cast<double>(zeroPoint));
    SB_ASSIGN_OR_RETURN(Tensor * ys, ctx.allocateOutput(1, ElementType::Float32, {}));
    ys->as<float>()[0] = scale;
    SB_ASSIGN_OR_RETURN(Tensor * yz, ctx.allocateOutput(2, ElementType::UInt8, {}));
    yz->as<std::uint8_t>()[0] = static_cast<std::uint8_t>(zeroPoint);
    return Status::success();
}

// Zero point of row/column/channel `i`: scalar, or one per entry.
std::int64_t zeroPointAt(const Tensor *zp, std::int64_t i)
{
    if (!zp || zp->elementCount() == 0)
        return 0;
    return zp->scalarAsInt(zp->elementCount() == 1 ? 0 : i);
}

double scaleAt(const Tensor &scale, std::int64_t i)
{
    return scale.scalarAsDouble(scale.elementCount() == 1 ? 0 : i);
}

// Integer matmul: acc[b, m, n] = sum_k (a - azp[m]) * (b - bzp[n]).
Result<std::vector<std::int32_t>> integerMatMul(KernelContext &ctx, const Tensor &a,
                                                const Tensor *azp, const Tensor &b,
                                                const Tensor *bzp, MatMulShape &ms)
{
    if ((a.type() != ElementType::Int8 && a.type() != ElementType::UInt8) ||
        (b.type() != ElementType::Int8 && b.type() != ElementType::UInt8))
        return ctx.unsupported("element types " + typeName(a.type()) + " x " + typeName(b.type()));
    SB_ASSIGN_OR_RETURN(ms, matmulShape(ctx, a.shape(), b.shape()));
    if (azp && azp->elementCount() > 1 && azp->elementCount() != ms.m)
        return ctx.unsupported("a_zero_point with " + std::to_string(azp->elementCount()) +
                               " values (scalar or one per row)");
    if (bzp && bzp->elementCount() > 1 && bzp->elementCount() != ms.n)
        return ctx.unsupported("b_zero_point with " + std::to_string(bzp->elementCount()) +
                               " values (scalar or one per column)");
    std::vector<std::int32_t> acc(static_cast<std::size_t>(ms.batch * ms.m * ms.n), 0);
    for (std::int64_t batch = 0; batch < ms.batch; ++batch)
        for (std::int64_t i = 0; i < ms.m; ++i)
            for (std::int64_t j = 0; j < ms.n; ++j) {
                std::int32_t sum = 0;
                auto za = static_cast<std::int32_t>(zeroPointAt(azp, i));
                auto zb = static_cast<std::int32_t>(zeroPointAt(bzp, j));
                for (std::int64_t p = 0; p < ms.k; ++p) {
                    auto av =
                        static_cast<std::int32_t>(a.scalarAsInt(ms.aOffset(batch) + i * ms.k + p));
                    auto bv =
                        static_cast<std::int32_t>(b.scalarAsInt(ms.bOffset(batch) + p * ms.n + j));
                    sum += (av - za) * (bv - zb);
                }
                acc[static_cast<std::size_t>((batch * ms.m + i) * ms.n + j)] = sum;
            }
    return acc;
}

Status matMulIntegerKernel(KernelContext &ctx)
{
    MatMulShape ms;
    SB_ASSIGN_OR_RETURN(auto acc,
                        integerMatMul(ctx, ctx.input(0), ctx.hasInput(2) ? &ctx.input(2) : nullptr,
                                      ctx.input(1), ctx.hasInput(3) ? &ctx.input(3) : nullptr, ms));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Int32, ms.outShape));
    std::copy(acc.begin(), acc.end(), y->as<std::int32_t>());
    return Status::success();
}

// Requantises int32 accumulators: y = sat(round(acc * scale(c)) + zp).
Status requantize(KernelContext &ctx, const std::vector<std::int32_t> &acc, const Shape &shape,
                  const Tensor &yZeroPoint, const std::function<double(std::int64_t)> &scale)
{
    // The fused ops' activation (sb.QLinearConv, sb.QGemm): Relu before rounding.
    const bool relu = ctx.node().stringAttr("activation", "") == "Relu";
    ElementType type = yZeroPoint.type();
    if (type != ElementType::Int8 && type != ElementType::UInt8)
        return ctx.unsupported("output element type " + typeName(type));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, type, shape));
    auto z = static_cast<double>(yZeroPoint.scalarAsInt());
    dispatch(type, kSignedInts | kUnsignedInts, [&](auto tag) {
        using Q = decltype(tag);
        for (std::size_t i = 0; i < acc.size(); ++i) {
            auto i64 = static_cast<std::int64_t>(i);
            auto v = static_cast<float>(static_cast<double>(acc[i]) * scale(i64));
            if (relu && v < 0.0f)
                v = 0.0f;
            y->as<Q>()[i] = saturate<Q>(std::nearbyint(static_cast<double>(v)) + z);
        }
    });
    return Status::success();
}

Status qLinearMatMulKernel(KernelContext &ctx)
{
    const Tensor &aScale = ctx.input(1), &bScale = ctx.input(4), &yScale = ctx.input(6);
    MatMulShape ms;
    SB_ASSIGN_OR_RETURN(
        auto acc, integerMatMul(ctx, ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5), ms));
    if (aScale.elementCount() != 1 || yScale.elementCount() != 1 ||
        (bScale.elementCount() != 1 && bScale.elementCount() != ms.n))
        return ctx.unsupported("scales other than per tensor (or per column of B)");
    double base = aScale.scalarAsDouble() / yScale.scalarAsDouble();
    std::int64_t n = ms.n;
    return requantize(ctx, acc, ms.outShape, ctx.input(7),
                      [&](std::int64_t i) { return base * scaleAt(bScale, i % n); });
}

// Integer convolution: acc[n, oc, o] = sum (x - xzp) * (w - wzp[oc]).
Result<std::vector<std::int32_t>> integerConv(KernelContext &ctx, const ConvGeometry &geo,
                                              const Tensor &x, const Tensor *xzp, const Tensor &w,
                                              const Tensor *wzp)
{
    if ((x.type() != ElementType::Int8 && x.type() != ElementType::UInt8) ||
        (w.type() != ElementType::Int8 && w.type() != ElementType::UInt8))
        return ctx.unsupported("element types " + typeName(x.type()) + " x " + typeName(w.type()));
    if (xzp && xzp->elementCount() > 1)
        return ctx.unsupported("per-channel input zero point");
    if (wzp && wzp->elementCount() > 1 && wzp->elementCount() != geo.outChannels)
        return ctx.invalid("weight zero point must be a scalar or one per output channel");
    const std::size_t sd = geo.outSpatial.size();
    const std::int64_t outSpatial = runtime::shapeElementCount(geo.outSpatial);
    const std::int64_t inSpatial = runtime::shapeElementCount(geo.inSpatial);
    const std::int64_t kernelSpatial = runtime::shapeElementCount(geo.kernel);
    const std::int64_t cinPerGroup = geo.inChannels / geo.group;
    const std::int64_t coutPerGroup = geo.outChannels / geo.group;
    const auto xz = static_cast<std::int32_t>(zeroPointAt(xzp, 0));
    std::vector<std::int32_t> acc(static_cast<std::size_t>(geo.n * geo.outChannels * outSpatial));
    std::vector<std::int64_t> oIdx(sd), kIdx(sd);
    for (std::int64_t n = 0; n < geo.n; ++n)
        for (std::int64_t oc = 0; oc < geo.outChannels; ++oc) {
            std::int64_t g = oc / coutPerGroup;
            auto wz = static_cast<std::int32_t>(zeroPointAt(wzp, oc));
            for (std::int64_t o = 0; o < outSpatial; ++o) {
                std::int64_t rem = o;
                for (std::size_t d = sd; d-- > 0;) {
                    oIdx[d] = rem % geo.outSpatial[d];
                    rem /= geo.outSpatial[d];
                }
                std::int32_t sum = 0;
                for (std::int64_t ic = 0; ic < cinPerGroup; ++ic)
                    for (std::int64_t kk = 0; kk < kernelSpatial; ++kk) {
                        std::int64_t krem = kk;
                        for (std::size_t d = sd; d-- > 0;) {
                            kIdx[d] = krem % geo.kernel[d];
                            krem /= geo.kernel[d];
                        }
                        std::int64_t inOff = 0, mul = 1;
                        bool inside = true;
                        for (std::size_t d = sd; d-- > 0 && inside;) {
                            std::int64_t pos = oIdx[d] * geo.strides[d] - geo.padBegin[d] +
                                               kIdx[d] * geo.dilations[d];
                            inside = pos >= 0 && pos < geo.inSpatial[d];
                            inOff += pos * mul;
                            mul *= geo.inSpatial[d];
                        }
                        // Padding holds the zero point, which contributes 0.
                        if (!inside)
                            continue;
                        auto xv = static_cast<std::int32_t>(x.scalarAsInt(
                            (n * geo.inChannels + g * cinPerGroup + ic) * inSpatial + inOff));
                        auto wv = static_cast<std::int32_t>(
                            w.scalarAsInt((oc * cinPerGroup + ic) * kernelSpatial + kk));
                        sum += (xv - xz) * (wv - wz);
                    }
                acc[static_cast<std::size_t>((n * geo.outChannels + oc) * outSpatial + o)] = sum;
            }
        }
    return acc;
}

Shape convOutShape(const ConvGeometry &geo)
{
    Shape shape = {geo.n, geo.outChannels};
    shape.insert(shape.end(), geo.outSpatial.begin(), geo.outSpatial.end());
    return shape;
}

Status convIntegerKernel(KernelContext &ctx)
{
    ConvOperands operands;
    operands.bias = 99; // ConvInteger has no bias
    operands.floatOnly = false;
    SB_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx, operands));
    SB_ASSIGN_OR_RETURN(
        auto acc, integerConv(ctx, geo, ctx.input(0), ctx.hasInput(2) ? &ctx.input(2) : nullptr,
                              ctx.input(1), ctx.hasInput(3) ? &ctx.input(3) : nullptr));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Int32, convOutShape(geo)));
    std::copy(acc.begin(), acc.end(), y->as<std::int32_t>());
    return Status::success();
}

// QLinearConv on NCHW operands.
Status qLinearConvNchw(KernelContext &ctx)
{
    ConvOperands operands;
    operands.weight = 3;
    operands.bias = 8;
    operands.floatOnly = false;
    SB_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx, operands));
    const Tensor &xScale = ctx.input(1), &wScale = ctx.input(4), &yScale = ctx.input(6);
    if (xScale.elementCount() != 1 || yScale.elementCount() != 1 ||
        (wScale.elementCount() != 1 && wScale.elementCount() != geo.outChannels))
        return ctx.invalid("x/y scales must be scalars, w_scale scalar or per output channel");
    SB_ASSIGN_OR_RETURN(
        auto acc, integerConv(ctx, geo, ctx.input(0), &ctx.input(2), ctx.input(3), &ctx.input(5)));
    const std::int64_t outSpatial = runtime::shapeElementCount(geo.outSpatial);
    if (ctx.hasInput(8)) {
        const Tensor &bias = ctx.input(8);
        if (bias.type() != ElementType::Int32)
            return ctx.invalid("bias must be int32");
        for (std::size_t i = 0; i < acc.size(); ++i)
            acc[i] += bias.as<std::int32_t>()[(static_cast<std::int64_t>(i) / outSpatial) %
                                              geo.outChannels];
    }
    double base = xScale.scalarAsDouble() / yScale.scalarAsDouble();
    return requantize(ctx, acc, convOutShape(geo), ctx.input(7), [&](std::int64_t i) {
        return base * scaleAt(wScale, (i / outSpatial) % geo.outChannels);
    });
}

} // namespace

// Channels-last operands (kernels/cpu/channels_last.h) run as NCHW.
Status referenceQLinearConv(KernelContext &ctx)
{
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, qLinearConvNchw);
    return qLinearConvNchw(ctx);
}

// sb.QGemm(A, a_scale, a_zp, B, b_scale, b_zp, y_scale, y_zp, bias?) attrs
// transB, activation: A [.., k] (rows = all leading dims), B [k, n] or
// [n, k] (transB) with a per-tensor or per-column (n) scale and zero point,
// int32 bias [n] with scale a_scale * b_scale; output [.., n].
Status referenceQGemm(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0), &b = ctx.input(3);
    const Tensor &aScale = ctx.input(1), &bScale = ctx.input(4), &yScale = ctx.input(6);
    const Tensor *azp = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    const Tensor *bzp = ctx.hasInput(5) ? &ctx.input(5) : nullptr;
    const bool transB = ctx.node().intAttr("transB", 0) != 0;
    if ((a.type() != ElementType::Int8 && a.type() != ElementType::UInt8) ||
        (b.type() != ElementType::Int8 && b.type() != ElementType::UInt8))
        return ctx.unsupported("element types " + typeName(a.type()) + " x " + typeName(b.type()));
    if (a.rank() < 1 || b.rank() != 2)
        return ctx.invalid("A needs rank >= 1 and B rank 2");
    const std::int64_t k = a.dim(a.rank() - 1);
    const std::int64_t n = transB ? b.dim(0) : b.dim(1);
    if ((transB ? b.dim(1) : b.dim(0)) != k)
        return ctx.invalid("inner dimensions differ");
    const std::int64_t m = a.elementCount() / std::max<std::int64_t>(k, 1);
    if (aScale.elementCount() != 1 || yScale.elementCount() != 1 ||
        (azp && azp->elementCount() > 1) ||
        (bScale.elementCount() != 1 && bScale.elementCount() != n) ||
        (bzp && bzp->elementCount() > 1 && bzp->elementCount() != n))
        return ctx.unsupported("scales other than per tensor (or per column of B)");
    const Tensor *bias = ctx.hasInput(8) ? &ctx.input(8) : nullptr;
    if (bias && (bias->type() != ElementType::Int32 || bias->elementCount() != n))
        return ctx.invalid("bias must be int32 with one value per column");
    std::vector<std::int32_t> acc(static_cast<std::size_t>(m * n));
    const auto za = static_cast<std::int32_t>(zeroPointAt(azp, 0));
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            const auto zb = static_cast<std::int32_t>(zeroPointAt(bzp, j));
            std::int32_t sum = bias ? bias->as<std::int32_t>()[j] : 0;
            for (std::int64_t p = 0; p < k; ++p) {
                auto av = static_cast<std::int32_t>(a.scalarAsInt(i * k + p));
                auto bv = static_cast<std::int32_t>(b.scalarAsInt(transB ? j * k + p : p * n + j));
                sum += (av - za) * (bv - zb);
            }
            acc[static_cast<std::size_t>(i * n + j)] = sum;
        }
    Shape outShape = a.shape();
    outShape.back() = n;
    const double base = aScale.scalarAsDouble() / yScale.scalarAsDouble();
    return requantize(ctx, acc, outShape, ctx.input(7),
                      [&](std::int64_t i) { return base * scaleAt(bScale, i % n); });
}

// sb.QLinearAdd(A, a_scale, a_zp, B, b_scale, b_zp, y_scale, y_zp) attr
// activation: Q(act(DQ(A) + DQ(B))) with per-tensor parameters and A, B of
// one shape, computed in float32 exactly as the DequantizeLinear -> Add
// [-> Relu] -> QuantizeLinear chain it replaces.
Status referenceQLinearAdd(KernelContext &ctx)
{
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, referenceQLinearAdd);
    const Tensor &a = ctx.input(0), &b = ctx.input(3);
    if (a.shape() != b.shape())
        return ctx.unsupported("inputs of different shapes (no broadcasting)");
    for (std::size_t i : {1, 2, 4, 5, 6, 7})
        if (!ctx.hasInput(i) || ctx.input(i).elementCount() != 1)
            return ctx.unsupported("scales and zero points other than per tensor");
    const Tensor &yzp = ctx.input(7);
    if (!isQuantType(a.type()) || !isQuantType(b.type()) ||
        (yzp.type() != ElementType::Int8 && yzp.type() != ElementType::UInt8))
        return ctx.unsupported("element types " + typeName(a.type()) + " + " + typeName(b.type()) +
                               " -> " + typeName(yzp.type()));
    const bool relu = ctx.node().stringAttr("activation", "") == "Relu";
    const auto as = static_cast<float>(ctx.input(1).scalarAsDouble());
    const auto bs = static_cast<float>(ctx.input(4).scalarAsDouble());
    const auto ys = static_cast<float>(ctx.input(6).scalarAsDouble());
    const std::int64_t az = ctx.input(2).scalarAsInt(), bz = ctx.input(5).scalarAsInt();
    const auto yz = static_cast<double>(yzp.scalarAsInt());
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, yzp.type(), a.shape()));
    dispatch(yzp.type(), kSignedInts | kUnsignedInts, [&](auto tag) {
        using Q = decltype(tag);
        for (std::int64_t i = 0; i < a.elementCount(); ++i) {
            float v = static_cast<float>(a.scalarAsInt(i) - az) * as +
                      static_cast<float>(b.scalarAsInt(i) - bz) * bs;
            if (relu && v < 0.0f)
                v = 0.0f;
            y->as<Q>()[i] = saturate<Q>(std::nearbyint(static_cast<double>(v / ys)) + yz);
        }
    });
    return Status::success();
}

void registerReferenceQuant(KernelRegistry &r)
{
    addReference(r, "QuantizeLinear", referenceQuantizeLinear);
    addReference(r, "DequantizeLinear", referenceDequantizeLinear);
    addReference(r, "DynamicQuantizeLinear", dynamicQuantizeLinearKernel);
    addReference(r, "MatMulInteger", matMulIntegerKernel);
    addReference(r, "ConvInteger", convIntegerKernel);
    addReference(r, "QLinearMatMul", qLinearMatMulKernel);
    addReference(r, "QLinearConv", referenceQLinearConv);
    addReference(r, "QLinearConv", referenceQLinearConv, "sb");
    addReference(r, "QGemm", referenceQGemm, "sb");
    addReference(r, "QLinearAdd", referenceQLinearAdd, "sb");
}

} // namespace sb::kernels
