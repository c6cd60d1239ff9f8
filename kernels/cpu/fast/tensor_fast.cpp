// Fast data-movement kernels: Transpose (4- and 8-byte elements) and Where
// (float32) with typed loops, contiguous runs copied whole and rows shared
// over the pool. The reference versions copy element by element through
// memcpy of the element size and divide indices per row; in a GPT-style
// decoder the causal-mask Where and the attention transposes cost ~10% of a
// run that way. Results are bit-identical to the reference (tolerance 0).
#include "kernels/cpu/fast/fast.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace sb::kernels {

namespace {

// Rows (all output dims but the last) per chunk: about 16K elements.
std::int64_t rowGrain(std::int64_t inner)
{
    return std::max<std::int64_t>(1, kParallelGrain / std::max<std::int64_t>(1, inner));
}

// Input offset of output row `row` (index over all output dims but the last).
std::int64_t rowOffset(std::int64_t row, const Shape &outShape,
                       const std::vector<std::int64_t> &strides)
{
    std::int64_t offset = 0;
    for (std::size_t d = outShape.size() - 1; d-- > 0;) {
        offset += (row % outShape[d]) * strides[d];
        row /= outShape[d];
    }
    return offset;
}

template <typename T>
void transposeRows(const T *in, T *out, const Shape &outShape,
                   const std::vector<std::int64_t> &strides, std::int64_t begin, std::int64_t end)
{
    const std::int64_t inner = outShape.back();
    const std::int64_t step = strides.back();
    const std::size_t rank = outShape.size();
    std::vector<std::int64_t> index(rank, 0); // odometer over the outer dims
    std::int64_t rem = begin;
    for (std::size_t d = rank - 1; d-- > 0;) {
        index[d] = rem % outShape[d];
        rem /= outShape[d];
    }
    std::int64_t offset = rowOffset(begin, outShape, strides);
    for (std::int64_t row = begin; row < end; ++row) {
        T *dst = out + row * inner;
        const T *src = in + offset;
        if (step == 1)
            std::memcpy(dst, src, static_cast<std::size_t>(inner) * sizeof(T));
        else
            for (std::int64_t i = 0; i < inner; ++i)
                dst[i] = src[i * step];
        for (std::size_t d = rank - 1; d-- > 0;) { // next row
            offset += strides[d];
            if (++index[d] < outShape[d])
                break;
            offset -= strides[d] * outShape[d];
            index[d] = 0;
        }
    }
}

Status fastTranspose(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const std::size_t bytes = graph::elementSize(x.type());
    const std::size_t rank = x.rank();
    if ((bytes != 4 && bytes != 8) || rank < 2 || x.type() == ElementType::String)
        return referenceTranspose(ctx);
    std::vector<std::int64_t> perm = ctx.node().intsAttr("perm");
    if (perm.empty())
        for (std::size_t i = 0; i < rank; ++i)
            perm.push_back(static_cast<std::int64_t>(rank - 1 - i));
    if (perm.size() != rank)
        return referenceTranspose(ctx); // reports the error
    std::vector<bool> seen(rank, false);
    for (auto &p : perm) {
        auto n = normalizeAxis(p, static_cast<std::int64_t>(rank));
        if (!n || seen[static_cast<std::size_t>(*n)])
            return referenceTranspose(ctx);
        p = *n;
        seen[static_cast<std::size_t>(*n)] = true;
    }
    Shape outShape(rank);
    std::vector<std::int64_t> strides(rank); // input stride of each output dim
    const Shape inStrides = x.strides();
    for (std::size_t d = 0; d < rank; ++d) {
        outShape[d] = x.dim(static_cast<std::size_t>(perm[d]));
        strides[d] = inStrides[static_cast<std::size_t>(perm[d])];
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), outShape));
    const std::int64_t inner = outShape.back();
    if (out->elementCount() == 0)
        return Status::success();
    const std::int64_t rows = out->elementCount() / inner;
    ctx.pool().parallelFor(rows, rowGrain(inner), [&](std::int64_t begin, std::int64_t end) {
        if (bytes == 4)
            transposeRows(static_cast<const std::uint32_t *>(x.data()),
                          static_cast<std::uint32_t *>(out->data()), outShape, strides, begin, end);
        else
            transposeRows(static_cast<const std::uint64_t *>(x.data()),
                          static_cast<std::uint64_t *>(out->data()), outShape, strides, begin, end);
    });
    return Status::success();
}

// One output row; each input either runs along it (step 1) or repeats one
// value (step 0). Every combination is its own loop so the compiler can
// vectorise it.
template <bool C, bool X, bool Y>
void whereRowOf(const std::uint8_t *__restrict c, const float *__restrict x,
                const float *__restrict y, float *__restrict out, std::int64_t n)
{
    for (std::int64_t i = 0; i < n; ++i)
        out[i] = c[C ? i : 0] ? x[X ? i : 0] : y[Y ? i : 0];
}

void whereRow(const std::uint8_t *c, const float *x, const float *y, float *out, std::int64_t n,
              std::int64_t ic, std::int64_t ix, std::int64_t iy)
{
    switch ((ic ? 4 : 0) | (ix ? 2 : 0) | (iy ? 1 : 0)) {
    case 0:
        return whereRowOf<false, false, false>(c, x, y, out, n);
    case 1:
        return whereRowOf<false, false, true>(c, x, y, out, n);
    case 2:
        return whereRowOf<false, true, false>(c, x, y, out, n);
    case 3:
        return whereRowOf<false, true, true>(c, x, y, out, n);
    case 4:
        return whereRowOf<true, false, false>(c, x, y, out, n);
    case 5:
        return whereRowOf<true, false, true>(c, x, y, out, n);
    case 6:
        return whereRowOf<true, true, false>(c, x, y, out, n);
    default:
        return whereRowOf<true, true, true>(c, x, y, out, n);
    }
}

Status fastWhere(KernelContext &ctx)
{
    const Tensor &c = ctx.input(0);
    const Tensor &x = ctx.input(1);
    const Tensor &y = ctx.input(2);
    if (c.type() != ElementType::Bool || x.type() != ElementType::Float32 ||
        y.type() != ElementType::Float32)
        return referenceWhere(ctx);
    auto s1 = broadcastShapes(c.shape(), x.shape());
    auto shape = s1 ? broadcastShapes(*s1, y.shape()) : std::nullopt;
    if (!shape || shape->empty())
        return referenceWhere(ctx); // reports bad shapes; scalars are trivial there
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), *shape));
    if (out->elementCount() == 0)
        return Status::success();
    const auto sc = broadcastStrides(c.shape(), *shape);
    const auto sx = broadcastStrides(x.shape(), *shape);
    const auto sy = broadcastStrides(y.shape(), *shape);
    const auto *pc = c.as<std::uint8_t>();
    const float *px = x.as<float>();
    const float *py = y.as<float>();
    float *po = out->as<float>();
    const std::int64_t inner = shape->back();
    const std::int64_t rows = out->elementCount() / inner;
    const std::int64_t ic = sc.back(), ix = sx.back(), iy = sy.back();
    ctx.pool().parallelFor(rows, rowGrain(inner), [&](std::int64_t begin, std::int64_t end) {
        for (std::int64_t r = begin; r < end; ++r) {
            const std::uint8_t *rc = pc + rowOffset(r, *shape, sc);
            const float *rx = px + rowOffset(r, *shape, sx);
            const float *ry = py + rowOffset(r, *shape, sy);
            float *ro = po + r * inner;
            whereRow(rc, rx, ry, ro, inner, ic, ix, iy);
        }
    });
    return Status::success();
}

} // namespace

void registerFastTensorOps(KernelRegistry &r)
{
    addFast(r, "Transpose", fastTranspose, {0, 0});
    addFast(r, "Where", fastWhere, {0, 0});
}

} // namespace sb::kernels
