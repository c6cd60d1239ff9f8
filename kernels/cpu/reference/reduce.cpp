// Reference reductions (ReduceSum/Mean/Max/Min/Prod/L1/L2/LogSum/LogSumExp/
// SumSquare, ArgMax/ArgMin) and the softmax family (Softmax, LogSoftmax, Hardmax).
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <limits>

namespace sb::kernels {

namespace {

enum class Reduce
{
    Sum,
    Mean,
    Max,
    Min,
    Prod,
    L1,
    L2,
    LogSum,
    LogSumExp,
    SumSquare
};

struct ReducePlan
{
    std::vector<bool> reduced;
    Shape outShape;  // with keepdims applied
    Shape keptShape; // rank-preserving (1 on reduced axes)
    bool identity = false;
};

Result<ReducePlan> planReduce(KernelContext &ctx, const Tensor &x, bool axesAsInput)
{
    ReducePlan plan;
    AxesArg axes = axesFrom(ctx, axesAsInput ? 1 : 99);
    bool keep = ctx.node().intAttr("keepdims", 1) != 0;
    bool noop = ctx.node().intAttr("noop_with_empty_axes", 0) != 0;
    auto rank = static_cast<std::int64_t>(x.rank());
    plan.reduced.assign(x.rank(), false);
    if (axes.axes.empty()) {
        if (noop) {
            plan.identity = true;
            plan.outShape = x.shape();
            plan.keptShape = x.shape();
            return plan;
        }
        plan.reduced.assign(x.rank(), true);
    }
    for (std::int64_t a : axes.axes) {
        auto n = normalizeAxis(a, rank);
        if (!n)
            return ctx.invalid("axis " + std::to_string(a) + " out of range");
        plan.reduced[static_cast<std::size_t>(*n)] = true;
    }
    for (std::size_t d = 0; d < x.rank(); ++d) {
        plan.keptShape.push_back(plan.reduced[d] ? 1 : x.dim(d));
        if (!plan.reduced[d])
            plan.outShape.push_back(x.dim(d));
        else if (keep)
            plan.outShape.push_back(1);
    }
    return plan;
}

template <typename T>
void reduceLoop(const Tensor &x, Tensor &out, const ReducePlan &plan, Reduce kind)
{
    std::int64_t outCount = runtime::shapeElementCount(plan.keptShape);
    std::vector<double> acc(static_cast<std::size_t>(outCount));
    std::vector<std::int64_t> counts(static_cast<std::size_t>(outCount), 0);
    double init = 0;
    if (kind == Reduce::Max)
        init = -std::numeric_limits<double>::infinity();
    else if (kind == Reduce::Min)
        init = std::numeric_limits<double>::infinity();
    else if (kind == Reduce::Prod)
        init = 1;
    std::fill(acc.begin(), acc.end(), init);
    if (kind == Reduce::LogSumExp) {
        // max per output first for stability
        std::vector<double> mx(acc.size(), -std::numeric_limits<double>::infinity());
        auto outStrides = broadcastStrides(plan.keptShape, x.shape());
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            std::int64_t rem = i, o = 0;
            for (std::size_t d = x.rank(); d-- > 0;) {
                o += (rem % x.dim(d)) * outStrides[d];
                rem /= x.dim(d);
            }
            mx[static_cast<std::size_t>(o)] =
                std::max(mx[static_cast<std::size_t>(o)], static_cast<double>(x.as<T>()[i]));
        }
        for (std::int64_t i = 0; i < x.elementCount(); ++i) {
            std::int64_t rem = i, o = 0;
            for (std::size_t d = x.rank(); d-- > 0;) {
                o += (rem % x.dim(d)) * outStrides[d];
                rem /= x.dim(d);
            }
            acc[static_cast<std::size_t>(o)] +=
                std::exp(static_cast<double>(x.as<T>()[i]) - mx[static_cast<std::size_t>(o)]);
        }
        for (std::size_t o = 0; o < acc.size(); ++o)
            out.as<T>()[o] = static_cast<T>(std::isinf(mx[o]) ? mx[o] : mx[o] + std::log(acc[o]));
        return;
    }
    auto outStrides = broadcastStrides(plan.keptShape, x.shape());
    const T *px = x.as<T>();
    for (std::int64_t i = 0; i < x.elementCount(); ++i) {
        std::int64_t rem = i, o = 0;
        for (std::size_t d = x.rank(); d-- > 0;) {
            o += (rem % x.dim(d)) * outStrides[d];
            rem /= x.dim(d);
        }
        double v = static_cast<double>(px[i]);
        double &a = acc[static_cast<std::size_t>(o)];
        switch (kind) {
        case Reduce::Sum:
        case Reduce::Mean:
        case Reduce::LogSum:
            a += v;
            break;
        case Reduce::Max:
            a = (std::isnan(v) || std::isnan(a)) ? std::numeric_limits<double>::quiet_NaN()
                                                 : std::max(a, v);
            break;
        case Reduce::Min:
            a = (std::isnan(v) || std::isnan(a)) ? std::numeric_limits<double>::quiet_NaN()
                                                 : std::min(a, v);
            break;
        case Reduce::Prod:
            a *= v;
            break;
        case Reduce::L1:
            a += std::fabs(v);
            break;
        case Reduce::L2:
        case Reduce::SumSquare:
            a += v * v;
            break;
        default:
            break;
        }
        ++counts[static_cast<std::size_t>(o)];
    }
    for (std::size_t o = 0; o < acc.size(); ++o) {
        double v = acc[o];
        if (kind == Reduce::Mean)
            v = counts[o] ? v / static_cast<double>(counts[o])
                          : std::numeric_limits<double>::quiet_NaN();
        else if (kind == Reduce::L2)
            v = std::sqrt(v);
        else if (kind == Reduce::LogSum)
            v = std::log(v);
        if constexpr (std::is_integral_v<T>) {
            if (std::isinf(v))
                v = v > 0 ? static_cast<double>(std::numeric_limits<T>::max())
                          : static_cast<double>(std::numeric_limits<T>::lowest());
        }
        out.as<T>()[o] = static_cast<T>(v);
    }
}

Status reduceKernel(KernelContext &ctx, Reduce kind, int axesInputSince)
{
    const Tensor &x = ctx.input(0);
    unsigned mask = kind == Reduce::Sum || kind == Reduce::Max || kind == Reduce::Min ||
                            kind == Reduce::Prod || kind == Reduce::SumSquare ||
                            kind == Reduce::L1 || kind == Reduce::Mean
                        ? kAllNumeric
                        : kFloats;
    if (!dispatch(x.type(), mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    if (x.elementCount() == 0 &&
        (kind == Reduce::Max || kind == Reduce::Min || kind == Reduce::Mean))
        return ctx.unsupported("reduction over an empty set");
    SB_ASSIGN_OR_RETURN(ReducePlan plan, planReduce(ctx, x, ctx.opset() >= axesInputSince));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), plan.outShape));
    if (plan.identity) {
        std::memcpy(out->data(), x.data(), x.byteSize());
        return Status::success();
    }
    dispatch(x.type(), mask, [&](auto tag) { reduceLoop<decltype(tag)>(x, *out, plan, kind); });
    return Status::success();
}

Status argKernel(KernelContext &ctx, bool isMax)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kAllNumeric, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    bool keep = ctx.node().intAttr("keepdims", 1) != 0;
    bool last = ctx.node().intAttr("select_last_index", 0) != 0;
    Shape shape;
    for (std::size_t d = 0; d < x.rank(); ++d)
        if (d != axis)
            shape.push_back(x.dim(d));
        else if (keep)
            shape.push_back(1);
    if (x.dim(axis) == 0)
        return ctx.invalid("arg reduction over an empty axis");
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, shape));
    std::int64_t n = x.dim(axis);
    std::int64_t inner = x.strides()[axis];
    std::int64_t outer = (n * inner) != 0 ? x.elementCount() / (n * inner) : 0;
    dispatch(x.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                std::int64_t best = 0;
                T bestValue = px[o * n * inner + i];
                for (std::int64_t k = 1; k < n; ++k) {
                    T v = px[(o * n + k) * inner + i];
                    bool better = isMax ? (last ? v >= bestValue : v > bestValue)
                                        : (last ? v <= bestValue : v < bestValue);
                    if (better) {
                        best = k;
                        bestValue = v;
                    }
                }
                out->as<std::int64_t>()[o * inner + i] = best;
            }
    });
    return Status::success();
}

enum class SoftKind
{
    Softmax,
    LogSoftmax,
    Hardmax
};

Status softmaxFamily(KernelContext &ctx, SoftKind kind)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    auto rank = static_cast<std::int64_t>(x.rank());
    bool legacy = ctx.opset() < 13;
    auto axisOpt = normalizeAxis(ctx.node().intAttr("axis", legacy ? 1 : -1), rank);
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    // Legacy: coerce to 2-D [outer, inner] at axis; opset 13: along one axis.
    std::int64_t n, inner, outer;
    if (legacy) {
        inner = 1;
        n = 1;
        for (std::size_t d = axis; d < x.rank(); ++d)
            n *= x.dim(d);
        outer = n ? x.elementCount() / n : 0;
    } else {
        n = x.rank() ? x.dim(axis) : 1;
        inner = x.rank() ? x.strides()[axis] : 1;
        outer = (n * inner) != 0 ? x.elementCount() / (n * inner) : 0;
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                auto at = [&](std::int64_t k) { return (o * n + k) * inner + i; };
                double mx = -std::numeric_limits<double>::infinity();
                std::int64_t arg = 0;
                for (std::int64_t k = 0; k < n; ++k)
                    if (static_cast<double>(px[at(k)]) > mx) {
                        mx = static_cast<double>(px[at(k)]);
                        arg = k;
                    }
                if (kind == SoftKind::Hardmax) {
                    for (std::int64_t k = 0; k < n; ++k)
                        po[at(k)] = k == arg ? T(1) : T(0);
                    continue;
                }
                double sum = 0;
                for (std::int64_t k = 0; k < n; ++k)
                    sum += std::exp(static_cast<double>(px[at(k)]) - mx);
                for (std::int64_t k = 0; k < n; ++k) {
                    double v = static_cast<double>(px[at(k)]) - mx;
                    po[at(k)] = static_cast<T>(kind == SoftKind::Softmax ? std::exp(v) / sum
                                                                         : v - std::log(sum));
                }
            }
    });
    return Status::success();
}

Status topKKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kAllNumeric, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    std::int64_t k = ctx.opset() < 10 ? ctx.node().intAttr("k", 0) : ctx.input(1).scalarAsInt();
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", -1), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    bool largest = ctx.node().intAttr("largest", 1) != 0;
    // sorted = 0 leaves the order open; sorted output is one valid answer.
    std::int64_t n = x.dim(axis);
    if (k < 0 || k > n)
        return ctx.invalid("k out of range");
    Shape shape = x.shape();
    shape[axis] = k;
    SB_ASSIGN_OR_RETURN(Tensor * values, ctx.allocateOutput(0, x.type(), shape));
    SB_ASSIGN_OR_RETURN(Tensor * indices, ctx.allocateOutput(1, ElementType::Int64, shape));
    std::int64_t inner = x.strides()[axis];
    std::int64_t outer = (n * inner) != 0 ? x.elementCount() / (n * inner) : 0;
    dispatch(x.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        std::vector<std::int64_t> order(static_cast<std::size_t>(n));
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                auto at = [&](std::int64_t j) { return px[(o * n + j) * inner + i]; };
                for (std::int64_t j = 0; j < n; ++j)
                    order[static_cast<std::size_t>(j)] = j;
                std::stable_sort(order.begin(), order.end(), [&](std::int64_t a, std::int64_t b) {
                    return largest ? at(a) > at(b) : at(a) < at(b);
                });
                for (std::int64_t j = 0; j < k; ++j) {
                    values->as<T>()[(o * k + j) * inner + i] =
                        at(order[static_cast<std::size_t>(j)]);
                    indices->as<std::int64_t>()[(o * k + j) * inner + i] =
                        order[static_cast<std::size_t>(j)];
                }
            }
    });
    return Status::success();
}

} // namespace

void registerReferenceReduce(KernelRegistry &r)
{
    addReference(r, "ReduceSum", [](KernelContext &c) { return reduceKernel(c, Reduce::Sum, 13); });
    addReference(r, "ReduceMean",
                 [](KernelContext &c) { return reduceKernel(c, Reduce::Mean, 18); });
    addReference(r, "ReduceMax", [](KernelContext &c) { return reduceKernel(c, Reduce::Max, 18); });
    addReference(r, "ReduceMin", [](KernelContext &c) { return reduceKernel(c, Reduce::Min, 18); });
    addReference(r, "ReduceProd",
                 [](KernelContext &c) { return reduceKernel(c, Reduce::Prod, 18); });
    addReference(r, "ReduceL1", [](KernelContext &c) { return reduceKernel(c, Reduce::L1, 18); });
    addReference(r, "ReduceL2", [](KernelContext &c) { return reduceKernel(c, Reduce::L2, 18); });
    addReference(r, "ReduceLogSum",
                 [](KernelContext &c) { return reduceKernel(c, Reduce::LogSum, 18); });
    addReference(r, "ReduceLogSumExp",
                 [](KernelContext &c) { return reduceKernel(c, Reduce::LogSumExp, 18); });
    addReference(r, "ReduceSumSquare",
                 [](KernelContext &c) { return reduceKernel(c, Reduce::SumSquare, 18); });
    addReference(r, "ArgMax", [](KernelContext &c) { return argKernel(c, true); });
    addReference(r, "ArgMin", [](KernelContext &c) { return argKernel(c, false); });
    addReference(r, "Softmax",
                 [](KernelContext &c) { return softmaxFamily(c, SoftKind::Softmax); });
    addReference(r, "LogSoftmax",
                 [](KernelContext &c) { return softmaxFamily(c, SoftKind::LogSoftmax); });
    addReference(r, "Hardmax",
                 [](KernelContext &c) { return softmaxFamily(c, SoftKind::Hardmax); });
    addReference(r, "TopK", topKKernel);
}

} // namespace sb::kernels

namespace sb::kernels {
Status referenceSoftmax(KernelContext &ctx)
{
    return softmaxFamily(ctx, SoftKind::Softmax);
}
} // namespace sb::kernels
