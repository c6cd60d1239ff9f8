// Reference data-movement and shape kernels (type-agnostic where possible):
// Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Concat, Split, Slice,
// Gather, GatherElements, GatherND, Expand, Tile, Shape, Size, Identity,
// Dropout (inference), Constant, ConstantOfShape, Range, Trilu, Pad,
// DepthToSpace, SpaceToDepth, CumSum, OneHot, EyeLike, NonZero, ScatterElements, ScatterND.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/random.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <numeric>

namespace sb::kernels {

namespace {

std::size_t elemBytes(KernelContext &ctx, const Tensor &t, Status *status)
{
    std::size_t bytes = graph::elementSize(t.type());
    if (bytes == 0)
        *status = ctx.unsupported("element type " + typeName(t.type()));
    return bytes;
}

Status copyOut(KernelContext &ctx, std::size_t index, const Tensor &src, const Shape &shape)
{
    if (graph::elementSize(src.type()) == 0)
        return ctx.unsupported("element type " + typeName(src.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(index, src.type(), shape));
    if (src.byteSize())
        std::memcpy(out->data(), src.data(), src.byteSize());
    return Status::success();
}

Status reshapeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    std::vector<std::int64_t> requested;
    if (ctx.opset() < 5)
        requested = ctx.node().intsAttr("shape");
    else
        requested = ctx.input(1).toInt64Vector();
    bool allowZero = ctx.node().intAttr("allowzero", 0) != 0;
    Shape shape(requested.size());
    std::int64_t known = 1;
    int inferred = -1;
    for (std::size_t i = 0; i < requested.size(); ++i) {
        std::int64_t d = requested[i];
        if (d == 0 && !allowZero) {
            if (i >= x.rank())
                return ctx.invalid("shape has 0 at axis " + std::to_string(i) +
                                   " beyond the input rank");
            d = x.dim(i);
        }
        if (d == -1) {
            if (inferred >= 0)
                return ctx.invalid("shape has more than one -1");
            inferred = static_cast<int>(i);
            continue;
        }
        if (d < 0)
            return ctx.invalid("negative dim in shape");
        shape[i] = d;
        known *= d;
    }
    if (inferred >= 0) {
        if (known == 0 || x.elementCount() % known)
            return ctx.invalid("cannot infer -1 reshaping " + runtime::shapeToString(x.shape()));
        shape[static_cast<std::size_t>(inferred)] = x.elementCount() / known;
    }
    if (runtime::shapeElementCount(shape) != x.elementCount())
        return ctx.invalid("cannot reshape " + runtime::shapeToString(x.shape()) + " to " +
                           runtime::shapeToString(shape));
    return copyOut(ctx, 0, x, shape);
}

Status flattenKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto rank = static_cast<std::int64_t>(x.rank());
    std::int64_t axis = ctx.node().intAttr("axis", 1);
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis > rank)
        return ctx.invalid("axis out of range");
    std::int64_t outer = 1;
    for (std::int64_t i = 0; i < axis; ++i)
        outer *= x.dim(static_cast<std::size_t>(i));
    std::int64_t inner = outer ? x.elementCount() / outer : 0;
    if (outer == 0) {
        inner = 1;
        for (std::int64_t i = axis; i < rank; ++i)
            inner *= x.dim(static_cast<std::size_t>(i));
    }
    return copyOut(ctx, 0, x, {outer, inner});
}

Status squeezeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    AxesArg axes = axesFrom(ctx, 1);
    auto rank = static_cast<std::int64_t>(x.rank());
    std::vector<bool> drop(x.rank(), false);
    if (!axes.present || axes.axes.empty()) {
        for (std::size_t i = 0; i < x.rank(); ++i)
            drop[i] = x.dim(i) == 1;
    } else {
        for (std::int64_t a : axes.axes) {
            auto n = normalizeAxis(a, rank);
            if (!n)
                return ctx.invalid("axis " + std::to_string(a) + " out of range");
            if (x.dim(static_cast<std::size_t>(*n)) != 1)
                return ctx.invalid("cannot squeeze axis " + std::to_string(a) + " of size " +
                                   std::to_string(x.dim(static_cast<std::size_t>(*n))));
            drop[static_cast<std::size_t>(*n)] = true;
        }
    }
    Shape shape;
    for (std::size_t i = 0; i < x.rank(); ++i)
        if (!drop[i])
            shape.push_back(x.dim(i));
    return copyOut(ctx, 0, x, shape);
}

Status unsqueezeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    AxesArg axes = axesFrom(ctx, 1);
    if (!axes.present)
        return ctx.invalid("axes missing");
    auto outRank = static_cast<std::int64_t>(x.rank() + axes.axes.size());
    std::vector<bool> inserted(static_cast<std::size_t>(outRank), false);
    for (std::int64_t a : axes.axes) {
        auto n = normalizeAxis(a, outRank);
        if (!n || inserted[static_cast<std::size_t>(*n)])
            return ctx.invalid("bad or repeated axis " + std::to_string(a));
        inserted[static_cast<std::size_t>(*n)] = true;
    }
    Shape shape;
    std::size_t k = 0;
    for (std::int64_t i = 0; i < outRank; ++i)
        shape.push_back(inserted[static_cast<std::size_t>(i)] ? 1 : x.dim(k++));
    return copyOut(ctx, 0, x, shape);
}

Status identityKernel(KernelContext &ctx)
{
    if (!ctx.input(0).isTensor()) { // a sequence/optional: its elements are immutable
        ctx.setOutput(0, ctx.input(0));
        return Status::success();
    }
    return copyOut(ctx, 0, ctx.input(0), ctx.input(0).shape());
}

Status dropoutKernel(KernelContext &ctx)
{
    const bool training =
        ctx.hasInput(2) && ctx.input(2).elementCount() == 1 && ctx.input(2).scalarAsInt() != 0;
    const double ratio = ctx.hasInput(1) ? ctx.input(1).scalarAsDouble() : 0.5;
    if (training && ratio != 0.0) {
        // y = mask * x / (1 - ratio), each element kept with probability 1 - ratio.
        const Tensor &x = ctx.input(0);
        if (ratio < 0.0 || ratio >= 1.0)
            return ctx.invalid("ratio must be in [0, 1)");
        if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64)
            return ctx.unsupported("training_mode on element type " + typeName(x.type()));
        SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
        Tensor *mask = nullptr;
        if (ctx.hasOutput(1)) {
            SB_ASSIGN_OR_RETURN(mask, ctx.allocateOutput(1, ElementType::Bool, x.shape()));
        }
        std::mt19937_64 rng = randomEngine(ctx.node());
        std::uniform_real_distribution<double> dist(0.0, 1.0);
        dispatch(x.type(), kFloats, [&](auto tag) {
            using T = decltype(tag);
            const T scale = static_cast<T>(1.0 / (1.0 - ratio));
            for (std::int64_t i = 0; i < x.elementCount(); ++i) {
                const bool keep = dist(rng) >= ratio;
                y->as<T>()[i] = keep ? x.as<T>()[i] * scale : T(0);
                if (mask)
                    mask->as<std::uint8_t>()[i] = keep ? 1 : 0;
            }
        });
        return Status::success();
    }
    if (ctx.opset() < 7 && ctx.node().intAttr("is_test", 0) == 0)
        return ctx.unsupported("Dropout in training mode (is_test = 0)");
    SB_TRY(copyOut(ctx, 0, ctx.input(0), ctx.input(0).shape()));
    if (ctx.hasOutput(1)) {
        SB_ASSIGN_OR_RETURN(Tensor * mask,
                            ctx.allocateOutput(1, ElementType::Bool, ctx.input(0).shape()));
        std::memset(mask->data(), 1, mask->byteSize());
    }
    return Status::success();
}

// Generic strided gather of an N-d block: used by Transpose/Slice/Expand/Tile.
// out[idx] = in[sum_d offset_d(idx_d)]: offsets[d][i] is the input element
// offset contributed by output index i along dim d.
void gatherByOffsets(const char *in, char *out, const Shape &outShape,
                     const std::vector<std::vector<std::int64_t>> &offsets, std::size_t bytes)
{
    std::int64_t count = runtime::shapeElementCount(outShape);
    if (count == 0)
        return;
    std::size_t rank = outShape.size();
    if (rank == 0) {
        std::memcpy(out, in, bytes);
        return;
    }
    std::vector<std::int64_t> idx(rank, 0);
    std::int64_t base = 0;
    for (std::size_t d = 0; d + 1 < rank; ++d)
        base += offsets[d][0];
    const auto &last = offsets[rank - 1];
    std::int64_t inner = outShape[rank - 1];
    std::int64_t rows = count / inner;
    for (std::int64_t r = 0; r < rows; ++r) {
        char *dst = out + r * inner * static_cast<std::int64_t>(bytes);
        switch (bytes) {
        case 4:
            for (std::int64_t i = 0; i < inner; ++i)
                std::memcpy(dst + i * 4, in + (base + last[static_cast<std::size_t>(i)]) * 4, 4);
            break;
        case 8:
            for (std::int64_t i = 0; i < inner; ++i)
                std::memcpy(dst + i * 8, in + (base + last[static_cast<std::size_t>(i)]) * 8, 8);
            break;
        default:
            for (std::int64_t i = 0; i < inner; ++i)
                std::memcpy(dst + i * static_cast<std::int64_t>(bytes),
                            in + (base + last[static_cast<std::size_t>(i)]) *
                                     static_cast<std::int64_t>(bytes),
                            bytes);
        }
        // advance the outer index
        for (std::size_t d = rank - 1; d-- > 0;) {
            base -= offsets[d][static_cast<std::size_t>(idx[d])];
            if (++idx[d] < outShape[d]) {
                base += offsets[d][static_cast<std::size_t>(idx[d])];
                break;
            }
            idx[d] = 0;
            base += offsets[d][0];
        }
    }
}

Status transposeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    std::size_t rank = x.rank();
    std::vector<std::int64_t> perm = ctx.node().intsAttr("perm");
    if (perm.empty()) {
        perm.resize(rank);
        for (std::size_t i = 0; i < rank; ++i)
            perm[i] = static_cast<std::int64_t>(rank - 1 - i);
    }
    if (perm.size() != rank)
        return ctx.invalid("perm has " + std::to_string(perm.size()) + " entries for rank " +
                           std::to_string(rank));
    std::vector<bool> seen(rank, false);
    for (auto &p : perm) {
        auto n = normalizeAxis(p, static_cast<std::int64_t>(rank));
        if (!n || seen[static_cast<std::size_t>(*n)])
            return ctx.invalid("perm is not a permutation");
        p = *n;
        seen[static_cast<std::size_t>(*n)] = true;
    }
    Shape shape(rank);
    Shape strides = x.strides();
    std::vector<std::vector<std::int64_t>> offsets(rank);
    for (std::size_t d = 0; d < rank; ++d) {
        shape[d] = x.dim(static_cast<std::size_t>(perm[d]));
        offsets[d].resize(static_cast<std::size_t>(shape[d]));
        for (std::int64_t i = 0; i < shape[d]; ++i)
            offsets[d][static_cast<std::size_t>(i)] =
                i * strides[static_cast<std::size_t>(perm[d])];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    gatherByOffsets(static_cast<const char *>(x.data()), static_cast<char *>(out->data()), shape,
                    offsets, bytes);
    return Status::success();
}

Status concatKernel(KernelContext &ctx)
{
    std::vector<const Tensor *> ins;
    for (std::size_t i = 0; i < ctx.inputCount(); ++i)
        if (ctx.hasInput(i))
            ins.push_back(&ctx.input(i));
    if (ins.empty())
        return ctx.invalid("no inputs");
    const Tensor &first = *ins[0];
    Status status;
    std::size_t bytes = elemBytes(ctx, first, &status);
    SB_TRY(status);
    auto rank = static_cast<std::int64_t>(first.rank());
    auto axisOpt = normalizeAxis(ctx.node().intAttr("axis", 0), rank);
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    Shape shape = first.shape();
    shape[axis] = 0;
    for (const Tensor *t : ins) {
        if (t->type() != first.type() || t->rank() != first.rank())
            return ctx.invalid("inputs differ in type or rank");
        for (std::size_t d = 0; d < first.rank(); ++d)
            if (d != axis && t->dim(d) != first.dim(d))
                return ctx.invalid("input shapes " + runtime::shapeToString(t->shape()) + " and " +
                                   runtime::shapeToString(first.shape()) + " differ off the axis");
        shape[axis] += t->dim(axis);
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, first.type(), shape));
    std::int64_t outer = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= shape[d];
    std::int64_t innerUnit = 1;
    for (std::size_t d = axis + 1; d < shape.size(); ++d)
        innerUnit *= shape[d];
    auto *dst = static_cast<char *>(out->data());
    std::int64_t outRow = shape[axis] * innerUnit * static_cast<std::int64_t>(bytes);
    std::int64_t offset = 0;
    for (const Tensor *t : ins) {
        std::int64_t row = t->dim(axis) * innerUnit * static_cast<std::int64_t>(bytes);
        const auto *src = static_cast<const char *>(t->data());
        for (std::int64_t o = 0; o < outer && row; ++o)
            std::memcpy(dst + o * outRow + offset, src + o * row, static_cast<std::size_t>(row));
        offset += row;
    }
    return Status::success();
}

Status splitKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    std::vector<std::int64_t> sizes;
    if (ctx.opset() >= 13 && ctx.hasInput(1))
        sizes = ctx.input(1).toInt64Vector();
    else if (ctx.opset() < 13)
        sizes = ctx.node().intsAttr("split");
    std::size_t parts = ctx.outputCount();
    if (sizes.empty()) {
        std::int64_t numOutputs =
            ctx.node().intAttr("num_outputs", static_cast<std::int64_t>(parts));
        if (numOutputs <= 0)
            return ctx.invalid("no outputs");
        std::int64_t chunk = (x.dim(axis) + numOutputs - 1) / numOutputs;
        if (ctx.node().attributes.count("num_outputs") == 0 && x.dim(axis) % numOutputs)
            return ctx.invalid("axis size not divisible by the number of outputs");
        std::int64_t left = x.dim(axis);
        for (std::int64_t i = 0; i < numOutputs; ++i) {
            sizes.push_back(std::min(chunk, left));
            left -= sizes.back();
        }
    }
    if (sizes.size() != parts)
        return ctx.invalid("split has " + std::to_string(sizes.size()) + " sizes for " +
                           std::to_string(parts) + " outputs");
    std::int64_t total = 0;
    for (auto s : sizes)
        total += s;
    if (total != x.dim(axis))
        return ctx.invalid("split sizes do not sum to the axis size");
    std::int64_t outer = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= x.dim(d);
    std::int64_t innerUnit = 1;
    for (std::size_t d = axis + 1; d < x.rank(); ++d)
        innerUnit *= x.dim(d);
    std::int64_t inRow = x.dim(axis) * innerUnit * static_cast<std::int64_t>(bytes);
    std::int64_t offset = 0;
    for (std::size_t p = 0; p < parts; ++p) {
        Shape shape = x.shape();
        shape[axis] = sizes[p];
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(p, x.type(), shape));
        std::int64_t row = sizes[p] * innerUnit * static_cast<std::int64_t>(bytes);
        for (std::int64_t o = 0; o < outer && row; ++o)
            std::memcpy(static_cast<char *>(out->data()) + o * row,
                        static_cast<const char *>(x.data()) + o * inRow + offset,
                        static_cast<std::size_t>(row));
        offset += row;
    }
    return Status::success();
}

Status sliceKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    SB_ASSIGN_OR_RETURN(SliceBox box, sliceBox(ctx, x.shape()));
    const std::vector<std::int64_t> &begin = box.begin, &step = box.step;
    const Shape &shape = box.shape;
    Shape strides = x.strides();
    std::vector<std::vector<std::int64_t>> offsets(x.rank());
    for (std::size_t d = 0; d < x.rank(); ++d) {
        offsets[d].resize(static_cast<std::size_t>(shape[d]));
        for (std::int64_t i = 0; i < shape[d]; ++i)
            offsets[d][static_cast<std::size_t>(i)] = (begin[d] + i * step[d]) * strides[d];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    gatherByOffsets(static_cast<const char *>(x.data()), static_cast<char *>(out->data()), shape,
                    offsets, bytes);
    return Status::success();
}

Result<std::vector<std::int64_t>> indicesOf(KernelContext &ctx, const Tensor &t, std::int64_t dim)
{
    if (t.type() != ElementType::Int64 && t.type() != ElementType::Int32)
        return ctx.unsupported("index element type " + typeName(t.type()));
    std::vector<std::int64_t> idx = t.toInt64Vector();
    for (auto &i : idx) {
        if (i < -dim || i >= dim)
            return ctx.invalid("index " + std::to_string(i) + " out of range [" +
                               std::to_string(-dim) + ", " + std::to_string(dim) + ")");
        if (i < 0)
            i += dim;
    }
    return idx;
}

Status gatherKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt || x.rank() == 0)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    SB_ASSIGN_OR_RETURN(auto idx, indicesOf(ctx, indices, x.dim(axis)));
    Shape shape;
    for (std::size_t d = 0; d < axis; ++d)
        shape.push_back(x.dim(d));
    for (auto d : indices.shape())
        shape.push_back(d);
    for (std::size_t d = axis + 1; d < x.rank(); ++d)
        shape.push_back(x.dim(d));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    std::int64_t outer = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= x.dim(d);
    std::int64_t inner = 1;
    for (std::size_t d = axis + 1; d < x.rank(); ++d)
        inner *= x.dim(d);
    std::int64_t rowBytes = inner * static_cast<std::int64_t>(bytes);
    const auto *src = static_cast<const char *>(x.data());
    auto *dst = static_cast<char *>(out->data());
    auto n = static_cast<std::int64_t>(idx.size());
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t k = 0; k < n; ++k)
            std::memcpy(dst + (o * n + k) * rowBytes,
                        src + (o * x.dim(axis) + idx[static_cast<std::size_t>(k)]) * rowBytes,
                        static_cast<std::size_t>(rowBytes));
    return Status::success();
}

Status gatherElementsKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt || indices.rank() != x.rank())
        return ctx.invalid("axis out of range or rank mismatch");
    auto axis = static_cast<std::size_t>(*axisOpt);
    SB_ASSIGN_OR_RETURN(auto idx, indicesOf(ctx, indices, x.dim(axis)));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), indices.shape()));
    Shape xs = x.strides();
    Shape is = indices.strides();
    for (std::int64_t i = 0; i < indices.elementCount(); ++i) {
        std::int64_t rem = i, off = 0;
        for (std::size_t d = 0; d < x.rank(); ++d) {
            std::int64_t c = rem / is[d];
            rem %= is[d];
            if (d != axis && c >= x.dim(d))
                return ctx.invalid("indices shape exceeds data shape");
            off += (d == axis ? idx[static_cast<std::size_t>(i)] : c) * xs[d];
        }
        std::memcpy(static_cast<char *>(out->data()) + i * static_cast<std::int64_t>(bytes),
                    static_cast<const char *>(x.data()) + off * static_cast<std::int64_t>(bytes),
                    bytes);
    }
    return Status::success();
}

Status gatherNDKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto batchDims = static_cast<std::size_t>(ctx.node().intAttr("batch_dims", 0));
    if (indices.rank() < 1 || indices.type() != ElementType::Int64)
        return ctx.unsupported("indices must be int64 of rank >= 1");
    auto k = static_cast<std::size_t>(indices.shape().back());
    if (batchDims + k > x.rank())
        return ctx.invalid("indices last dim too large");
    Shape shape(indices.shape().begin(), indices.shape().end() - 1);
    for (std::size_t d = batchDims + k; d < x.rank(); ++d)
        shape.push_back(x.dim(d));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    std::int64_t batch = 1;
    for (std::size_t d = 0; d < batchDims; ++d)
        batch *= x.dim(d);
    std::int64_t slice = 1;
    for (std::size_t d = batchDims + k; d < x.rank(); ++d)
        slice *= x.dim(d);
    Shape xs = x.strides();
    std::int64_t tuples =
        indices.elementCount() / static_cast<std::int64_t>(std::max<std::size_t>(k, 1));
    if (k == 0)
        tuples = indices.elementCount();
    std::int64_t perBatch = batch ? tuples / batch : 0;
    std::int64_t batchStride = batchDims ? xs[batchDims - 1] : 0;
    const auto *pi = indices.as<std::int64_t>();
    for (std::int64_t t = 0; t < tuples; ++t) {
        std::int64_t b = perBatch ? t / perBatch : 0;
        std::int64_t off = b * batchStride;
        for (std::size_t j = 0; j < k; ++j) {
            std::int64_t v = pi[t * static_cast<std::int64_t>(k) + static_cast<std::int64_t>(j)];
            std::int64_t dim = x.dim(batchDims + j);
            if (v < -dim || v >= dim)
                return ctx.invalid("index out of range");
            if (v < 0)
                v += dim;
            off += v * xs[batchDims + j];
        }
        std::memcpy(static_cast<char *>(out->data()) + t * slice * static_cast<std::int64_t>(bytes),
                    static_cast<const char *>(x.data()) + off * static_cast<std::int64_t>(bytes),
                    static_cast<std::size_t>(slice) * bytes);
    }
    return Status::success();
}

Status broadcastTo(KernelContext &ctx, const Tensor &x, const Shape &shape)
{
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto strides = broadcastStrides(x.shape(), shape);
    std::vector<std::vector<std::int64_t>> offsets(shape.size());
    for (std::size_t d = 0; d < shape.size(); ++d) {
        offsets[d].resize(static_cast<std::size_t>(shape[d]));
        for (std::int64_t i = 0; i < shape[d]; ++i)
            offsets[d][static_cast<std::size_t>(i)] = i * strides[d];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    gatherByOffsets(static_cast<const char *>(x.data()), static_cast<char *>(out->data()), shape,
                    offsets, bytes);
    return Status::success();
}

Status expandKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto target = ctx.input(1).toInt64Vector();
    auto shape = broadcastShapes(x.shape(), target);
    if (!shape)
        return ctx.invalid("cannot expand " + runtime::shapeToString(x.shape()) + " to " +
                           runtime::shapeToString(target));
    return broadcastTo(ctx, x, *shape);
}

Status tileKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto repeats = ctx.input(1).toInt64Vector();
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    if (repeats.size() != x.rank())
        return ctx.invalid("repeats length differs from the rank");
    Shape shape(x.rank());
    Shape strides = x.strides();
    std::vector<std::vector<std::int64_t>> offsets(x.rank());
    for (std::size_t d = 0; d < x.rank(); ++d) {
        if (repeats[d] < 0)
            return ctx.invalid("negative repeat");
        shape[d] = x.dim(d) * repeats[d];
        offsets[d].resize(static_cast<std::size_t>(shape[d]));
        for (std::int64_t i = 0; i < shape[d]; ++i)
            offsets[d][static_cast<std::size_t>(i)] = (i % x.dim(d)) * strides[d];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    gatherByOffsets(static_cast<const char *>(x.data()), static_cast<char *>(out->data()), shape,
                    offsets, bytes);
    return Status::success();
}

Status shapeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto rank = static_cast<std::int64_t>(x.rank());
    std::int64_t start = ctx.node().intAttr("start", 0);
    std::int64_t end = ctx.node().intAttr("end", rank);
    if (start < 0)
        start += rank;
    if (end < 0)
        end += rank;
    start = std::clamp<std::int64_t>(start, 0, rank);
    end = std::clamp<std::int64_t>(end, 0, rank);
    std::int64_t n = std::max<std::int64_t>(0, end - start);
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {n}));
    for (std::int64_t i = 0; i < n; ++i)
        out->as<std::int64_t>()[i] = x.dim(static_cast<std::size_t>(start + i));
    return Status::success();
}

Status sizeKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {}));
    out->as<std::int64_t>()[0] = ctx.input(0).elementCount();
    return Status::success();
}

Status constantKernel(KernelContext &ctx)
{
    const graph::Node &node = ctx.node();
    if (const graph::Attribute *a = node.attribute("value")) {
        if (!a->tensor)
            return ctx.invalid("value attribute has no tensor");
        if (a->tensor->type() == ElementType::String || graph::elementSize(a->tensor->type()) == 0)
            return ctx.unsupported("constant of element type " + typeName(a->tensor->type()));
        Tensor t = Tensor::fromTensorData(a->tensor);
        return copyOut(ctx, 0, t, t.shape());
    }
    if (const graph::Attribute *a = node.attribute("value_float")) {
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, {}));
        out->as<float>()[0] = a->f;
        return Status::success();
    }
    if (const graph::Attribute *a = node.attribute("value_floats")) {
        SB_ASSIGN_OR_RETURN(Tensor * out,
                            ctx.allocateOutput(0, ElementType::Float32,
                                               {static_cast<std::int64_t>(a->floats.size())}));
        std::copy(a->floats.begin(), a->floats.end(), out->as<float>());
        return Status::success();
    }
    if (const graph::Attribute *a = node.attribute("value_int")) {
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {}));
        out->as<std::int64_t>()[0] = a->i;
        return Status::success();
    }
    if (const graph::Attribute *a = node.attribute("value_ints")) {
        SB_ASSIGN_OR_RETURN(
            Tensor * out,
            ctx.allocateOutput(0, ElementType::Int64, {static_cast<std::int64_t>(a->ints.size())}));
        std::copy(a->ints.begin(), a->ints.end(), out->as<std::int64_t>());
        return Status::success();
    }
    return ctx.unsupported("Constant attribute form (string or sparse value)");
}

Status constantOfShapeKernel(KernelContext &ctx)
{
    Shape shape = ctx.input(0).toInt64Vector();
    for (auto d : shape)
        if (d < 0)
            return ctx.invalid("negative dim");
    Tensor value = Tensor::zeros(ElementType::Float32, {1});
    if (const graph::Attribute *a = ctx.node().attribute("value")) {
        if (!a->tensor || a->tensor->elementCount() != 1 ||
            graph::elementSize(a->tensor->type()) == 0)
            return ctx.unsupported("value attribute that is not a one-element numeric tensor");
        value = Tensor::fromTensorData(a->tensor);
    }
    std::size_t bytes = graph::elementSize(value.type());
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, value.type(), shape));
    for (std::int64_t i = 0; i < out->elementCount(); ++i)
        std::memcpy(static_cast<char *>(out->data()) + i * static_cast<std::int64_t>(bytes),
                    value.data(), bytes);
    return Status::success();
}

Status rangeKernel(KernelContext &ctx)
{
    const Tensor &start = ctx.input(0);
    const Tensor &limit = ctx.input(1);
    const Tensor &delta = ctx.input(2);
    if (start.type() != limit.type() || start.type() != delta.type())
        return ctx.invalid("start/limit/delta types differ");
    bool ok = dispatch(start.type(), kFloats | kSignedInts, [](auto) {});
    if (!ok)
        return ctx.unsupported("element type " + typeName(start.type()));
    double s = start.scalarAsDouble(), l = limit.scalarAsDouble(), d = delta.scalarAsDouble();
    if (d == 0)
        return ctx.invalid("delta is 0");
    auto n = static_cast<std::int64_t>(std::max(0.0, std::ceil((l - s) / d)));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, start.type(), {n}));
    dispatch(start.type(), kFloats | kSignedInts, [&](auto tag) {
        using T = decltype(tag);
        T v = start.as<T>()[0];
        T step = delta.as<T>()[0];
        for (std::int64_t i = 0; i < n; ++i) {
            out->as<T>()[i] = v;
            v = static_cast<T>(v + step);
        }
    });
    return Status::success();
}

Status triluKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    if (x.rank() < 2)
        return ctx.invalid("rank must be >= 2");
    std::int64_t k = ctx.hasInput(1) ? ctx.input(1).scalarAsInt() : 0;
    bool upper = ctx.node().intAttr("upper", 1) != 0;
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    std::int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    std::int64_t mats = (rows * cols) != 0 ? x.elementCount() / (rows * cols) : 0;
    const auto *src = static_cast<const char *>(x.data());
    auto *dst = static_cast<char *>(out->data());
    auto b = static_cast<std::int64_t>(bytes);
    for (std::int64_t m = 0; m < mats; ++m)
        for (std::int64_t i = 0; i < rows; ++i)
            for (std::int64_t j = 0; j < cols; ++j) {
                std::int64_t off = ((m * rows + i) * cols + j) * b;
                bool keep = upper ? (j - i >= k) : (j - i <= k);
                if (keep)
                    std::memcpy(dst + off, src + off, bytes);
                else
                    std::memset(dst + off, 0, bytes);
            }
    return Status::success();
}

Status padKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    std::string mode = ctx.node().stringAttr("mode", "constant");
    std::vector<std::int64_t> pads;
    double constant = 0;
    if (ctx.opset() < 11) {
        pads = ctx.node().intsAttr("pads");
        constant = ctx.node().floatAttr("value", 0.0f);
    } else {
        pads = ctx.input(1).toInt64Vector();
        if (ctx.hasInput(2) && ctx.input(2).elementCount() > 0)
            constant = ctx.input(2).scalarAsDouble();
        if (ctx.hasInput(3))
            return ctx.unsupported("axes input");
    }
    std::size_t rank = x.rank();
    if (pads.size() != 2 * rank)
        return ctx.invalid("pads length must be 2 * rank");
    if (mode != "constant" && mode != "reflect" && mode != "edge")
        return ctx.unsupported("mode '" + mode + "'");
    Shape shape(rank);
    for (std::size_t d = 0; d < rank; ++d) {
        shape[d] = x.dim(d) + pads[d] + pads[d + rank];
        if (shape[d] < 0)
            return ctx.invalid("negative output dim");
        if (mode != "constant" && x.dim(d) == 0 && shape[d] > 0)
            return ctx.invalid("cannot pad an empty axis in mode " + mode);
        if (mode == "reflect" && (pads[d] >= x.dim(d) || pads[d + rank] >= x.dim(d)) &&
            (pads[d] > 0 || pads[d + rank] > 0))
            return ctx.unsupported("reflect pad wider than the axis");
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    // Constant value in the tensor's type.
    std::vector<char> fill(bytes, 0);
    bool haveFill = dispatch(x.type(), kAllNumeric, [&](auto tag) {
        auto v = static_cast<decltype(tag)>(constant);
        std::memcpy(fill.data(), &v, bytes);
    });
    if (!haveFill && x.type() == ElementType::Bool)
        fill[0] = constant != 0;
    Shape xs = x.strides();
    for (std::int64_t i = 0; i < out->elementCount(); ++i) {
        std::int64_t rem = i, off = 0;
        bool outside = false;
        for (std::size_t d = rank; d-- > 0;) {
            std::int64_t c = rem % shape[d] - pads[d];
            rem /= shape[d];
            std::int64_t n = x.dim(d);
            if (c < 0 || c >= n) {
                if (mode == "constant") {
                    outside = true;
                    break;
                }
                if (mode == "edge")
                    c = c < 0 ? 0 : n - 1;
                else
                    c = c < 0 ? -c : 2 * (n - 1) - c;
            }
            off += c * xs[d];
        }
        char *dst = static_cast<char *>(out->data()) + i * static_cast<std::int64_t>(bytes);
        if (outside)
            std::memcpy(dst, fill.data(), bytes);
        else
            std::memcpy(
                dst, static_cast<const char *>(x.data()) + off * static_cast<std::int64_t>(bytes),
                bytes);
    }
    return Status::success();
}

Status depthSpace(KernelContext &ctx, bool toSpace)
{
    const Tensor &x = ctx.input(0);
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    if (x.rank() != 4)
        return ctx.invalid("input must be 4-D");
    std::int64_t bs = ctx.node().intAttr("blocksize", 0);
    if (bs <= 0)
        return ctx.invalid("blocksize must be positive");
    std::int64_t n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
    std::string mode = ctx.node().stringAttr("mode", "DCR");
    Shape inter, perm, outShape;
    if (toSpace) {
        if (c % (bs * bs))
            return ctx.invalid("channels not divisible by blocksize^2");
        std::int64_t oc = c / (bs * bs);
        if (mode == "DCR") {
            inter = {n, bs, bs, oc, h, w};
            perm = {0, 3, 4, 1, 5, 2};
        } else {
            inter = {n, oc, bs, bs, h, w};
            perm = {0, 1, 4, 2, 5, 3};
        }
        outShape = {n, oc, h * bs, w * bs};
    } else {
        if (h % bs || w % bs)
            return ctx.invalid("spatial dims not divisible by blocksize");
        inter = {n, c, h / bs, bs, w / bs, bs};
        perm = {0, 3, 5, 1, 2, 4};
        outShape = {n, c * bs * bs, h / bs, w / bs};
    }
    Tensor view = x.reshaped(inter);
    Shape strides = view.strides();
    Shape permShape(6);
    std::vector<std::vector<std::int64_t>> offsets(6);
    for (std::size_t d = 0; d < 6; ++d) {
        auto p = static_cast<std::size_t>(perm[d]);
        permShape[d] = inter[p];
        offsets[d].resize(static_cast<std::size_t>(permShape[d]));
        for (std::int64_t i = 0; i < permShape[d]; ++i)
            offsets[d][static_cast<std::size_t>(i)] = i * strides[p];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    gatherByOffsets(static_cast<const char *>(x.data()), static_cast<char *>(out->data()),
                    permShape, offsets, bytes);
    return Status::success();
}

Status cumSumKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto axisOpt = normalizeAxis(ctx.input(1).scalarAsInt(), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    bool exclusive = ctx.node().intAttr("exclusive", 0) != 0;
    bool reverse = ctx.node().intAttr("reverse", 0) != 0;
    if (!dispatch(x.type(), kAllNumeric, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), x.shape()));
    std::int64_t n = x.dim(axis);
    std::int64_t inner = x.strides()[axis];
    std::int64_t outer = (n * inner) != 0 ? x.elementCount() / (n * inner) : 0;
    dispatch(x.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        const T *px = x.as<T>();
        T *po = out->as<T>();
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t i = 0; i < inner; ++i) {
                T acc = 0;
                for (std::int64_t k = 0; k < n; ++k) {
                    std::int64_t kk = reverse ? n - 1 - k : k;
                    std::int64_t off = (o * n + kk) * inner + i;
                    if (exclusive) {
                        po[off] = acc;
                        acc = static_cast<T>(acc + px[off]);
                    } else {
                        acc = static_cast<T>(acc + px[off]);
                        po[off] = acc;
                    }
                }
            }
    });
    return Status::success();
}

Status oneHotKernel(KernelContext &ctx)
{
    const Tensor &indices = ctx.input(0);
    const Tensor &depthT = ctx.input(1);
    const Tensor &values = ctx.input(2);
    if (values.elementCount() != 2)
        return ctx.invalid("values must have 2 elements");
    auto depth = static_cast<std::int64_t>(depthT.scalarAsDouble());
    if (depth <= 0)
        return ctx.invalid("depth must be positive");
    auto rank = static_cast<std::int64_t>(indices.rank()) + 1;
    auto axisOpt = normalizeAxis(ctx.node().intAttr("axis", -1), rank);
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    auto axis = static_cast<std::size_t>(*axisOpt);
    Shape shape = indices.shape();
    shape.insert(shape.begin() + static_cast<std::ptrdiff_t>(axis), depth);
    std::size_t bytes = graph::elementSize(values.type());
    if (!bytes)
        return ctx.unsupported("values element type " + typeName(values.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, values.type(), shape));
    std::int64_t outer = 1;
    for (std::size_t d = 0; d < axis; ++d)
        outer *= shape[d];
    std::int64_t inner = indices.elementCount() / std::max<std::int64_t>(outer, 1);
    const char *off = static_cast<const char *>(values.data());
    const char *on = off + bytes;
    for (std::int64_t o = 0; o < outer; ++o)
        for (std::int64_t d = 0; d < depth; ++d)
            for (std::int64_t i = 0; i < inner; ++i) {
                auto idx = static_cast<std::int64_t>(indices.scalarAsDouble(o * inner + i));
                if (idx < 0)
                    idx += depth;
                std::memcpy(static_cast<char *>(out->data()) +
                                ((o * depth + d) * inner + i) * static_cast<std::int64_t>(bytes),
                            idx == d ? on : off, bytes);
            }
    return Status::success();
}

Status eyeLikeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.rank() != 2)
        return ctx.invalid("input must be 2-D");
    ElementType type = ctx.node().attributes.count("dtype")
                           ? static_cast<ElementType>(ctx.node().intAttr("dtype", 1))
                           : x.type();
    std::int64_t k = ctx.node().intAttr("k", 0);
    if (!dispatch(type, kAllNumeric, [](auto) {}) && type != ElementType::Bool)
        return ctx.unsupported("element type " + typeName(type));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, type, x.shape()));
    std::memset(out->data(), 0, out->byteSize());
    for (std::int64_t i = 0; i < x.dim(0); ++i) {
        std::int64_t j = i + k;
        if (j < 0 || j >= x.dim(1))
            continue;
        std::int64_t e = i * x.dim(1) + j;
        if (type == ElementType::Bool)
            out->as<std::uint8_t>()[e] = 1;
        else
            dispatch(type, kAllNumeric, [&](auto tag) { out->as<decltype(tag)>()[e] = 1; });
    }
    return Status::success();
}

Status nonZeroKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (graph::elementSize(x.type()) == 0)
        return ctx.unsupported("element type " + typeName(x.type()));
    std::vector<std::int64_t> hits;
    for (std::int64_t i = 0; i < x.elementCount(); ++i)
        if (x.scalarAsDouble(i) != 0)
            hits.push_back(i);
    auto rank = static_cast<std::int64_t>(x.rank());
    auto n = static_cast<std::int64_t>(hits.size());
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64, {rank, n}));
    Shape strides = x.strides();
    for (std::int64_t k = 0; k < n; ++k) {
        std::int64_t rem = hits[static_cast<std::size_t>(k)];
        for (std::int64_t d = 0; d < rank; ++d) {
            out->as<std::int64_t>()[d * n + k] = rem / strides[static_cast<std::size_t>(d)];
            rem %= strides[static_cast<std::size_t>(d)];
        }
    }
    return Status::success();
}

// Scatter's reduction: out[outOff + i] = combine(out[outOff + i], updates[updOff + i])
// for i < count ("none" copies; add, mul, max, min on numeric types).
void scatterCombine(Tensor &out, std::int64_t outOff, const Tensor &updates, std::int64_t updOff,
                    std::int64_t count, const std::string &reduction, std::size_t bytes)
{
    if (reduction == "none") {
        std::memcpy(static_cast<char *>(out.data()) + outOff * static_cast<std::int64_t>(bytes),
                    static_cast<const char *>(updates.data()) +
                        updOff * static_cast<std::int64_t>(bytes),
                    static_cast<std::size_t>(count) * bytes);
        return;
    }
    dispatch(out.type(), kAllNumeric, [&](auto tag) {
        using T = decltype(tag);
        T *o = out.as<T>() + outOff;
        const T *u = updates.as<T>() + updOff;
        for (std::int64_t i = 0; i < count; ++i) {
            if (reduction == "add")
                o[i] = static_cast<T>(o[i] + u[i]);
            else if (reduction == "mul")
                o[i] = static_cast<T>(o[i] * u[i]);
            else if (reduction == "max")
                o[i] = std::max(o[i], u[i]);
            else
                o[i] = std::min(o[i], u[i]);
        }
    });
}

Status checkScatterReduction(KernelContext &ctx, const std::string &reduction, ElementType type)
{
    if (reduction == "none")
        return Status::success();
    if (reduction != "add" && reduction != "mul" && reduction != "max" && reduction != "min")
        return ctx.invalid("reduction '" + reduction + "'");
    if (!dispatch(type, kAllNumeric, [](auto) {}))
        return ctx.unsupported("reduction '" + reduction + "' on element type " + typeName(type));
    return Status::success();
}

Status scatterElementsKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    const Tensor &updates = ctx.input(2);
    std::string reduction = ctx.node().stringAttr("reduction", "none");
    SB_TRY(checkScatterReduction(ctx, reduction, x.type()));
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt || indices.shape() != updates.shape() || indices.rank() != x.rank())
        return ctx.invalid("axis, indices or updates shape invalid");
    auto axis = static_cast<std::size_t>(*axisOpt);
    SB_ASSIGN_OR_RETURN(auto idx, indicesOf(ctx, indices, x.dim(axis)));
    SB_TRY(copyOut(ctx, 0, x, x.shape()));
    Tensor &out = ctx.output(0);
    Shape xs = x.strides();
    Shape is = indices.strides();
    for (std::int64_t i = 0; i < indices.elementCount(); ++i) {
        std::int64_t rem = i, off = 0;
        for (std::size_t d = 0; d < x.rank(); ++d) {
            std::int64_t c = rem / is[d];
            rem %= is[d];
            off += (d == axis ? idx[static_cast<std::size_t>(i)] : c) * xs[d];
        }
        scatterCombine(out, off, updates, i, 1, reduction, bytes);
    }
    return Status::success();
}

Status scatterNDKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    const Tensor &updates = ctx.input(2);
    std::string reduction = ctx.node().stringAttr("reduction", "none");
    SB_TRY(checkScatterReduction(ctx, reduction, x.type()));
    Status status;
    std::size_t bytes = elemBytes(ctx, x, &status);
    SB_TRY(status);
    if (indices.type() != ElementType::Int64 || indices.rank() < 1)
        return ctx.unsupported("indices type");
    auto k = static_cast<std::size_t>(indices.shape().back());
    if (k > x.rank())
        return ctx.invalid("indices last dim too large");
    SB_TRY(copyOut(ctx, 0, x, x.shape()));
    Tensor &out = ctx.output(0);
    std::int64_t slice = 1;
    for (std::size_t d = k; d < x.rank(); ++d)
        slice *= x.dim(d);
    Shape xs = x.strides();
    std::int64_t tuples = k ? indices.elementCount() / static_cast<std::int64_t>(k) : 0;
    if (updates.elementCount() != tuples * slice)
        return ctx.invalid("updates shape does not match");
    for (std::int64_t t = 0; t < tuples; ++t) {
        std::int64_t off = 0;
        for (std::size_t j = 0; j < k; ++j) {
            std::int64_t v = indices.as<std::int64_t>()[t * static_cast<std::int64_t>(k) +
                                                        static_cast<std::int64_t>(j)];
            if (v < 0)
                v += x.dim(j);
            if (v < 0 || v >= x.dim(j))
                return ctx.invalid("index out of range");
            off += v * xs[j];
        }
        scatterCombine(out, off, updates, t * slice, slice, reduction, bytes);
    }
    return Status::success();
}

} // namespace

Status referenceTranspose(KernelContext &ctx)
{
    return transposeKernel(ctx);
}

void registerReferenceShapeOps(KernelRegistry &r)
{
    addReference(r, "Reshape", reshapeKernel);
    addReference(r, "Flatten", flattenKernel);
    addReference(r, "Squeeze", squeezeKernel);
    addReference(r, "Unsqueeze", unsqueezeKernel);
    addValueReference(r, "Identity", identityKernel);
    addReference(r, "Dropout", dropoutKernel);
    addReference(r, "Transpose", transposeKernel);
    addReference(r, "Concat", concatKernel);
    addReference(r, "Split", splitKernel);
    addReference(r, "Slice", sliceKernel);
    addReference(r, "Gather", gatherKernel);
    addReference(r, "GatherElements", gatherElementsKernel);
    addReference(r, "GatherND", gatherNDKernel);
    addReference(r, "Expand", expandKernel);
    addReference(r, "Tile", tileKernel);
    addReference(r, "Shape", shapeKernel);
    addReference(r, "Size", sizeKernel);
    addReference(r, "Constant", constantKernel);
    addReference(r, "ConstantOfShape", constantOfShapeKernel);
    addReference(r, "Range", rangeKernel);
    addReference(r, "Trilu", triluKernel);
    addReference(r, "Pad", padKernel);
    addReference(r, "DepthToSpace", [](KernelContext &c) { return depthSpace(c, true); });
    addReference(r, "SpaceToDepth", [](KernelContext &c) { return depthSpace(c, false); });
    addReference(r, "CumSum", cumSumKernel);
    addReference(r, "OneHot", oneHotKernel);
    addReference(r, "EyeLike", eyeLikeKernel);
    addReference(r, "NonZero", nonZeroKernel);
    addReference(r, "ScatterElements", scatterElementsKernel);
    addReference(r, "Scatter", scatterElementsKernel); // opset 9-10 name of ScatterElements
    addReference(r, "ScatterND", scatterNDKernel);
}

} // namespace sb::kernels
