// Reference loss kernels: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss
// (reduction none/sum/mean, class weights, ignore_index, any number of
// spatial dimensions). Both are deterministic functions of their inputs, so a
// loss node in an inference graph runs like any other node.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <cmath>
#include <limits>

namespace sb::kernels {

namespace {

// input: log-probabilities [N, C, D...] (as double), target [N, D...].
// Writes the loss (shape of target for "none", a scalar otherwise) to output 0.
Status nllLoss(KernelContext &ctx, const std::vector<double> &input, const Shape &inputShape,
               const Tensor &target, const Tensor *weight, ElementType outType)
{
    if (inputShape.size() < 2)
        return ctx.invalid("input must have rank >= 2 (N, C, ...)");
    const std::int64_t n = inputShape[0];
    const std::int64_t c = inputShape[1];
    std::int64_t d = 1;
    for (std::size_t i = 2; i < inputShape.size(); ++i)
        d *= inputShape[i];
    if (target.elementCount() != n * d)
        return ctx.invalid("target shape " + runtime::shapeToString(target.shape()) +
                           " does not match input " + runtime::shapeToString(inputShape));
    if (weight && weight->elementCount() != c)
        return ctx.invalid("weight has " + std::to_string(weight->elementCount()) + " values for " +
                           std::to_string(c) + " classes");
    const std::string reduction = ctx.node().stringAttr("reduction", "mean");
    if (reduction != "none" && reduction != "sum" && reduction != "mean")
        return ctx.invalid("reduction '" + reduction + "'");
    const graph::Attribute *ignoreAttr = ctx.node().attribute("ignore_index");
    const bool hasIgnore = ignoreAttr != nullptr;
    const std::int64_t ignore = hasIgnore ? ignoreAttr->i : 0;
    std::vector<double> loss(static_cast<std::size_t>(n * d));
    double weightSum = 0;
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) {
            std::int64_t t = target.scalarAsInt(i * d + j);
            double w = 0, l = 0;
            if (!(hasIgnore && t == ignore)) {
                if (t < 0 || t >= c)
                    return ctx.invalid("target " + std::to_string(t) + " outside [0, " +
                                       std::to_string(c) + ")");
                w = weight ? weight->scalarAsDouble(t) : 1.0;
                l = -input[static_cast<std::size_t>((i * c + t) * d + j)] * w;
            }
            loss[static_cast<std::size_t>(i * d + j)] = l;
            weightSum += w;
        }
    Shape outShape;
    if (reduction == "none")
        outShape = target.shape();
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, outType, outShape));
    double total = 0;
    for (double l : loss)
        total += l;
    if (reduction == "mean")
        total = weightSum != 0 ? total / weightSum : std::numeric_limits<double>::quiet_NaN();
    dispatch(outType, kFloats, [&](auto tag) {
        using T = decltype(tag);
        if (reduction == "none")
            for (std::size_t i = 0; i < loss.size(); ++i)
                out->as<T>()[i] = static_cast<T>(loss[i]);
        else
            out->as<T>()[0] = static_cast<T>(total);
    });
    return Status::success();
}

Status checkTypes(KernelContext &ctx)
{
    if (!dispatch(ctx.input(0).type(), kFloats, [](auto) {}))
        return ctx.unsupported("element type " + typeName(ctx.input(0).type()));
    if (ctx.input(1).type() != ElementType::Int32 && ctx.input(1).type() != ElementType::Int64)
        return ctx.invalid("target element type " + typeName(ctx.input(1).type()));
    return Status::success();
}

std::vector<double> asDoubles(const Tensor &t)
{
    std::vector<double> v(static_cast<std::size_t>(t.elementCount()));
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        v[static_cast<std::size_t>(i)] = t.scalarAsDouble(i);
    return v;
}

Status nllLossKernel(KernelContext &ctx)
{
    SB_TRY(checkTypes(ctx));
    const Tensor &x = ctx.input(0);
    return nllLoss(ctx, asDoubles(x), x.shape(), ctx.input(1),
                   ctx.hasInput(2) ? &ctx.input(2) : nullptr, x.type());
}

Status softmaxCrossEntropyKernel(KernelContext &ctx)
{
    SB_TRY(checkTypes(ctx));
    const Tensor &x = ctx.input(0);
    if (x.rank() < 2)
        return ctx.invalid("scores must have rank >= 2 (N, C, ...)");
    // log_softmax over axis 1
    std::vector<double> logProb = asDoubles(x);
    const std::int64_t n = x.dim(0), c = x.dim(1);
    const std::int64_t d = n * c != 0 ? x.elementCount() / (n * c) : 0;
    for (std::int64_t i = 0; i < n; ++i)
        for (std::int64_t j = 0; j < d; ++j) {
            auto at = [&](std::int64_t k) -> double & {
                return logProb[static_cast<std::size_t>((i * c + k) * d + j)];
            };
            double mx = -std::numeric_limits<double>::infinity();
            for (std::int64_t k = 0; k < c; ++k)
                mx = std::max(mx, at(k));
            double sum = 0;
            for (std::int64_t k = 0; k < c; ++k)
                sum += std::exp(at(k) - mx);
            double lse = mx + std::log(sum);
            for (std::int64_t k = 0; k < c; ++k)
                at(k) -= lse;
        }
    SB_TRY(nllLoss(ctx, logProb, x.shape(), ctx.input(1), ctx.hasInput(2) ? &ctx.input(2) : nullptr,
                   x.type()));
    if (ctx.hasOutput(1)) {
        SB_ASSIGN_OR_RETURN(Tensor * lp, ctx.allocateOutput(1, x.type(), x.shape()));
        dispatch(x.type(), kFloats, [&](auto tag) {
            using T = decltype(tag);
            for (std::size_t i = 0; i < logProb.size(); ++i)
                lp->as<T>()[i] = static_cast<T>(logProb[i]);
        });
    }
    return Status::success();
}

} // namespace

void registerReferenceLoss(KernelRegistry &r)
{
    addReference(r, "NegativeLogLikelihoodLoss", nllLossKernel);
    addReference(r, "SoftmaxCrossEntropyLoss", softmaxCrossEntropyKernel);
    // The preview training optimizers update weights during training; an
    // inference engine does not run them, and says so by name.
    for (const char *op : {"Adagrad", "Adam", "Momentum", "Gradient"})
        addReference(
            r, op,
            [](KernelContext &c) {
                return c.unsupported("ai.onnx.preview.training." + c.node().opType +
                                     " is a training-only optimizer (weight update), not run "
                                     "for inference");
            },
            "ai.onnx.preview.training");
}

} // namespace sb::kernels
