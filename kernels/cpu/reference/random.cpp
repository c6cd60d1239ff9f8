// Random generator ops: Bernoulli, RandomUniform(Like), RandomNormal(Like).
// With the `seed` attribute the stream is reproducible (std::mt19937_64
// seeded with the seed's bits; a session runs the same numbers every run);
// without it each run draws from std::random_device. ONNX leaves the
// generator to the implementation, so values never match another runtime's
// bit for bit (the conformance runner checks these cases by property; see
// core/runtime/conformance.h). Dropout's training mode is in shape_ops.cpp
// and draws its mask with randomEngine too.
#include "kernels/cpu/reference/random.h"

#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <bit>
#include <random>

namespace sb::kernels {

std::mt19937_64 randomEngine(const graph::Node &node)
{
    if (const graph::Attribute *seed = node.attribute("seed"))
        return std::mt19937_64(std::bit_cast<std::uint32_t>(seed->f));
    std::random_device device;
    return std::mt19937_64((static_cast<std::uint64_t>(device()) << 32) | device());
}

namespace {

// The output element type: attribute `dtype` (when set), else `fallback`.
ElementType dtypeOf(const KernelContext &ctx, ElementType fallback)
{
    const graph::Attribute *dtype = ctx.node().attribute("dtype");
    return dtype ? static_cast<ElementType>(dtype->i) : fallback;
}

// Fills `out` with draws of `sample` (a double) converted to its type.
template <typename Sample> Status fill(KernelContext &ctx, Tensor &out, Sample &&sample)
{
    const ElementType type = out.type();
    if (type == ElementType::Bool) {
        for (std::int64_t i = 0; i < out.elementCount(); ++i)
            out.as<std::uint8_t>()[i] = sample(i) != 0.0 ? 1 : 0;
        return Status::success();
    }
    if (!dispatch(type, kAllNumeric, [&](auto tag) {
            using T = decltype(tag);
            for (std::int64_t i = 0; i < out.elementCount(); ++i)
                out.as<T>()[i] = static_cast<T>(sample(i));
        }))
        return ctx.unsupported("output element type " + typeName(type));
    return Status::success();
}

// RandomUniform / RandomNormal (shape attribute) and their *Like forms
// (the input's shape; dtype defaults to the input's type).
Status randomKernel(KernelContext &ctx, bool normal, bool like)
{
    Shape shape;
    ElementType type = ElementType::Float32;
    if (like) {
        shape = ctx.input(0).shape();
        type = ctx.input(0).type();
    } else {
        shape = ctx.node().intsAttr("shape");
    }
    type = dtypeOf(ctx, type);
    if (type != ElementType::Float32 && type != ElementType::Float64)
        return ctx.unsupported("dtype " + typeName(type) + " (float and double only)");
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, type, shape));
    std::mt19937_64 rng = randomEngine(ctx.node());
    if (normal) {
        std::normal_distribution<double> dist(ctx.node().floatAttr("mean", 0.0f),
                                              ctx.node().floatAttr("scale", 1.0f));
        return fill(ctx, *out, [&](std::int64_t) { return dist(rng); });
    }
    std::uniform_real_distribution<double> dist(ctx.node().floatAttr("low", 0.0f),
                                                ctx.node().floatAttr("high", 1.0f));
    return fill(ctx, *out, [&](std::int64_t) { return dist(rng); });
}

// Bernoulli: 1 with probability x[i], else 0 (dtype defaults to x's type).
Status bernoulliKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Float32 && x.type() != ElementType::Float64)
        return ctx.unsupported("input element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, dtypeOf(ctx, x.type()), x.shape()));
    std::mt19937_64 rng = randomEngine(ctx.node());
    std::uniform_real_distribution<double> dist(0.0, 1.0);
    return fill(ctx, *out,
                [&](std::int64_t i) { return dist(rng) < x.scalarAsDouble(i) ? 1.0 : 0.0; });
}

} // namespace

void registerReferenceRandom(KernelRegistry &r)
{
    addReference(r, "Bernoulli", bernoulliKernel);
    addReference(r, "RandomUniform",
                 [](KernelContext &c) { return randomKernel(c, false, false); });
    addReference(r, "RandomNormal", [](KernelContext &c) { return randomKernel(c, true, false); });
    addReference(r, "RandomUniformLike",
                 [](KernelContext &c) { return randomKernel(c, false, true); });
    addReference(r, "RandomNormalLike",
                 [](KernelContext &c) { return randomKernel(c, true, true); });
}

} // namespace sb::kernels
