// Fast int8 kernels: QLinearConv / sb.QLinearConv and sb.QGemm on oneDNN's
// int8 primitives (onednn.h), per-tensor QuantizeLinear / DequantizeLinear,
// sb.QLinearAdd and int8/uint8 MaxPool as typed loops on the device's pool.
// Anything they do not cover (per-axis activations, weights with a zero
// point, non-constant weights or scales) runs the reference kernel.
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/fast/fast.h"
#include "kernels/cpu/fast/simd.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_common.h"
#include "kernels/cpu/onednn/onednn.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sb::kernels {

namespace {

bool isInt8(ElementType t)
{
    return t == ElementType::Int8 || t == ElementType::UInt8;
}

bool perTensor(const KernelContext &ctx, std::size_t i)
{
    return ctx.hasInput(i) && ctx.input(i).elementCount() == 1;
}

bool allConstant(const KernelContext &ctx, std::initializer_list<std::size_t> inputs)
{
    for (std::size_t i : inputs)
        if (ctx.hasInput(i) && !ctx.inputIsConstant(i))
            return false;
    return true;
}

bool allZero(const Tensor &t)
{
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        if (t.scalarAsInt(i) != 0)
            return false;
    return true;
}

// x_scale * w_scale[c] / y_scale per output channel (one when both are per tensor).
std::vector<float> outputScales(const Tensor &xScale, const Tensor &wScale, const Tensor &yScale)
{
    std::vector<float> scales(static_cast<std::size_t>(wScale.elementCount()));
    const auto xs = static_cast<float>(xScale.scalarAsDouble());
    const auto ys = static_cast<float>(yScale.scalarAsDouble());
    for (std::size_t c = 0; c < scales.size(); ++c)
        scales[c] =
            xs * static_cast<float>(wScale.scalarAsDouble(static_cast<std::int64_t>(c))) / ys;
    return scales;
}

// QLinearConv (x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?) and
// sb.QLinearConv (the same with `activation`): 2-D, int8 weights with zero
// point 0 and constant weights, scales, zero points and bias.
Status fastQLinearConv(KernelContext &ctx)
{
    if (std::optional<Status> ran = runPreparedInt8(ctx))
        return *ran;
    const Tensor &x = ctx.input(0);
    const Tensor &w = ctx.input(3);
    const std::string act = ctx.node().stringAttr("activation", "");
    const bool covered =
        x.rank() == 4 && isInt8(x.type()) && w.type() == ElementType::Int8 && w.rank() == 4 &&
        perTensor(ctx, 1) && perTensor(ctx, 2) && perTensor(ctx, 6) && perTensor(ctx, 7) &&
        ctx.hasInput(5) && allZero(ctx.input(5)) && isInt8(ctx.input(7).type()) &&
        (ctx.input(4).elementCount() == 1 || ctx.input(4).elementCount() == w.dim(0)) &&
        (!ctx.hasInput(8) || ctx.input(8).type() == ElementType::Int32) &&
        (act.empty() || act == "Relu") && allConstant(ctx, {1, 2, 3, 4, 5, 6, 7, 8});
    if (!covered)
        return referenceQLinearConv(ctx);
    ConvOperands operands;
    operands.weight = 3;
    operands.bias = 8;
    operands.floatOnly = false;
    SB_ASSIGN_OR_RETURN(ConvGeometry g, convGeometry(ctx, operands));
    QConvProblem q;
    q.shape = convProblemOf(g);
    const ElementType yType = ctx.input(7).type();
    q.xSigned = x.type() == ElementType::Int8;
    q.ySigned = yType == ElementType::Int8;
    q.w = w.as<std::int8_t>();
    q.bias = ctx.hasInput(8) ? ctx.input(8).as<std::int32_t>() : nullptr;
    q.xZeroPoint = static_cast<std::int32_t>(ctx.input(2).scalarAsInt());
    q.yZeroPoint = static_cast<std::int32_t>(ctx.input(7).scalarAsInt());
    q.outputScales = outputScales(ctx.input(1), ctx.input(4), ctx.input(6));
    q.relu = act == "Relu";
    q.xChannelsLast = inputChannelsLast(ctx.node(), 0);
    q.yChannelsLast = outputChannelsLast(ctx.node());
    return runQConvolution(ctx, q, [&] { return referenceQLinearConv(ctx); });
}

// sb.QGemm (a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, bias?) with
// transB and activation; int8 constant B with zero point 0.
Status fastQGemm(KernelContext &ctx)
{
    if (std::optional<Status> ran = runPreparedInt8(ctx))
        return *ran;
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(3);
    const bool transB = ctx.node().intAttr("transB", 0) != 0;
    const std::string act = ctx.node().stringAttr("activation", "");
    const bool covered =
        a.rank() >= 1 && isInt8(a.type()) && b.type() == ElementType::Int8 && b.rank() == 2 &&
        perTensor(ctx, 1) && perTensor(ctx, 2) && perTensor(ctx, 6) && perTensor(ctx, 7) &&
        ctx.hasInput(5) && allZero(ctx.input(5)) && isInt8(ctx.input(7).type()) &&
        a.dim(a.rank() - 1) == (transB ? b.dim(1) : b.dim(0)) &&
        (ctx.input(4).elementCount() == 1 ||
         ctx.input(4).elementCount() == (transB ? b.dim(0) : b.dim(1))) &&
        (!ctx.hasInput(8) || ctx.input(8).type() == ElementType::Int32) &&
        (act.empty() || act == "Relu") && allConstant(ctx, {1, 2, 3, 4, 5, 6, 7, 8});
    if (!covered)
        return referenceQGemm(ctx);
    QMatMulProblem q;
    q.k = a.dim(a.rank() - 1);
    q.n = transB ? b.dim(0) : b.dim(1);
    q.m = q.k ? a.elementCount() / q.k : 0;
    if (q.m == 0 || q.k == 0)
        return referenceQGemm(ctx);
    const ElementType yType = ctx.input(7).type();
    q.transB = transB;
    q.aSigned = a.type() == ElementType::Int8;
    q.cSigned = yType == ElementType::Int8;
    q.b = b.as<std::int8_t>();
    q.bias = ctx.hasInput(8) ? ctx.input(8).as<std::int32_t>() : nullptr;
    q.aZeroPoint = static_cast<std::int32_t>(ctx.input(2).scalarAsInt());
    q.cZeroPoint = static_cast<std::int32_t>(ctx.input(7).scalarAsInt());
    q.outputScales = outputScales(ctx.input(1), ctx.input(4), ctx.input(6));
    q.relu = act == "Relu";
    q.cShape = a.shape();
    q.cShape.back() = q.n;
    return runQMatMul(ctx, q, [&] { return referenceQGemm(ctx); });
}

// Rounds half to even like std::nearbyint under the default rounding mode
// (adding and subtracting 1.5 * 2^23 leaves the rounded value for
// |v| < 2^22), without a library call, so the loops vectorise. Larger
// values saturate anyway.
SB_FAST_INLINE float roundHalfEven(float v)
{
    constexpr float kMagic = 12582912.0f;
    v = std::min(std::max(v, -4194304.0f), 4194304.0f);
    return (v + kMagic) - kMagic;
}

// The loops below take their parameters by value and their arrays as
// __restrict pointers so that the compiler vectorises them; each has an
// AVX2 copy (without FMA: a contracted a * s + b would round differently
// from the reference kernels, which these loops match bit for bit).
#if SB_HAVE_AVX2_DISPATCH
#define SB_TARGET_AVX2_NO_FMA __attribute__((target("avx2")))
#else
#define SB_TARGET_AVX2_NO_FMA
#endif

// saturate(round(v) + zeroPoint) into Q.
template <typename Q> SB_FAST_INLINE Q quantizeValue(float v, float zeroPoint)
{
    const float q = roundHalfEven(v) + zeroPoint;
    return static_cast<Q>(static_cast<std::int32_t>(
        std::min(std::max(q, static_cast<float>(std::numeric_limits<Q>::lowest())),
                 static_cast<float>(std::numeric_limits<Q>::max()))));
}

template <typename Q>
SB_FAST_INLINE void quantizeRangeImpl(const float *__restrict x, Q *__restrict y, std::int64_t n,
                                      float scale, float zeroPoint)
{
    for (std::int64_t i = 0; i < n; ++i)
        y[i] = quantizeValue<Q>(x[i] / scale, zeroPoint);
}

template <typename Q>
SB_FAST_INLINE void dequantizeRangeImpl(const Q *__restrict x, float *__restrict y, std::int64_t n,
                                        float scale, std::int32_t zeroPoint)
{
    for (std::int64_t i = 0; i < n; ++i)
        y[i] = static_cast<float>(static_cast<std::int32_t>(x[i]) - zeroPoint) * scale;
}

// y = Q(max(DQ(a) + DQ(b), floor)); floor is 0 (Relu) or -inf.
template <typename A, typename B, typename Y>
SB_FAST_INLINE void addRangeImpl(const A *__restrict a, const B *__restrict b, Y *__restrict y,
                                 std::int64_t n, float as, std::int32_t az, float bs,
                                 std::int32_t bz, float ys, float yz, float floor)
{
    for (std::int64_t i = 0; i < n; ++i) {
        const float fa = static_cast<float>(static_cast<std::int32_t>(a[i]) - az) * as;
        const float fb = static_cast<float>(static_cast<std::int32_t>(b[i]) - bz) * bs;
        y[i] = quantizeValue<Y>(std::max(fa + fb, floor) / ys, yz);
    }
}

// Baseline and AVX2 copies of each loop, picked per call.
template <typename... Args> void quantizeRangeBase(Args... args)
{
    quantizeRangeImpl(args...);
}
template <typename... Args> SB_TARGET_AVX2_NO_FMA void quantizeRangeAvx2(Args... args)
{
    quantizeRangeImpl(args...);
}
template <typename... Args> void quantizeRange(Args... args)
{
    SB_PICK_AVX2(quantizeRangeBase<Args...>, quantizeRangeAvx2<Args...>)(args...);
}
template <typename... Args> void dequantizeRangeBase(Args... args)
{
    dequantizeRangeImpl(args...);
}
template <typename... Args> SB_TARGET_AVX2_NO_FMA void dequantizeRangeAvx2(Args... args)
{
    dequantizeRangeImpl(args...);
}
template <typename... Args> void dequantizeRange(Args... args)
{
    SB_PICK_AVX2(dequantizeRangeBase<Args...>, dequantizeRangeAvx2<Args...>)(args...);
}
template <typename... Args> void addRangeBase(Args... args)
{
    addRangeImpl(args...);
}
template <typename... Args> SB_TARGET_AVX2_NO_FMA void addRangeAvx2(Args... args)
{
    addRangeImpl(args...);
}
template <typename... Args> void addRange(Args... args)
{
    SB_PICK_AVX2(addRangeBase<Args...>, addRangeAvx2<Args...>)(args...);
}

// Calls f(tag) with a value of the int8 type t (int8_t or uint8_t).
template <typename F> void int8Dispatch(ElementType t, F &&f)
{
    if (t == ElementType::Int8)
        f(std::int8_t{});
    else
        f(std::uint8_t{});
}

// QuantizeLinear, float32 -> int8 / uint8 with a per-tensor scale: the
// reference's arithmetic (single-precision division, round half to even,
// saturation) bit for bit.
Status fastQuantizeLinear(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const graph::Attribute *dt = ctx.node().attribute("output_dtype");
    if (x.type() != ElementType::Float32 || !perTensor(ctx, 1) || !perTensor(ctx, 2) ||
        !isInt8(ctx.input(2).type()) || ctx.input(1).type() != ElementType::Float32 ||
        (dt && dt->i != 0))
        return referenceQuantizeLinear(ctx);
    const ElementType outType = ctx.input(2).type();
    const float scale = ctx.input(1).as<float>()[0];
    const auto zp = static_cast<float>(ctx.input(2).scalarAsInt());
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, outType, x.shape()));
    const float *px = x.as<float>();
    int8Dispatch(outType, [&](auto tag) {
        using Q = decltype(tag);
        Q *py = y->as<Q>();
        ctx.pool().parallelFor(x.elementCount(), kParallelGrain,
                               [&](std::int64_t b, std::int64_t e) {
                                   quantizeRange(px + b, py + b, e - b, scale, zp);
                               });
    });
    return Status::success();
}

// DequantizeLinear, int8 / uint8 -> float32 with a per-tensor scale.
Status fastDequantizeLinear(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (!isInt8(x.type()) || !perTensor(ctx, 1) || ctx.input(1).type() != ElementType::Float32 ||
        (ctx.hasInput(2) && ctx.input(2).elementCount() != 1))
        return referenceDequantizeLinear(ctx);
    const float scale = ctx.input(1).as<float>()[0];
    const auto zp = static_cast<std::int32_t>(ctx.hasInput(2) ? ctx.input(2).scalarAsInt() : 0);
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Float32, x.shape()));
    float *py = y->as<float>();
    int8Dispatch(x.type(), [&](auto tag) {
        using Q = decltype(tag);
        const Q *px = x.as<Q>();
        ctx.pool().parallelFor(x.elementCount(), kParallelGrain,
                               [&](std::int64_t b, std::int64_t e) {
                                   dequantizeRange(px + b, py + b, e - b, scale, zp);
                               });
    });
    return Status::success();
}

// sb.QLinearAdd with int8/uint8 operands: the reference's float32 arithmetic.
// Element by element, so the layout does not matter as long as A, B and Y
// share it (the fusion pass marks them together).
Status fastQLinearAdd(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0), &b = ctx.input(3);
    const bool channelsLast = outputChannelsLast(ctx.node());
    bool covered = a.shape() == b.shape() && isInt8(a.type()) && isInt8(b.type()) &&
                   ctx.hasInput(7) && isInt8(ctx.input(7).type()) &&
                   inputChannelsLast(ctx.node(), 0) == channelsLast &&
                   inputChannelsLast(ctx.node(), 3) == channelsLast;
    for (std::size_t i : {1, 2, 4, 5, 6, 7})
        covered = covered && perTensor(ctx, i);
    if (!covered)
        return referenceQLinearAdd(ctx);
    const float floor = ctx.node().stringAttr("activation", "") == "Relu"
                            ? 0.0f
                            : -std::numeric_limits<float>::infinity();
    const auto as = static_cast<float>(ctx.input(1).scalarAsDouble());
    const auto bs = static_cast<float>(ctx.input(4).scalarAsDouble());
    const auto ys = static_cast<float>(ctx.input(6).scalarAsDouble());
    const auto az = static_cast<std::int32_t>(ctx.input(2).scalarAsInt());
    const auto bz = static_cast<std::int32_t>(ctx.input(5).scalarAsInt());
    const auto yz = static_cast<float>(ctx.input(7).scalarAsInt());
    const ElementType yType = ctx.input(7).type();
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, yType, a.shape()));
    int8Dispatch(a.type(), [&](auto ta) {
        int8Dispatch(b.type(), [&](auto tb) {
            int8Dispatch(yType, [&](auto ty) {
                using A = decltype(ta);
                using B = decltype(tb);
                using Y = decltype(ty);
                const A *pa = a.as<A>();
                const B *pb = b.as<B>();
                Y *py = y->as<Y>();
                ctx.pool().parallelFor(a.elementCount(), kParallelGrain,
                                       [&](std::int64_t begin, std::int64_t end) {
                                           addRange(pa + begin, pb + begin, py + begin, end - begin,
                                                    as, az, bs, bz, ys, yz, floor);
                                       });
            });
        });
    });
    return Status::success();
}

// One pooling window geometry (2-D).
struct Window2d
{
    std::int64_t ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft;
};

// Max pooling of one plane, separably: per output row, the max over the
// window's input rows (contiguous, vectorised) into `column` (iw values),
// then over each output's columns; padding never wins (skipped).
template <typename T>
void maxPoolPlane(const T *__restrict in, T *__restrict o, T *__restrict column, const Window2d w)
{
    for (std::int64_t y = 0; y < w.oh; ++y) {
        std::fill(column, column + w.iw, std::numeric_limits<T>::lowest());
        for (std::int64_t ky = 0; ky < w.kh; ++ky) {
            const std::int64_t iy = y * w.sh - w.padTop + ky * w.dh;
            if (iy < 0 || iy >= w.ih)
                continue;
            const T *row = in + iy * w.iw;
            for (std::int64_t x = 0; x < w.iw; ++x)
                column[x] = std::max(column[x], row[x]);
        }
        T *orow = o + y * w.ow;
        for (std::int64_t xo = 0; xo < w.ow; ++xo) {
            const std::int64_t x0 = xo * w.sw - w.padLeft;
            T best = std::numeric_limits<T>::lowest();
            if (x0 >= 0 && x0 + (w.kw - 1) * w.dw < w.iw) {
                for (std::int64_t kx = 0; kx < w.kw; ++kx)
                    best = std::max(best, column[x0 + kx * w.dw]);
            } else {
                for (std::int64_t kx = 0; kx < w.kw; ++kx) {
                    const std::int64_t ix = x0 + kx * w.dw;
                    if (ix >= 0 && ix < w.iw)
                        best = std::max(best, column[ix]);
                }
            }
            orow[xo] = best;
        }
    }
}

// dst[i] = max(dst[i], src[i]) for i < n; the __restrict parameters (not
// a restrict local, which GCC ignores) and the unconditional store let the
// compiler vectorise it instead of a compare-and-branch per byte.
template <typename T>
SB_FAST_INLINE void maxInto(T *__restrict dst, const T *__restrict src, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i) {
        const T a = dst[i], b = src[i];
        dst[i] = a < b ? b : a;
    }
}

// Max pooling of output rows [rowBegin, rowEnd) (over all images: row r is
// image r / oh, output row r % oh) of a channels-last tensor, separably like
// maxPoolPlane: the max over the window's input rows (contiguous runs of
// iw * channels values) into `column`, then per output pixel over its
// window's columns (`channels` contiguous values each); padding never wins.
template <typename T>
void maxPoolRowsNhwc(const T *in, T *out, std::int64_t channels, std::int64_t rowBegin,
                     std::int64_t rowEnd, const Window2d w)
{
    const std::int64_t rowValues = w.iw * channels;
    std::vector<T> buffer(static_cast<std::size_t>(rowValues));
    T *column = buffer.data();
    for (std::int64_t r = rowBegin; r < rowEnd; ++r) {
        const std::int64_t n = r / w.oh, y = r % w.oh;
        const T *image = in + n * w.ih * rowValues;
        std::fill(column, column + rowValues, std::numeric_limits<T>::lowest());
        for (std::int64_t ky = 0; ky < w.kh; ++ky) {
            const std::int64_t iy = y * w.sh - w.padTop + ky * w.dh;
            if (iy >= 0 && iy < w.ih)
                maxInto(column, image + iy * rowValues, rowValues);
        }
        for (std::int64_t xo = 0; xo < w.ow; ++xo) {
            T *o = out + (r * w.ow + xo) * channels;
            std::fill(o, o + channels, std::numeric_limits<T>::lowest());
            for (std::int64_t kx = 0; kx < w.kw; ++kx) {
                const std::int64_t ix = xo * w.sw - w.padLeft + kx * w.dw;
                if (ix >= 0 && ix < w.iw)
                    maxInto(o, column + ix * channels, channels);
            }
        }
    }
}

// MaxPool over int8 / uint8 4-D tensors (what a QDQ graph's MaxPool runs
// on once its DequantizeLinear / QuantizeLinear pair is dropped), NCHW or,
// with input and output both channels-last (channels_last.h), NHWC; float
// tensors go to the float kernels.
Status fastQuantMaxPool(KernelContext &ctx, const runtime::KernelFn &floatKernel)
{
    const Tensor &x = ctx.input(0);
    const bool channelsLast = outputChannelsLast(ctx.node());
    if (!isInt8(x.type()))
        return floatKernel(ctx); // float channels-last chains included
    if (x.rank() != 4 || ctx.hasOutput(1) || ctx.node().intAttr("storage_order", 0) != 0 ||
        inputChannelsLast(ctx.node(), 0) != channelsLast)
        return anyChannelsLast(ctx.node()) ? referencePool(ctx, true) : floatKernel(ctx);
    SB_ASSIGN_OR_RETURN(PoolGeometry g, poolGeometry(ctx));
    SB_ASSIGN_OR_RETURN(
        Tensor * out,
        ctx.allocateOutput(0, x.type(), {g.n, g.channels, g.outSpatial[0], g.outSpatial[1]}));
    const std::int64_t ih = g.inSpatial[0], iw = g.inSpatial[1], oh = g.outSpatial[0],
                       ow = g.outSpatial[1];
    const std::int64_t kh = g.kernel[0], kw = g.kernel[1], sh = g.strides[0], sw = g.strides[1];
    const std::int64_t dh = g.dilations[0], dw = g.dilations[1];
    const std::int64_t padTop = g.padBegin[0], padLeft = g.padBegin[1];
    int8Dispatch(x.type(), [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        const Window2d w{ih, iw, oh, ow, kh, kw, sh, sw, dh, dw, padTop, padLeft};
        if (channelsLast) {
            // Output rows per chunk: about 64K window comparisons, as below.
            const std::int64_t perRow = std::max<std::int64_t>(1, ow * kh * kw * g.channels);
            const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / perRow);
            ctx.pool().parallelFor(g.n * oh, grain, [&](std::int64_t begin, std::int64_t end) {
                maxPoolRowsNhwc(px, po, g.channels, begin, end, w);
            });
            return;
        }
        // Planes per chunk: about 64K window comparisons, so that a small
        // pool (a 32x32 CNN's) runs on the calling thread without a fork.
        const std::int64_t perPlane = std::max<std::int64_t>(1, oh * ow * kh * kw);
        const std::int64_t grain = std::max<std::int64_t>(1, (std::int64_t{1} << 16) / perPlane);
        ctx.pool().parallelFor(g.n * g.channels, grain, [&](std::int64_t begin, std::int64_t end) {
            std::vector<T> column(static_cast<std::size_t>(iw));
            for (std::int64_t p = begin; p < end; ++p)
                maxPoolPlane(px + p * ih * iw, po + p * oh * ow, column.data(), w);
        });
    });
    return Status::success();
}

} // namespace

void registerFastQuant(KernelRegistry &r)
{
    // One quantization step: oneDNN rounds the requantised value after
    // adding the zero point (ties may differ) and sums in another order.
    const runtime::Tolerance oneStep{0.0, 1.0};
    addFast(r, "QLinearConv", fastQLinearConv, oneStep);
    addFast(r, "QLinearConv", fastQLinearConv, oneStep, "sb");
    addFast(r, "QGemm", fastQGemm, oneStep, "sb");
    addFast(r, "QuantizeLinear", fastQuantizeLinear, {0, 0});
    addFast(r, "DequantizeLinear", fastDequantizeLinear, {0, 0});
    addFast(r, "QLinearAdd", fastQLinearAdd, {0, 0}, "sb");
    // MaxPool: wrap the float fast kernel registered by registerFastNn.
    const runtime::KernelInfo *maxPool =
        r.findExact("MaxPool", "", runtime::DeviceKind::Cpu, runtime::KernelVariant::Fast);
    const runtime::KernelFn floatKernel =
        maxPool ? maxPool->fn
                : runtime::KernelFn([](KernelContext &c) { return referencePool(c, true); });
    const runtime::Tolerance tolerance = maxPool ? maxPool->tolerance : runtime::Tolerance{0, 0};
    addFast(
        r, "MaxPool", [floatKernel](KernelContext &c) { return fastQuantMaxPool(c, floatKernel); },
        tolerance);
}

} // namespace sb::kernels
