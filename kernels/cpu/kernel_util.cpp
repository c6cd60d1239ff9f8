#include "kernels/cpu/kernel_util.h"

#include <algorithm>

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

Result<SliceBox> sliceBox(KernelContext &ctx, const Shape &shapeIn)
{
    auto rank = static_cast<std::int64_t>(shapeIn.size());
    std::vector<std::int64_t> starts, ends, axes, steps;
    if (ctx.opset() < 10) {
        starts = ctx.node().intsAttr("starts");
        ends = ctx.node().intsAttr("ends");
        axes = ctx.node().intsAttr("axes");
    } else {
        starts = ctx.input(1).toInt64Vector();
        ends = ctx.input(2).toInt64Vector();
        if (ctx.hasInput(3))
            axes = ctx.input(3).toInt64Vector();
        if (ctx.hasInput(4))
            steps = ctx.input(4).toInt64Vector();
    }
    if (axes.empty())
        for (std::size_t i = 0; i < starts.size(); ++i)
            axes.push_back(static_cast<std::int64_t>(i));
    if (steps.empty())
        steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() ||
        steps.size() != starts.size())
        return ctx.invalid("starts/ends/axes/steps lengths differ");
    SliceBox box;
    box.begin.assign(shapeIn.size(), 0);
    box.step.assign(shapeIn.size(), 1);
    box.shape = shapeIn;
    for (std::size_t i = 0; i < starts.size(); ++i) {
        auto axisOpt = normalizeAxis(axes[i], rank);
        if (!axisOpt)
            return ctx.invalid("axis out of range");
        auto a = static_cast<std::size_t>(*axisOpt);
        std::int64_t dim = shapeIn[a];
        std::int64_t s = steps[i];
        if (s == 0)
            return ctx.invalid("step 0");
        std::int64_t st = starts[i], en = ends[i];
        if (st < 0)
            st += dim;
        if (en < 0)
            en += dim;
        if (s > 0) {
            st = std::clamp<std::int64_t>(st, 0, dim);
            en = std::clamp<std::int64_t>(en, 0, dim);
            box.shape[a] = en > st ? (en - st + s - 1) / s : 0;
        } else {
            st = std::clamp<std::int64_t>(st, 0, dim - 1);
            en = std::clamp<std::int64_t>(en, -1, dim - 1);
            box.shape[a] = st > en ? (st - en - s - 1) / (-s) : 0;
        }
        box.begin[a] = st;
        box.step[a] = s;
    }
    return box;
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

void addValueReference(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn)
{
    runtime::KernelInfo info;
    info.opType = op;
    info.variant = runtime::KernelVariant::Reference;
    info.fn = std::move(fn);
    info.nonTensorValues = true;
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
