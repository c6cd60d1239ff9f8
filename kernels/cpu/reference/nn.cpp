// Reference neural-network kernels: MatMul, Gemm, Conv, ConvTranspose, pools,
// BatchNormalization, InstanceNormalization, LayerNormalization, LRN and the
// fused sb.* ops (the oracle for the fast kernels: plain loops, double accumulators).
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_common.h"
#include "kernels/cpu/reference/reference.h"

#include <limits>

namespace sb::kernels {

namespace {

template <typename T>
void matmulLoops(const T *a, const T *b, T *c, std::int64_t m, std::int64_t k, std::int64_t n)
{
    for (std::int64_t i = 0; i < m; ++i)
        for (std::int64_t j = 0; j < n; ++j) {
            if constexpr (std::is_floating_point_v<T>) {
                double acc = 0;
                for (std::int64_t p = 0; p < k; ++p)
                    acc += static_cast<double>(a[i * k + p]) * static_cast<double>(b[p * n + j]);
                c[i * n + j] = static_cast<T>(acc);
            } else {
                T acc = 0;
                for (std::int64_t p = 0; p < k; ++p)
                    acc = static_cast<T>(acc + a[i * k + p] * b[p * n + j]);
                c[i * n + j] = acc;
            }
        }
}

Status matmulKernel(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    if (a.type() != b.type())
        return ctx.unsupported("mixed element types");
    SB_ASSIGN_OR_RETURN(MatMulShape ms, matmulShape(ctx, a.shape(), b.shape()));
    unsigned mask = kFloats | kSignedInts | kUnsignedInts;
    if (!dispatch(a.type(), mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(a.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, a.type(), ms.outShape));
    dispatch(a.type(), mask, [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t batch = 0; batch < ms.batch; ++batch)
            matmulLoops(a.as<T>() + ms.aOffset(batch), b.as<T>() + ms.bOffset(batch),
                        out->as<T>() + batch * ms.m * ms.n, ms.m, ms.k, ms.n);
    });
    if (ctx.node().domain == "sb") {
        if (ctx.hasInput(2))
            SB_TRY(addBiasLastAxis(ctx, *out, ctx.input(2)));
        applyActivation(*out, activationOf(ctx.node()));
    }
    return Status::success();
}

Status gemmKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(GemmArgs g, gemmArgs(ctx));
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, a.type(), {g.m, g.n}));
    dispatch(a.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *pa = a.as<T>();
        const T *pb = b.as<T>();
        T *pc = out->as<T>();
        for (std::int64_t i = 0; i < g.m; ++i)
            for (std::int64_t j = 0; j < g.n; ++j) {
                double acc = 0;
                for (std::int64_t p = 0; p < g.k; ++p) {
                    double av = g.transA ? pa[p * g.m + i] : pa[i * g.k + p];
                    double bv = g.transB ? pb[j * g.k + p] : pb[p * g.n + j];
                    acc += av * bv;
                }
                pc[i * g.n + j] = static_cast<T>(g.alpha * acc);
            }
    });
    SB_TRY(gemmAddC(ctx, g, *out));
    if (ctx.node().domain == "sb")
        applyActivation(*out, activationOf(ctx.node()));
    return Status::success();
}

Status convKernel(KernelContext &ctx)
{
    // Between channels-last convolutions and pools (channels_last.h).
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, convKernel);
    SB_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx));
    const Tensor &x = ctx.input(0);
    const Tensor &w = ctx.input(1);
    Shape outShape = {geo.n, geo.outChannels};
    for (auto d : geo.outSpatial)
        outShape.push_back(d);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    const float *px = x.as<float>();
    const float *pw = w.as<float>();
    const float *pb = ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr;
    float *po = out->as<float>();
    std::size_t sd = geo.outSpatial.size();
    std::int64_t outSpatial = runtime::shapeElementCount(geo.outSpatial);
    std::int64_t inSpatial = runtime::shapeElementCount(geo.inSpatial);
    std::int64_t kernelSpatial = runtime::shapeElementCount(geo.kernel);
    std::int64_t cinPerGroup = geo.inChannels / geo.group;
    std::int64_t coutPerGroup = geo.outChannels / geo.group;
    std::vector<std::int64_t> oIdx(sd), kIdx(sd);
    for (std::int64_t n = 0; n < geo.n; ++n)
        for (std::int64_t oc = 0; oc < geo.outChannels; ++oc) {
            std::int64_t g = oc / coutPerGroup;
            for (std::int64_t o = 0; o < outSpatial; ++o) {
                std::int64_t rem = o;
                for (std::size_t d = sd; d-- > 0;) {
                    oIdx[d] = rem % geo.outSpatial[d];
                    rem /= geo.outSpatial[d];
                }
                double acc = pb ? pb[oc] : 0.0;
                for (std::int64_t ic = 0; ic < cinPerGroup; ++ic)
                    for (std::int64_t kk = 0; kk < kernelSpatial; ++kk) {
                        std::int64_t krem = kk, inOff = 0;
                        bool inside = true;
                        for (std::size_t d = sd; d-- > 0;) {
                            kIdx[d] = krem % geo.kernel[d];
                            krem /= geo.kernel[d];
                        }
                        std::int64_t mul = 1;
                        for (std::size_t d = sd; d-- > 0;) {
                            std::int64_t pos = oIdx[d] * geo.strides[d] - geo.padBegin[d] +
                                               kIdx[d] * geo.dilations[d];
                            if (pos < 0 || pos >= geo.inSpatial[d]) {
                                inside = false;
                                break;
                            }
                            inOff += pos * mul;
                            mul *= geo.inSpatial[d];
                        }
                        if (!inside)
                            continue;
                        double xv =
                            px[(n * geo.inChannels + g * cinPerGroup + ic) * inSpatial + inOff];
                        double wv = pw[(oc * cinPerGroup + ic) * kernelSpatial + kk];
                        acc += xv * wv;
                    }
                po[(n * geo.outChannels + oc) * outSpatial + o] = static_cast<float>(acc);
            }
        }
    if (ctx.node().domain == "sb" && ctx.hasInput(3)) {
        // sb.FusedConv's residual: added before the activation.
        const Tensor &r = ctx.input(3);
        if (r.type() != ElementType::Float32 || r.shape() != outShape)
            return ctx.invalid("residual input of shape " + runtime::shapeToString(r.shape()) +
                               " does not match the output " + runtime::shapeToString(outShape));
        for (std::int64_t i = 0; i < out->elementCount(); ++i)
            po[i] += r.as<float>()[i];
    }
    if (ctx.node().domain == "sb")
        applyActivation(*out, activationOf(ctx.node()));
    return Status::success();
}

// sb.FusedPointwiseDepthwise, plainly: the expanded tensor as the unfused
// graph computes it (1x1 conv, rounded to float, activation), then the
// depthwise conv of it, one expanded plane at a time (channels-last
// operands through NCHW copies).
Status pointwiseDepthwiseKernel(KernelContext &ctx)
{
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, pointwiseDepthwiseKernel);
    SB_ASSIGN_OR_RETURN(const PointwiseDepthwiseOperands op, pointwiseDepthwiseOperands(ctx));
    const PointwiseDepthwiseGeometry &g = op.g;
    const float *px = op.x, *pw1 = op.w1, *pb1 = op.b1, *pw2 = op.w2, *pb2 = op.b2;
    const Activation &act1 = op.act1, &act2 = op.act2;
    float *po = op.out;
    const std::int64_t inHW = g.inH * g.inW, outHW = g.outH * g.outW;
    std::vector<float> expanded(static_cast<std::size_t>(inHW));
    for (std::int64_t n = 0; n < g.n; ++n)
        for (std::int64_t c = 0; c < g.channels; ++c) {
            for (std::int64_t i = 0; i < inHW; ++i) {
                double acc = pb1 ? pb1[c] : 0.0;
                for (std::int64_t k = 0; k < g.inChannels; ++k)
                    acc += static_cast<double>(pw1[c * g.inChannels + k]) *
                           px[(n * g.inChannels + k) * inHW + i];
                expanded[static_cast<std::size_t>(i)] = static_cast<float>(acc);
            }
            applyActivation(expanded.data(), inHW, act1);
            const float *w = pw2 + c * g.kernelH * g.kernelW;
            float *o = po + (n * g.channels + c) * outHW;
            for (std::int64_t y = 0; y < g.outH; ++y)
                for (std::int64_t x = 0; x < g.outW; ++x) {
                    double acc = pb2 ? pb2[c] : 0.0;
                    for (std::int64_t ky = 0; ky < g.kernelH; ++ky)
                        for (std::int64_t kx = 0; kx < g.kernelW; ++kx) {
                            std::int64_t iy = y * g.strideH - g.padTop + ky * g.dilationH;
                            std::int64_t ix = x * g.strideW - g.padLeft + kx * g.dilationW;
                            if (iy < 0 || iy >= g.inH || ix < 0 || ix >= g.inW)
                                continue;
                            acc += static_cast<double>(w[ky * g.kernelW + kx]) *
                                   expanded[static_cast<std::size_t>(iy * g.inW + ix)];
                        }
                    o[y * g.outW + x] = static_cast<float>(acc);
                }
            applyActivation(o, outHW, act2);
        }
    return Status::success();
}

Status convTransposeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &w = ctx.input(1);
    if (x.type() != ElementType::Float32 || w.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 3 || w.rank() != x.rank())
        return ctx.invalid("input and weight ranks must match and be >= 3");
    std::size_t sd = x.rank() - 2;
    std::int64_t group = ctx.node().intAttr("group", 1);
    std::int64_t n = x.dim(0), cin = x.dim(1);
    if (group <= 0 || cin % group || w.dim(0) != cin)
        return ctx.invalid("weight/group does not match the input channels");
    std::int64_t coutPerGroup = w.dim(1);
    std::int64_t cout = coutPerGroup * group;
    Shape kernel(w.shape().begin() + 2, w.shape().end());
    auto strides = ctx.node().intsAttr("strides");
    auto dilations = ctx.node().intsAttr("dilations");
    auto pads = ctx.node().intsAttr("pads");
    auto outputPadding = ctx.node().intsAttr("output_padding");
    auto outputShape = ctx.node().intsAttr("output_shape");
    std::string autoPad = ctx.node().stringAttr("auto_pad", "NOTSET");
    if (strides.empty())
        strides.assign(sd, 1);
    if (dilations.empty())
        dilations.assign(sd, 1);
    if (outputPadding.empty())
        outputPadding.assign(sd, 0);
    if (pads.empty())
        pads.assign(2 * sd, 0);
    if (strides.size() != sd || dilations.size() != sd || outputPadding.size() != sd ||
        pads.size() != 2 * sd)
        return ctx.invalid("attribute lengths do not match the spatial rank");
    Shape outSpatial(sd);
    std::vector<std::int64_t> padBegin(sd);
    for (std::size_t d = 0; d < sd; ++d) {
        std::int64_t in = x.dim(2 + d);
        std::int64_t eff = (kernel[d] - 1) * dilations[d] + 1;
        std::int64_t full = strides[d] * (in - 1) + outputPadding[d] + eff;
        if (!outputShape.empty()) {
            std::int64_t target = outputShape[outputShape.size() - sd + d];
            std::int64_t total = full - target;
            // An output_shape beyond the full convolution extends it with
            // zeros at the end (as ONNX Runtime does); otherwise the spec's
            // split of the total padding.
            if (total < 0)
                padBegin[d] = 0;
            else
                padBegin[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            outSpatial[d] = target;
        } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
            std::int64_t target = in * strides[d];
            std::int64_t total = std::max<std::int64_t>(0, full - target);
            padBegin[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            outSpatial[d] = target;
        } else {
            padBegin[d] = pads[d];
            outSpatial[d] = full - pads[d] - pads[d + sd];
        }
        if (outSpatial[d] <= 0)
            return ctx.invalid("output spatial size is not positive");
    }
    Shape outShape = {n, cout};
    for (auto d : outSpatial)
        outShape.push_back(d);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, outShape));
    std::int64_t outCount = runtime::shapeElementCount(outSpatial);
    std::int64_t inCount = x.elementCount() / std::max<std::int64_t>(1, n * cin);
    std::int64_t kCount = runtime::shapeElementCount(kernel);
    std::vector<double> acc(static_cast<std::size_t>(out->elementCount()), 0.0);
    const float *px = x.as<float>();
    const float *pw = w.as<float>();
    std::int64_t cinPerGroup = cin / group;
    std::vector<std::int64_t> iIdx(sd), kIdx(sd);
    for (std::int64_t b = 0; b < n; ++b)
        for (std::int64_t ic = 0; ic < cin; ++ic) {
            std::int64_t g = ic / cinPerGroup;
            for (std::int64_t i = 0; i < inCount; ++i) {
                std::int64_t rem = i;
                for (std::size_t d = sd; d-- > 0;) {
                    iIdx[d] = rem % x.dim(2 + d);
                    rem /= x.dim(2 + d);
                }
                double xv = px[(b * cin + ic) * inCount + i];
                for (std::int64_t kk = 0; kk < kCount; ++kk) {
                    std::int64_t krem = kk;
                    for (std::size_t d = sd; d-- > 0;) {
                        kIdx[d] = krem % kernel[d];
                        krem /= kernel[d];
                    }
                    std::int64_t off = 0, mul = 1;
                    bool inside = true;
                    for (std::size_t d = sd; d-- > 0;) {
                        std::int64_t pos =
                            iIdx[d] * strides[d] + kIdx[d] * dilations[d] - padBegin[d];
                        if (pos < 0 || pos >= outSpatial[d]) {
                            inside = false;
                            break;
                        }
                        off += pos * mul;
                        mul *= outSpatial[d];
                    }
                    if (!inside)
                        continue;
                    for (std::int64_t oc = 0; oc < coutPerGroup; ++oc)
                        acc[static_cast<std::size_t>((b * cout + g * coutPerGroup + oc) * outCount +
                                                     off)] +=
                            xv * pw[(ic * coutPerGroup + oc) * kCount + kk];
                }
            }
        }
    const float *pb = ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr;
    for (std::int64_t i = 0; i < out->elementCount(); ++i) {
        std::int64_t c = (i / outCount) % cout;
        out->as<float>()[i] =
            static_cast<float>(acc[static_cast<std::size_t>(i)] + (pb ? pb[c] : 0.0));
    }
    return Status::success();
}

Status poolKernel(KernelContext &ctx, bool isMax)
{
    // A MaxPool between channels-last kernels (channels_last.h).
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, [isMax](KernelContext &c) { return poolKernel(c, isMax); });
    const bool columnMajor = isMax && ctx.node().intAttr("storage_order", 0) != 0;
    SB_ASSIGN_OR_RETURN(PoolGeometry geo, poolGeometry(ctx));
    const bool wantIndices = isMax && ctx.hasOutput(1);
    if (wantIndices && columnMajor && geo.inSpatial.size() != 2)
        return ctx.unsupported("storage_order = 1 Indices on " +
                               std::to_string(geo.inSpatial.size()) + " spatial axes (2-D only)");
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), isMax ? (kFloats | kSignedInts | kUnsignedInts) : kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    Shape outShape = {geo.n, geo.channels};
    for (auto d : geo.outSpatial)
        outShape.push_back(d);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    Tensor *indices = nullptr;
    if (wantIndices) {
        SB_ASSIGN_OR_RETURN(indices, ctx.allocateOutput(1, ElementType::Int64, outShape));
    }
    bool countPad = ctx.node().intAttr("count_include_pad", 0) != 0;
    std::size_t sd = geo.outSpatial.size();
    std::int64_t outCount = runtime::shapeElementCount(geo.outSpatial);
    std::int64_t inCount = runtime::shapeElementCount(geo.inSpatial);
    std::int64_t kCount = runtime::shapeElementCount(geo.kernel);
    dispatch(x.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        std::vector<std::int64_t> oIdx(sd), kIdx(sd);
        for (std::int64_t plane = 0; plane < geo.n * geo.channels; ++plane)
            for (std::int64_t o = 0; o < outCount; ++o) {
                std::int64_t rem = o;
                for (std::size_t d = sd; d-- > 0;) {
                    oIdx[d] = rem % geo.outSpatial[d];
                    rem /= geo.outSpatial[d];
                }
                double best = -std::numeric_limits<double>::infinity();
                std::int64_t bestAt = -1;
                double sum = 0;
                std::int64_t count = 0, padCount = 0;
                for (std::int64_t kk = 0; kk < kCount; ++kk) {
                    std::int64_t krem = kk;
                    for (std::size_t d = sd; d-- > 0;) {
                        kIdx[d] = krem % geo.kernel[d];
                        krem /= geo.kernel[d];
                    }
                    std::int64_t off = 0, mul = 1;
                    bool inside = true, inPadded = true;
                    for (std::size_t d = sd; d-- > 0;) {
                        std::int64_t pos =
                            oIdx[d] * geo.strides[d] - geo.padBegin[d] + kIdx[d] * geo.dilations[d];
                        if (pos < -geo.padBegin[d] || pos >= geo.inSpatial[d] + geo.padEnd[d])
                            inPadded = false;
                        if (pos < 0 || pos >= geo.inSpatial[d])
                            inside = false;
                        off += pos * mul;
                        mul *= geo.inSpatial[d];
                    }
                    if (inPadded)
                        ++padCount;
                    if (!inside)
                        continue;
                    double v = static_cast<double>(px[plane * inCount + off]);
                    if (v > best || bestAt < 0) {
                        best = v;
                        bestAt = off;
                    }
                    sum += v;
                    ++count;
                }
                if (indices) {
                    // Flat index over the whole input (N and C included);
                    // storage_order 1 counts the two spatial axes column-major.
                    std::int64_t at = bestAt;
                    if (columnMajor)
                        at = (bestAt / geo.inSpatial[1]) +
                             (bestAt % geo.inSpatial[1]) * geo.inSpatial[0];
                    indices->as<std::int64_t>()[plane * outCount + o] = plane * inCount + at;
                }
                if (isMax)
                    po[plane * outCount + o] = static_cast<T>(best);
                else
                    po[plane * outCount + o] = static_cast<T>(
                        sum / static_cast<double>(countPad ? padCount
                                                           : std::max<std::int64_t>(count, 1)));
            }
    });
    return Status::success();
}

Status globalPool(KernelContext &ctx, bool isMax)
{
    // After a channels-last chain (channels_last.h).
    if (anyChannelsLast(ctx.node()))
        return runAsNchw(ctx, [isMax](KernelContext &c) { return globalPool(c, isMax); });
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 2)
        return ctx.invalid("rank must be >= 2");
    Shape shape = {x.dim(0), x.dim(1)};
    for (std::size_t d = 2; d < x.rank(); ++d)
        shape.push_back(1);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    std::int64_t planes = x.dim(0) * x.dim(1);
    std::int64_t inner = planes ? x.elementCount() / planes : 0;
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t p = 0; p < planes; ++p) {
            double acc = isMax ? -std::numeric_limits<double>::infinity() : 0.0;
            for (std::int64_t i = 0; i < inner; ++i) {
                double v = x.as<T>()[p * inner + i];
                acc = isMax ? std::max(acc, v) : acc + v;
            }
            out->as<T>()[p] = static_cast<T>(isMax ? acc : acc / static_cast<double>(inner));
        }
    });
    return Status::success();
}

Status batchNormKernel(KernelContext &ctx)
{
    // Training mode (opset 14+): normalise with the batch statistics and
    // output the updated running mean and variance.
    const bool training = ctx.node().intAttr("training_mode", 0) != 0 || ctx.hasOutput(1);
    if (training && ctx.opset() < 14)
        return ctx.unsupported("training mode before opset 14 (saved mean/variance outputs)");
    if (ctx.opset() < 9 && ctx.node().intAttr("spatial", 1) == 0)
        return ctx.unsupported("spatial = 0");
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64)
        return ctx.unsupported("element type " + typeName(x.type()));
    for (std::size_t i = 1; i <= 4; ++i)
        if (ctx.input(i).type() != x.type())
            return ctx.unsupported("scale/bias/mean/var element type " +
                                   typeName(ctx.input(i).type()));
    double eps = ctx.node().floatAttr("epsilon", 1e-5f);
    std::int64_t c = x.rank() > 1 ? x.dim(1) : 1;
    for (std::size_t i = 1; i <= 4; ++i)
        if (ctx.input(i).elementCount() != c)
            return ctx.invalid("parameter " + std::to_string(i) + " does not have C elements");
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    std::int64_t inner = 1;
    for (std::size_t d = 2; d < x.rank(); ++d)
        inner *= x.dim(d);
    Tensor *runMean = nullptr, *runVar = nullptr;
    if (training) {
        SB_ASSIGN_OR_RETURN(runMean, ctx.allocateOutput(1, x.type(), ctx.input(3).shape()));
        SB_ASSIGN_OR_RETURN(runVar, ctx.allocateOutput(2, x.type(), ctx.input(4).shape()));
    }
    const double momentum = ctx.node().floatAttr("momentum", 0.9f);
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *scale = ctx.input(1).as<T>();
        const T *bias = ctx.input(2).as<T>();
        const T *mean = ctx.input(3).as<T>();
        const T *var = ctx.input(4).as<T>();
        std::vector<T> batchMean, batchVar;
        if (training) { // population statistics over N and the spatial axes
            const std::int64_t perChannel = c ? x.elementCount() / c : 0;
            std::vector<double> sum(static_cast<std::size_t>(c), 0.0), sq(sum);
            for (std::int64_t i = 0; i < x.elementCount(); ++i) {
                auto ch = static_cast<std::size_t>((i / inner) % c);
                sum[ch] += static_cast<double>(x.as<T>()[i]);
            }
            for (std::int64_t i = 0; i < x.elementCount(); ++i) {
                auto ch = static_cast<std::size_t>((i / inner) % c);
                double d =
                    static_cast<double>(x.as<T>()[i]) - sum[ch] / static_cast<double>(perChannel);
                sq[ch] += d * d;
            }
            for (std::int64_t ch = 0; ch < c; ++ch) {
                auto u = static_cast<std::size_t>(ch);
                double m = sum[u] / static_cast<double>(perChannel);
                double v = sq[u] / static_cast<double>(perChannel);
                batchMean.push_back(static_cast<T>(m));
                batchVar.push_back(static_cast<T>(v));
                runMean->as<T>()[ch] = static_cast<T>(mean[ch] * momentum + m * (1 - momentum));
                runVar->as<T>()[ch] = static_cast<T>(var[ch] * momentum + v * (1 - momentum));
            }
            mean = batchMean.data();
            var = batchVar.data();
        }
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            std::int64_t ch = (i / inner) % c;
            double v = (static_cast<double>(x.as<T>()[i]) - mean[ch]) /
                       std::sqrt(static_cast<double>(var[ch]) + eps);
            out->as<T>()[i] = static_cast<T>(v * scale[ch] + bias[ch]);
        }
    });
    return Status::success();
}

Status instanceNormKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.rank() < 3)
        return ctx.invalid("rank must be >= 3");
    double eps = ctx.node().floatAttr("epsilon", 1e-5f);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    std::int64_t c = x.dim(1);
    std::int64_t inner = x.elementCount() / (x.dim(0) * c);
    const float *scale = ctx.input(1).as<float>();
    const float *bias = ctx.input(2).as<float>();
    for (std::int64_t p = 0; p < x.dim(0) * c; ++p) {
        const float *px = x.as<float>() + p * inner;
        double mean = 0, var = 0;
        for (std::int64_t i = 0; i < inner; ++i)
            mean += px[i];
        mean /= static_cast<double>(inner);
        for (std::int64_t i = 0; i < inner; ++i)
            var += (px[i] - mean) * (px[i] - mean);
        var /= static_cast<double>(inner);
        double inv = 1.0 / std::sqrt(var + eps);
        for (std::int64_t i = 0; i < inner; ++i)
            out->as<float>()[p * inner + i] =
                static_cast<float>((px[i] - mean) * inv * scale[p % c] + bias[p % c]);
    }
    return Status::success();
}

Status layerNormKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(LayerNormArgs args, layerNormArgs(ctx));
    const Tensor &x = ctx.input(0);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    Tensor *meanOut = nullptr, *invOut = nullptr;
    if (ctx.hasOutput(1)) {
        SB_ASSIGN_OR_RETURN(meanOut, ctx.allocateOutput(1, ElementType::Float32, args.statShape));
    }
    if (ctx.hasOutput(2)) {
        SB_ASSIGN_OR_RETURN(invOut, ctx.allocateOutput(2, ElementType::Float32, args.statShape));
    }
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        const T *scale = ctx.input(1).as<T>();
        const T *bias = ctx.hasInput(2) ? ctx.input(2).as<T>() : nullptr;
        for (std::int64_t r = 0; r < args.rows; ++r) {
            double mean = 0, var = 0;
            for (std::int64_t i = 0; i < args.cols; ++i)
                mean += px[r * args.cols + i];
            mean /= static_cast<double>(args.cols);
            for (std::int64_t i = 0; i < args.cols; ++i) {
                double d = px[r * args.cols + i] - mean;
                var += d * d;
            }
            var /= static_cast<double>(args.cols);
            double inv = 1.0 / std::sqrt(var + args.epsilon);
            for (std::int64_t i = 0; i < args.cols; ++i) {
                double v = (px[r * args.cols + i] - mean) * inv * scale[args.scaleIndex(i)];
                if (bias)
                    v += bias[args.biasIndex(i)];
                po[r * args.cols + i] = static_cast<T>(v);
            }
            if (meanOut)
                meanOut->as<float>()[r] = static_cast<float>(mean);
            if (invOut)
                invOut->as<float>()[r] = static_cast<float>(inv);
        }
    });
    return Status::success();
}

Status lrnKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 || x.rank() < 3)
        return ctx.unsupported("element type or rank");
    double alpha = ctx.node().floatAttr("alpha", 1e-4f);
    double beta = ctx.node().floatAttr("beta", 0.75f);
    double bias = ctx.node().floatAttr("bias", 1.0f);
    std::int64_t size = ctx.node().intAttr("size", 0);
    if (size <= 0)
        return ctx.invalid("size must be positive");
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    std::int64_t c = x.dim(1);
    std::int64_t inner = x.elementCount() / (x.dim(0) * c);
    std::int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    const float *px = x.as<float>();
    for (std::int64_t n = 0; n < x.dim(0); ++n)
        for (std::int64_t ch = 0; ch < c; ++ch)
            for (std::int64_t i = 0; i < inner; ++i) {
                double sum = 0;
                for (std::int64_t k = std::max<std::int64_t>(0, ch - lo);
                     k <= std::min(c - 1, ch + hi); ++k) {
                    double v = px[(n * c + k) * inner + i];
                    sum += v * v;
                }
                std::int64_t off = (n * c + ch) * inner + i;
                out->as<float>()[off] = static_cast<float>(
                    px[off] / std::pow(bias + alpha / static_cast<double>(size) * sum, beta));
            }
    return Status::success();
}

Status mvnKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(x.type()));
    auto axes = ctx.node().intsAttr("axes");
    if (axes.empty())
        axes = {0, 2, 3};
    std::vector<bool> reduced(x.rank(), false);
    for (auto a : axes) {
        auto n = normalizeAxis(a, static_cast<std::int64_t>(x.rank()));
        if (!n)
            return ctx.invalid("axis out of range");
        reduced[static_cast<std::size_t>(*n)] = true;
    }
    Shape kept;
    for (std::size_t d = 0; d < x.rank(); ++d)
        kept.push_back(reduced[d] ? 1 : x.dim(d));
    auto strides = broadcastStrides(kept, x.shape());
    std::int64_t keptCount = runtime::shapeElementCount(kept);
    std::vector<double> mean(static_cast<std::size_t>(keptCount), 0),
        sq(static_cast<std::size_t>(keptCount), 0);
    std::int64_t per = x.elementCount() / keptCount;
    auto outIndex = [&](std::int64_t i) {
        std::int64_t rem = i, o = 0;
        for (std::size_t d = x.rank(); d-- > 0;) {
            o += (rem % x.dim(d)) * strides[d];
            rem /= x.dim(d);
        }
        return static_cast<std::size_t>(o);
    };
    for (std::int64_t i = 0; i < x.elementCount(); ++i) {
        double v = x.as<float>()[i];
        mean[outIndex(i)] += v;
        sq[outIndex(i)] += v * v;
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    for (std::int64_t i = 0; i < x.elementCount(); ++i) {
        std::size_t o = outIndex(i);
        double m = mean[o] / static_cast<double>(per);
        double var = sq[o] / static_cast<double>(per) - m * m;
        out->as<float>()[i] =
            static_cast<float>((x.as<float>()[i] - m) / (std::sqrt(std::max(var, 0.0)) + 1e-9));
    }
    return Status::success();
}

} // namespace

void registerReferenceNn(KernelRegistry &r)
{
    addReference(r, "MatMul", matmulKernel);
    addReference(r, "FusedMatMul", matmulKernel, "sb");
    addReference(r, "Gemm", gemmKernel);
    addReference(r, "FusedGemm", gemmKernel, "sb");
    addReference(r, "Conv", convKernel);
    addReference(r, "FusedConv", convKernel, "sb");
    addReference(r, "FusedPointwiseDepthwise", pointwiseDepthwiseKernel, "sb");
    addReference(r, "ConvTranspose", convTransposeKernel);
    addReference(r, "MaxPool", [](KernelContext &c) { return poolKernel(c, true); });
    addReference(r, "AveragePool", [](KernelContext &c) { return poolKernel(c, false); });
    addReference(r, "GlobalAveragePool", [](KernelContext &c) { return globalPool(c, false); });
    addReference(r, "GlobalMaxPool", [](KernelContext &c) { return globalPool(c, true); });
    addReference(r, "BatchNormalization", batchNormKernel);
    addReference(r, "InstanceNormalization", instanceNormKernel);
    addReference(r, "LayerNormalization", layerNormKernel);
    addReference(r, "LRN", lrnKernel);
    addReference(r, "MeanVarianceNormalization", mvnKernel);
}

} // namespace sb::kernels

namespace sb::kernels {
Status referenceMatMul(KernelContext &ctx)
{
    return matmulKernel(ctx);
}
Status referenceGemm(KernelContext &ctx)
{
    return gemmKernel(ctx);
}
Status referenceConv(KernelContext &ctx)
{
    return convKernel(ctx);
}
Status referencePointwiseDepthwise(KernelContext &ctx)
{
    return pointwiseDepthwiseKernel(ctx);
}
Status referencePool(KernelContext &ctx, bool isMax)
{
    return poolKernel(ctx, isMax);
}
Status referenceLayerNorm(KernelContext &ctx)
{
    return layerNormKernel(ctx);
}
} // namespace sb::kernels

namespace sb::kernels {
Status referenceBatchNorm(KernelContext &ctx)
{
    return batchNormKernel(ctx);
}
} // namespace sb::kernels
