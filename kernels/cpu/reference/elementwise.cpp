// Reference elementwise kernels: arithmetic, comparison, logic, unary math,
// activations, variadic Sum/Mean/Max/Min, Where, Clip, Cast, CastLike.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <cmath>
#include <limits>

namespace sb::kernels {

namespace {

template <typename Out, typename A, typename B, typename Op>
void applyRow(Out *o, const A *a, const B *b, std::int64_t n, std::int64_t as, std::int64_t bs,
              Op &op)
{
    if (as && bs)
        for (std::int64_t i = 0; i < n; ++i)
            o[i] = static_cast<Out>(op(a[i], b[i]));
    else if (as)
        for (std::int64_t i = 0; i < n; ++i)
            o[i] = static_cast<Out>(op(a[i], b[0]));
    else if (bs)
        for (std::int64_t i = 0; i < n; ++i)
            o[i] = static_cast<Out>(op(a[0], b[i]));
    else
        for (std::int64_t i = 0; i < n; ++i)
            o[i] = static_cast<Out>(op(a[0], b[0]));
}

// out[T] = op(a[T], b[T]) with broadcasting; OutT = T unless `boolOut`.
template <bool BoolOut, typename Op>
Status binaryOn(KernelContext &ctx, const Tensor &a, const Tensor &b, unsigned mask, Op op,
                bool allowBool)
{
    if (a.type() != b.type())
        return ctx.unsupported("mixed element types " + typeName(a.type()) + " and " +
                               typeName(b.type()));
    auto shape = broadcastShapes(a.shape(), b.shape());
    if (!shape)
        return ctx.invalid("shapes " + runtime::shapeToString(a.shape()) + " and " +
                           runtime::shapeToString(b.shape()) + " do not broadcast");
    ElementType outType = BoolOut ? ElementType::Bool : a.type();
    ElementType dispatchType = a.type();
    if (a.type() == ElementType::Bool) {
        if (!allowBool)
            return ctx.unsupported("element type bool");
        dispatchType = ElementType::UInt8;
    }
    bool supported = dispatch(dispatchType, mask, [](auto) {});
    if (!supported)
        return ctx.unsupported("element type " + typeName(a.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, outType, *shape));
    dispatch(dispatchType, mask, [&](auto tag) {
        using T = decltype(tag);
        using O = std::conditional_t<BoolOut, std::uint8_t, T>;
        const T *pa = a.as<T>();
        const T *pb = b.as<T>();
        O *po = out->as<O>();
        forEachBroadcastRow(
            ctx, *shape, a.shape(), b.shape(),
            [&](std::int64_t o, std::int64_t ao, std::int64_t bo, std::int64_t n, std::int64_t as,
                std::int64_t bs) { applyRow(po + o, pa + ao, pb + bo, n, as, bs, op); });
    });
    return Status::success();
}

template <bool BoolOut, typename Op>
Status binary(KernelContext &ctx, unsigned mask, Op op, bool allowBool = false)
{
    return binaryOn<BoolOut>(ctx, ctx.input(0), ctx.input(1), mask, op, allowBool);
}

template <typename T> bool hasZero(const Tensor &t)
{
    const T *p = t.as<T>();
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        if (p[i] == T(0))
            return true;
    return false;
}

Status divisionCheck(KernelContext &ctx)
{
    const Tensor &b = ctx.input(1);
    bool zero = false;
    dispatch(b.type(), kSignedInts | kUnsignedInts,
             [&](auto tag) { zero = hasZero<decltype(tag)>(b); });
    if (zero)
        return ctx.invalid("integer division by zero");
    return Status::success();
}

Status addKernel(KernelContext &ctx)
{
    return binary<false>(ctx, kAllNumeric, [](auto x, auto y) { return x + y; });
}
Status subKernel(KernelContext &ctx)
{
    return binary<false>(ctx, kAllNumeric, [](auto x, auto y) { return x - y; });
}
Status mulKernel(KernelContext &ctx)
{
    return binary<false>(ctx, kAllNumeric, [](auto x, auto y) { return x * y; });
}
Status divKernel(KernelContext &ctx)
{
    SB_TRY(divisionCheck(ctx));
    return binary<false>(ctx, kAllNumeric, [](auto x, auto y) { return x / y; });
}

Status modKernel(KernelContext &ctx)
{
    bool fmod = ctx.node().intAttr("fmod", 0) != 0;
    const Tensor &a = ctx.input(0);
    bool isFloat = a.type() == ElementType::Float32 || a.type() == ElementType::Float64;
    if (isFloat && !fmod)
        return ctx.invalid("fmod must be 1 for floating point inputs");
    SB_TRY(divisionCheck(ctx));
    if (fmod)
        return binary<false>(ctx, kAllNumeric, [](auto x, auto y) {
            using T = decltype(x);
            if constexpr (std::is_floating_point_v<T>)
                return std::fmod(x, y);
            else
                return static_cast<T>(x % y);
        });
    return binary<false>(ctx, kSignedInts | kUnsignedInts, [](auto x, auto y) {
        using T = decltype(x);
        if constexpr (std::is_integral_v<T>) {
            T r = static_cast<T>(x % y);
            if constexpr (std::is_signed_v<T>)
                if (r != 0 && ((r < 0) != (y < 0)))
                    r = static_cast<T>(r + y);
            return r;
        } else {
            return x;
        }
    });
}

Status powKernel(KernelContext &ctx)
{
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    auto shape = broadcastShapes(a.shape(), b.shape());
    if (!shape)
        return ctx.invalid("shapes do not broadcast");
    if (a.type() == b.type() &&
        (a.type() == ElementType::Float32 || a.type() == ElementType::Float64))
        return binary<false>(ctx, kFloats, [](auto x, auto y) {
            using T = decltype(x);
            if (y == T(2))
                return static_cast<T>(x * x);
            return static_cast<T>(std::pow(x, y));
        });
    // Mixed types: compute in double, cast to the base's type.
    bool okA = dispatch(a.type(), kFloats | kSignedInts, [](auto) {});
    bool okB = dispatch(b.type(), kAllNumeric, [](auto) {});
    if (!okA || !okB)
        return ctx.unsupported("element types " + typeName(a.type()) + " ^ " + typeName(b.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, a.type(), *shape));
    auto sa = broadcastStrides(a.shape(), *shape);
    auto sb = broadcastStrides(b.shape(), *shape);
    std::int64_t count = out->elementCount();
    Tensor outRef = *out;
    for (std::int64_t i = 0; i < count; ++i) {
        std::int64_t rem = i, ia = 0, ib = 0;
        for (std::size_t d = shape->size(); d-- > 0;) {
            std::int64_t c = rem % (*shape)[d];
            rem /= (*shape)[d];
            ia += c * sa[d];
            ib += c * sb[d];
        }
        double v = std::pow(a.scalarAsDouble(ia), b.scalarAsDouble(ib));
        dispatch(a.type(), kFloats | kSignedInts,
                 [&](auto tag) { outRef.as<decltype(tag)>()[i] = static_cast<decltype(tag)>(v); });
    }
    return Status::success();
}

template <typename Cmp> Status compare(KernelContext &ctx, Cmp cmp, bool allowBool)
{
    return binary<true>(
        ctx, kAllNumeric, [cmp](auto x, auto y) { return cmp(x, y) ? 1 : 0; }, allowBool);
}

Status logic(KernelContext &ctx, int which)
{
    if (ctx.input(0).type() != ElementType::Bool || ctx.input(1).type() != ElementType::Bool)
        return ctx.unsupported("element type " + typeName(ctx.input(0).type()) + " (bool only)");
    return binary<true>(
        ctx, kUnsignedInts,
        [which](auto x, auto y) {
            bool a = x != 0, b = y != 0;
            return which == 0 ? (a && b) : which == 1 ? (a || b) : (a != b);
        },
        true);
}

Status bitShift(KernelContext &ctx)
{
    std::string direction = ctx.node().stringAttr("direction", "");
    if (direction != "LEFT" && direction != "RIGHT")
        return ctx.invalid("direction must be LEFT or RIGHT");
    bool left = direction == "LEFT";
    return binary<false>(ctx, kUnsignedInts, [left](auto x, auto y) {
        using T = decltype(x);
        if constexpr (std::is_integral_v<T>) {
            if (y >= static_cast<T>(sizeof(T) * 8))
                return T(0);
            return static_cast<T>(left ? (x << y) : (x >> y));
        } else {
            return x;
        }
    });
}

// Unary float op.
template <typename Op> Status unaryFloat(KernelContext &ctx, Op op)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        std::int64_t n = x.elementCount();
        auto body = [&](std::int64_t b, std::int64_t e) {
            for (std::int64_t i = b; i < e; ++i)
                po[i] = static_cast<T>(op(px[i]));
        };
        if (n >= kParallelGrain)
            ctx.pool().parallelFor(n, kParallelGrain / 4, body);
        else
            body(0, n);
    });
    return Status::success();
}

// Unary op on numeric types in mask.
template <typename Op> Status unaryNumeric(KernelContext &ctx, unsigned mask, Op op)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    dispatch(x.type(), mask, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            po[i] = static_cast<T>(op(px[i]));
    });
    return Status::success();
}

template <typename Pred> Status unaryPredicate(KernelContext &ctx, Pred pred)
{
    const Tensor &x = ctx.input(0);
    if (!dispatch(x.type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Bool, x.shape()));
    dispatch(x.type(), kFloats, [&](auto tag) {
        using T = decltype(tag);
        for (std::int64_t i = 0; i < x.elementCount(); ++i)
            out->as<std::uint8_t>()[i] = pred(x.as<T>()[i]) ? 1 : 0;
    });
    return Status::success();
}

Status notKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Bool)
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Bool, x.shape()));
    for (std::int64_t i = 0; i < x.elementCount(); ++i)
        out->as<std::uint8_t>()[i] = x.as<std::uint8_t>()[i] ? 0 : 1;
    return Status::success();
}

// Variadic Sum/Mean/Max/Min.
template <typename Op> Status variadic(KernelContext &ctx, unsigned mask, Op op, bool mean)
{
    std::vector<const Tensor *> ins;
    for (std::size_t i = 0; i < ctx.inputCount(); ++i)
        if (ctx.hasInput(i))
            ins.push_back(&ctx.input(i));
    if (ins.empty())
        return ctx.invalid("needs at least one input");
    Shape shape = ins[0]->shape();
    for (const Tensor *t : ins) {
        if (t->type() != ins[0]->type())
            return ctx.unsupported("mixed element types");
        auto s = broadcastShapes(shape, t->shape());
        if (!s)
            return ctx.invalid("input shapes do not broadcast");
        shape = *s;
    }
    if (!dispatch(ins[0]->type(), mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(ins[0]->type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ins[0]->type(), shape));
    dispatch(ins[0]->type(), mask, [&](auto tag) {
        using T = decltype(tag);
        T *po = out->as<T>();
        // out = broadcast(ins[0])
        {
            const T *p0 = ins[0]->as<T>();
            forEachBroadcastRow(ctx, shape, ins[0]->shape(), shape,
                                [&](std::int64_t o, std::int64_t ao, std::int64_t, std::int64_t n,
                                    std::int64_t as, std::int64_t) {
                                    for (std::int64_t i = 0; i < n; ++i)
                                        po[o + i] = p0[ao + i * as];
                                });
        }
        for (std::size_t k = 1; k < ins.size(); ++k) {
            const T *pk = ins[k]->as<T>();
            forEachBroadcastRow(ctx, shape, shape, ins[k]->shape(),
                                [&](std::int64_t o, std::int64_t, std::int64_t bo, std::int64_t n,
                                    std::int64_t, std::int64_t bs) {
                                    for (std::int64_t i = 0; i < n; ++i)
                                        po[o + i] = static_cast<T>(op(po[o + i], pk[bo + i * bs]));
                                });
        }
        if (mean)
            for (std::int64_t i = 0; i < out->elementCount(); ++i)
                po[i] = static_cast<T>(po[i] / static_cast<T>(ins.size()));
    });
    return Status::success();
}

template <typename T> T nanMax(T a, T b)
{
    if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(a) || std::isnan(b))
            return std::numeric_limits<T>::quiet_NaN();
    return a > b ? a : b;
}
template <typename T> T nanMin(T a, T b)
{
    if constexpr (std::is_floating_point_v<T>)
        if (std::isnan(a) || std::isnan(b))
            return std::numeric_limits<T>::quiet_NaN();
    return a < b ? a : b;
}

Status whereKernel(KernelContext &ctx)
{
    const Tensor &c = ctx.input(0);
    const Tensor &x = ctx.input(1);
    const Tensor &y = ctx.input(2);
    if (c.type() != ElementType::Bool)
        return ctx.invalid("condition must be bool");
    if (x.type() != y.type())
        return ctx.invalid("X and Y element types differ");
    std::size_t bytes = graph::elementSize(x.type());
    if (bytes == 0)
        return ctx.unsupported("element type " + typeName(x.type()));
    auto s1 = broadcastShapes(c.shape(), x.shape());
    auto shape = s1 ? broadcastShapes(*s1, y.shape()) : std::nullopt;
    if (!shape)
        return ctx.invalid("shapes do not broadcast");
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), *shape));
    auto sc = broadcastStrides(c.shape(), *shape);
    auto sx = broadcastStrides(x.shape(), *shape);
    auto sy = broadcastStrides(y.shape(), *shape);
    const auto *pc = c.as<std::uint8_t>();
    const auto *px = static_cast<const char *>(x.data());
    const auto *py = static_cast<const char *>(y.data());
    auto *po = static_cast<char *>(out->data());
    std::int64_t count = out->elementCount();
    std::int64_t inner = shape->empty() ? 1 : shape->back();
    std::int64_t rows = inner ? count / inner : 0;
    std::int64_t ic = shape->empty() ? 0 : sc.back(), ix = shape->empty() ? 0 : sx.back(),
                 iy = shape->empty() ? 0 : sy.back();
    for (std::int64_t r = 0; r < rows; ++r) {
        std::int64_t rem = r, oc = 0, ox = 0, oy = 0;
        for (std::size_t d = shape->size() - 1; d-- > 0;) {
            std::int64_t k = rem % (*shape)[d];
            rem /= (*shape)[d];
            oc += k * sc[d];
            ox += k * sx[d];
            oy += k * sy[d];
        }
        for (std::int64_t i = 0; i < inner; ++i) {
            const char *src = pc[oc + i * ic]
                                  ? px + (ox + i * ix) * static_cast<std::int64_t>(bytes)
                                  : py + (oy + i * iy) * static_cast<std::int64_t>(bytes);
            std::memcpy(po + (r * inner + i) * static_cast<std::int64_t>(bytes), src, bytes);
        }
    }
    return Status::success();
}

Status clipKernel(KernelContext &ctx)
{
    double lo = -std::numeric_limits<double>::infinity();
    double hi = std::numeric_limits<double>::infinity();
    if (ctx.opset() < 11) {
        lo = ctx.node().floatAttr("min", -std::numeric_limits<float>::max());
        hi = ctx.node().floatAttr("max", std::numeric_limits<float>::max());
    } else {
        if (ctx.hasInput(1)) {
            if (ctx.input(1).elementCount() != 1)
                return ctx.invalid("min must be a scalar");
            lo = ctx.input(1).scalarAsDouble();
        }
        if (ctx.hasInput(2)) {
            if (ctx.input(2).elementCount() != 1)
                return ctx.invalid("max must be a scalar");
            hi = ctx.input(2).scalarAsDouble();
        }
    }
    return unaryNumeric(ctx, kAllNumeric, [lo, hi](auto v) {
        using T = decltype(v);
        if constexpr (std::is_floating_point_v<T>) {
            if (std::isnan(v))
                return v;
        }
        double d = static_cast<double>(v);
        if (d < lo)
            return static_cast<T>(lo);
        if (d > hi)
            return static_cast<T>(hi);
        return v;
    });
}

bool castable(ElementType t)
{
    switch (t) {
    case ElementType::Float32:
    case ElementType::Float64:
    case ElementType::Float16:
    case ElementType::BFloat16:
    case ElementType::Int64:
    case ElementType::Int32:
    case ElementType::Int16:
    case ElementType::Int8:
    case ElementType::UInt8:
    case ElementType::UInt16:
    case ElementType::UInt32:
    case ElementType::UInt64:
    case ElementType::Bool:
        return true;
    default:
        return false;
    }
}

// Reads element i as double, or as exact int64/uint64 for integers.
struct Scalar
{
    double f = 0;
    std::int64_t i = 0;
    std::uint64_t u = 0;
    int kind = 0; // 0 float, 1 signed, 2 unsigned
};

Scalar readScalar(const Tensor &t, std::int64_t i)
{
    Scalar s;
    switch (t.type()) {
    case ElementType::Int64:
    case ElementType::Int32:
    case ElementType::Int16:
    case ElementType::Int8:
        s.kind = 1;
        s.i = t.scalarAsInt(i);
        break;
    case ElementType::UInt64:
        s.kind = 2;
        s.u = t.as<std::uint64_t>()[i];
        break;
    case ElementType::UInt32:
    case ElementType::UInt16:
    case ElementType::UInt8:
    case ElementType::Bool:
        s.kind = 2;
        s.u = static_cast<std::uint64_t>(t.scalarAsInt(i));
        break;
    default:
        s.kind = 0;
        s.f = t.scalarAsDouble(i);
    }
    return s;
}

template <typename T> T castScalar(const Scalar &s)
{
    if (s.kind == 1)
        return static_cast<T>(s.i);
    if (s.kind == 2)
        return static_cast<T>(s.u);
    if constexpr (std::is_integral_v<T>) {
        if (std::isnan(s.f))
            return T(0);
        double lo = static_cast<double>(std::numeric_limits<T>::lowest());
        double hi = static_cast<double>(std::numeric_limits<T>::max());
        double v = std::trunc(s.f);
        if (v < lo || v > hi) // out of range: wrap like a C cast through int64
            return static_cast<T>(static_cast<std::int64_t>(std::clamp(v, -9.2e18, 9.2e18)));
        return static_cast<T>(v);
    } else {
        return static_cast<T>(s.f);
    }
}

Status castTo(KernelContext &ctx, ElementType to)
{
    const Tensor &x = ctx.input(0);
    if (!castable(x.type()))
        return ctx.unsupported("cast from element type " + typeName(x.type()));
    if (!castable(to))
        return ctx.unsupported("cast to element type " + typeName(to));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, to, x.shape()));
    if (to == x.type()) {
        std::memcpy(out->data(), x.data(), x.byteSize());
        return Status::success();
    }
    std::int64_t n = x.elementCount();
    for (std::int64_t i = 0; i < n; ++i) {
        Scalar s = readScalar(x, i);
        switch (to) {
        case ElementType::Bool: {
            bool v = s.kind == 0 ? s.f != 0 : (s.kind == 1 ? s.i != 0 : s.u != 0);
            out->as<std::uint8_t>()[i] = v ? 1 : 0;
            break;
        }
        case ElementType::Float16:
            out->as<std::uint16_t>()[i] = runtime::floatToHalf(castScalar<float>(s));
            break;
        case ElementType::BFloat16:
            out->as<std::uint16_t>()[i] = runtime::floatToBfloat16(castScalar<float>(s));
            break;
        default:
            dispatch(to, kAllNumeric, [&](auto tag) {
                using T = decltype(tag);
                if (s.kind == 0 && x.type() == ElementType::Float64 && std::is_same_v<T, float>)
                    out->as<T>()[i] = static_cast<T>(x.as<double>()[i]);
                else
                    out->as<T>()[i] = castScalar<T>(s);
            });
        }
    }
    return Status::success();
}

Status castKernel(KernelContext &ctx)
{
    // bfloat16 both ways: float -> bfloat16 rounds to nearest even (the spec).
    return castTo(ctx, static_cast<ElementType>(ctx.node().intAttr("to", 0)));
}

Status castLikeKernel(KernelContext &ctx)
{
    return castTo(ctx, ctx.input(1).type());
}

double erfGelu(double x)
{
    return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
}

Status preluKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &slope = ctx.input(1);
    // Opset < 7: a 1-D slope of C values applies along the channel axis.
    if (ctx.opset() < 7 && slope.rank() == 1 && x.rank() > 2 && slope.dim(0) == x.dim(1) &&
        slope.dim(0) != x.shape().back()) {
        Shape channel(x.rank() - 1, 1);
        channel[0] = slope.dim(0);
        Tensor reshaped = slope.reshaped(channel);
        return binaryOn<false>(
            ctx, x, reshaped, kFloats | kSignedInts,
            [](auto v, auto s) { return v < 0 ? v * s : v; }, false);
    }
    return binary<false>(ctx, kFloats | kSignedInts,
                         [](auto v, auto s) { return v < 0 ? v * s : v; });
}

} // namespace

Status referenceGelu(KernelContext &c)
{
    return unaryFloat(c, [](auto x) { return static_cast<decltype(x)>(erfGelu(x)); });
}

Status referenceWhere(KernelContext &c)
{
    return whereKernel(c);
}

Status referenceRelu(KernelContext &c)
{
    return unaryNumeric(c, kFloats | kSignedInts,
                        [](auto x) { return x > 0 ? x : decltype(x)(0); });
}

void registerReferenceElementwise(KernelRegistry &r)
{
    addReference(r, "Add", addKernel);
    addReference(r, "Sub", subKernel);
    addReference(r, "Mul", mulKernel);
    addReference(r, "Div", divKernel);
    addReference(r, "Mod", modKernel);
    addReference(r, "Pow", powKernel);
    addReference(r, "BitShift", bitShift);
    addReference(r, "Equal", [](KernelContext &c) {
        return compare(
            c, [](auto a, auto b) { return a == b; }, true);
    });
    addReference(r, "Less", [](KernelContext &c) {
        return compare(
            c, [](auto a, auto b) { return a < b; }, false);
    });
    addReference(r, "LessOrEqual", [](KernelContext &c) {
        return compare(
            c, [](auto a, auto b) { return a <= b; }, false);
    });
    addReference(r, "Greater", [](KernelContext &c) {
        return compare(
            c, [](auto a, auto b) { return a > b; }, false);
    });
    addReference(r, "GreaterOrEqual", [](KernelContext &c) {
        return compare(
            c, [](auto a, auto b) { return a >= b; }, false);
    });
    addReference(r, "And", [](KernelContext &c) { return logic(c, 0); });
    addReference(r, "Or", [](KernelContext &c) { return logic(c, 1); });
    addReference(r, "Xor", [](KernelContext &c) { return logic(c, 2); });
    addReference(r, "Not", notKernel);

    addReference(r, "Sum", [](KernelContext &c) {
        return variadic(
            c, kAllNumeric, [](auto a, auto b) { return a + b; }, false);
    });
    addReference(r, "Mean", [](KernelContext &c) {
        return variadic(
            c, kFloats, [](auto a, auto b) { return a + b; }, true);
    });
    addReference(r, "Max", [](KernelContext &c) {
        return variadic(
            c, kAllNumeric, [](auto a, auto b) { return nanMax(a, b); }, false);
    });
    addReference(r, "Min", [](KernelContext &c) {
        return variadic(
            c, kAllNumeric, [](auto a, auto b) { return nanMin(a, b); }, false);
    });
    addReference(r, "Where", whereKernel);
    addReference(r, "Clip", clipKernel);
    addReference(r, "Cast", castKernel);
    addReference(r, "CastLike", castLikeKernel);

    // Unary math on floats.
    addReference(r, "Sqrt", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::sqrt(x); });
    });
    addReference(r, "Exp", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::exp(x); });
    });
    addReference(r, "Log", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::log(x); });
    });
    addReference(r, "Sin", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::sin(x); });
    });
    addReference(r, "Cos", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::cos(x); });
    });
    addReference(r, "Tan", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::tan(x); });
    });
    addReference(r, "Asin", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::asin(x); });
    });
    addReference(r, "Acos", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::acos(x); });
    });
    addReference(r, "Atan", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::atan(x); });
    });
    addReference(r, "Sinh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::sinh(x); });
    });
    addReference(r, "Cosh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::cosh(x); });
    });
    addReference(r, "Asinh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::asinh(x); });
    });
    addReference(r, "Acosh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::acosh(x); });
    });
    addReference(r, "Atanh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::atanh(x); });
    });
    addReference(r, "Tanh", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::tanh(x); });
    });
    addReference(r, "Erf", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::erf(x); });
    });
    addReference(r, "Floor", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::floor(x); });
    });
    addReference(r, "Ceil", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::ceil(x); });
    });
    addReference(r, "Round", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return std::nearbyint(x); });
    });
    addReference(r, "Reciprocal", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return decltype(x)(1) / x; });
    });
    addReference(r, "Sigmoid", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) {
            using T = decltype(x);
            return x >= 0 ? T(1) / (T(1) + std::exp(-x)) : std::exp(x) / (T(1) + std::exp(x));
        });
    });
    addReference(r, "Softplus", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return x > 20 ? x : std::log1p(std::exp(x)); });
    });
    addReference(r, "Softsign", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) { return x / (decltype(x)(1) + std::fabs(x)); });
    });
    addReference(r, "Gelu", referenceGelu, "sb");
    addReference(r, "Elu", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 1.0f);
        return unaryFloat(c, [alpha](auto x) {
            return x >= 0 ? x
                          : static_cast<decltype(x)>(alpha * std::expm1(static_cast<double>(x)));
        });
    });
    addReference(r, "Celu", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 1.0f);
        return unaryFloat(c, [alpha](auto x) {
            double v = static_cast<double>(x);
            return static_cast<decltype(x)>(std::max(0.0, v) +
                                            std::min(0.0, alpha * std::expm1(v / alpha)));
        });
    });
    addReference(r, "Selu", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 1.67326319217681884765625f);
        double gamma = c.node().floatAttr("gamma", 1.05070102214813232421875f);
        return unaryFloat(c, [alpha, gamma](auto x) {
            double v = static_cast<double>(x);
            return static_cast<decltype(x)>(v > 0 ? gamma * v : gamma * alpha * std::expm1(v));
        });
    });
    addReference(r, "LeakyRelu", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 0.01f);
        return unaryFloat(
            c, [alpha](auto x) { return x >= 0 ? x : static_cast<decltype(x)>(alpha * x); });
    });
    addReference(r, "ThresholdedRelu", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 1.0f);
        return unaryFloat(
            c, [alpha](auto x) { return static_cast<double>(x) > alpha ? x : decltype(x)(0); });
    });
    addReference(r, "HardSigmoid", [](KernelContext &c) {
        double alpha = c.node().floatAttr("alpha", 0.2f);
        double beta = c.node().floatAttr("beta", 0.5f);
        return unaryFloat(c, [alpha, beta](auto x) {
            return static_cast<decltype(x)>(
                std::clamp(alpha * static_cast<double>(x) + beta, 0.0, 1.0));
        });
    });
    addReference(r, "HardSwish", [](KernelContext &c) {
        return unaryFloat(c, [](auto x) {
            double v = static_cast<double>(x);
            return static_cast<decltype(x)>(v * std::clamp(v / 6.0 + 0.5, 0.0, 1.0));
        });
    });
    addReference(r, "Shrink", [](KernelContext &c) {
        double bias = c.node().floatAttr("bias", 0.0f);
        double lambd = c.node().floatAttr("lambd", 0.5f);
        return unaryNumeric(c, kAllNumeric, [bias, lambd](auto x) {
            double v = static_cast<double>(x);
            return static_cast<decltype(x)>(v < -lambd ? v + bias : (v > lambd ? v - bias : 0.0));
        });
    });
    addReference(r, "Relu", referenceRelu);
    addReference(r, "Neg", [](KernelContext &c) {
        return unaryNumeric(c, kFloats | kSignedInts, [](auto x) { return -x; });
    });
    addReference(r, "Abs", [](KernelContext &c) {
        return unaryNumeric(c, kAllNumeric, [](auto x) {
            if constexpr (std::is_unsigned_v<decltype(x)>)
                return x;
            else
                return x < 0 ? -x : x;
        });
    });
    addReference(r, "Sign", [](KernelContext &c) {
        return unaryNumeric(c, kAllNumeric, [](auto x) {
            using T = decltype(x);
            if constexpr (std::is_floating_point_v<T>)
                if (std::isnan(x))
                    return x;
            return static_cast<T>(x > T(0) ? 1 : (x < T(0) ? -1 : 0));
        });
    });
    addReference(r, "IsNaN", [](KernelContext &c) {
        return unaryPredicate(c, [](auto x) { return std::isnan(x); });
    });
    addReference(r, "IsInf", [](KernelContext &c) {
        bool pos = c.node().intAttr("detect_positive", 1) != 0;
        bool neg = c.node().intAttr("detect_negative", 1) != 0;
        return unaryPredicate(
            c, [pos, neg](auto x) { return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg)); });
    });
    addReference(r, "PRelu", preluKernel);
}

} // namespace sb::kernels
