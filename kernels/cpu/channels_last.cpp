#include "kernels/cpu/channels_last.h"

#include <algorithm>
#include <cstring>

namespace sb::kernels {

bool inputChannelsLast(const graph::Node &node, std::size_t input)
{
    const graph::Attribute *a = node.attribute(kChannelsLastInputs);
    return a && std::find(a->ints.begin(), a->ints.end(), static_cast<std::int64_t>(input)) !=
                    a->ints.end();
}

bool outputChannelsLast(const graph::Node &node)
{
    return node.intAttr(kChannelsLastOutput, 0) != 0;
}

bool anyChannelsLast(const graph::Node &node)
{
    const graph::Attribute *a = node.attribute(kChannelsLastInputs);
    return (a && !a->ints.empty()) || outputChannelsLast(node);
}

namespace {

// dst[n][p][c] = src[n][c][p] (transposeRows: swap the two inner axes).
template <typename T>
void transposeInner(const T *src, T *dst, std::int64_t images, std::int64_t rows, std::int64_t cols)
{
    for (std::int64_t n = 0; n < images; ++n) {
        const T *s = src + n * rows * cols;
        T *d = dst + n * rows * cols;
        for (std::int64_t r = 0; r < rows; ++r)
            for (std::int64_t c = 0; c < cols; ++c)
                d[c * rows + r] = s[r * cols + c];
    }
}

void transposeBytes(const void *src, void *dst, std::int64_t images, std::int64_t rows,
                    std::int64_t cols, std::size_t elementBytes)
{
    switch (elementBytes) {
    case 1:
        transposeInner(static_cast<const std::uint8_t *>(src), static_cast<std::uint8_t *>(dst),
                       images, rows, cols);
        return;
    case 2:
        transposeInner(static_cast<const std::uint16_t *>(src), static_cast<std::uint16_t *>(dst),
                       images, rows, cols);
        return;
    case 4:
        transposeInner(static_cast<const std::uint32_t *>(src), static_cast<std::uint32_t *>(dst),
                       images, rows, cols);
        return;
    default:
        for (std::int64_t n = 0; n < images; ++n)
            for (std::int64_t r = 0; r < rows; ++r)
                for (std::int64_t c = 0; c < cols; ++c)
                    std::memcpy(static_cast<char *>(dst) +
                                    ((n * rows * cols) + c * rows + r) * elementBytes,
                                static_cast<const char *>(src) +
                                    ((n * rows * cols) + r * cols + c) * elementBytes,
                                elementBytes);
    }
}

// The sub-kernel's outputs: plain heap tensors (copied into the node's own).
class HeapOutputs final : public runtime::OutputAllocator
{
public:
    Result<Tensor> allocate(graph::ValueId, ElementType type, const Shape &shape) override
    {
        return Tensor::empty(type, shape);
    }
};

} // namespace

void nchwToNhwc(const void *src, void *dst, std::int64_t images, std::int64_t channels,
                std::int64_t pixels, std::size_t elementBytes)
{
    transposeBytes(src, dst, images, channels, pixels, elementBytes);
}

void nhwcToNchw(const void *src, void *dst, std::int64_t images, std::int64_t channels,
                std::int64_t pixels, std::size_t elementBytes)
{
    transposeBytes(src, dst, images, pixels, channels, elementBytes);
}

Status runAsNchw(KernelContext &ctx, const std::function<Status(KernelContext &)> &nchwKernel)
{
    graph::Node plain = ctx.node();
    plain.attributes.erase(kChannelsLastInputs);
    plain.attributes.erase(kChannelsLastOutput);
    std::vector<Tensor> converted(ctx.inputCount());
    std::vector<const Tensor *> inputs(ctx.inputCount(), nullptr);
    std::vector<bool> constant(ctx.inputCount());
    for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
        constant[i] = ctx.inputIsConstant(i);
        if (!ctx.hasInput(i))
            continue;
        inputs[i] = &ctx.input(i);
        if (!inputChannelsLast(ctx.node(), i))
            continue;
        const Tensor &x = ctx.input(i);
        if (x.rank() != 4)
            return ctx.invalid("channels-last input " + std::to_string(i) + " of rank " +
                               std::to_string(x.rank()) + " (4 expected)");
        converted[i] = Tensor::empty(x.type(), x.shape());
        nhwcToNchw(x.data(), converted[i].data(), x.dim(0), x.dim(1), x.dim(2) * x.dim(3),
                   graph::elementSize(x.type()));
        inputs[i] = &converted[i];
    }
    std::vector<Tensor> outputs(ctx.outputCount());
    HeapOutputs heap;
    KernelContext inner(plain, ctx.opset(), std::move(inputs), outputs, heap, ctx.pool());
    inner.setConstantInputs(std::move(constant));
    inner.setSubgraphs(ctx.subgraphs());
    SB_TRY(nchwKernel(inner));
    for (std::size_t i = 0; i < outputs.size(); ++i) {
        if (!ctx.hasOutput(i))
            continue;
        const Tensor &y = outputs[i];
        const bool toNhwc = i == 0 && outputChannelsLast(ctx.node());
        if (toNhwc && y.rank() != 4)
            return ctx.invalid("channels-last output of rank " + std::to_string(y.rank()) +
                               " (4 expected)");
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(i, y.type(), y.shape()));
        if (toNhwc)
            nchwToNhwc(y.data(), out->data(), y.dim(0), y.dim(1), y.dim(2) * y.dim(3),
                       graph::elementSize(y.type()));
        else if (y.byteSize())
            std::memcpy(out->data(), y.data(), y.byteSize());
    }
    return Status::success();
}

} // namespace sb::kernels
