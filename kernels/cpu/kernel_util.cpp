#include "kernels/cpu/kernel_util.h"

namespace sb::kernels {

std::string typeName(ElementType type)
{
    return graph::elementTypeName(type);
}

std::optional<std::int64_t> normalizeAxis(std::int64_t axis, std::int64_t rank)
{
    if (axis < -rank || axis >= std::max<std::int64_t>(rank, 1))
        return std::nullopt;
    return axis < 0 ? axis + rank : axis;
}

AxesArg axesFrom(KernelContext &ctx, std::size_t inputIndex, const char *attribute)
{
    AxesArg result;
    if (const graph::Attribute *attr = ctx.node().attribute(attribute)) {
        result.axes = attr->ints;
        result.present = true;
    }
    if (ctx.hasInput(inputIndex)) {
        result.axes = ctx.input(inputIndex).toInt64Vector();
        result.present = true;
    }
    return result;
}

std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b)
{
    std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        std::int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        std::int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        if (da == db || db == 1)
            out[i] = da;
        else if (da == 1)
            out[i] = db;
        else
            return std::nullopt;
    }
    return out;
}

std::vector<std::int64_t> broadcastStrides(const Shape &in, const Shape &out)
{
    std::vector<std::int64_t> strides(out.size(), 0);
    std::int64_t stride = 1;
    for (std::size_t k = 0; k < in.size(); ++k) {
        std::size_t i = in.size() - 1 - k;
        std::size_t o = out.size() - 1 - k;
        strides[o] = in[i] == 1 ? 0 : stride;
        stride *= in[i];
    }
    return strides;
}

void addReference(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn,
                  const std::string &domain)
{
    runtime::KernelInfo info;
    info.opType = op;
    info.domain = domain;
    info.variant = runtime::KernelVariant::Reference;
    info.fn = std::move(fn);
    registry.add(std::move(info));
}

void addFast(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn,
             runtime::Tolerance tolerance, const std::string &domain)
{
    runtime::KernelInfo info;
    info.opType = op;
    info.domain = domain;
    info.variant = runtime::KernelVariant::Fast;
    info.fn = std::move(fn);
    info.tolerance = tolerance;
    registry.add(std::move(info));
}

} // namespace sb::kernels
