// float16 through the CPU kernels: every computing CPU kernel (reference and
// fast) is wrapped so that float16 inputs are widened to float32, the float32
// kernel runs, and its float32 outputs are rounded back to float16 (round to
// nearest even), which is what ONNX Runtime's CPU provider does for most ops
// that have no native half kernel. Data-movement ops (Reshape, Transpose,
// Concat, Gather, Slice, ...) and casts already move float16 bytes as they
// are and are not wrapped.
#include "kernels/cpu/half_float.h"

#include "kernels/cpu/kernel_util.h"

#include <algorithm>
#include <set>

namespace sb::kernels {

namespace {

// Ops that move or reinterpret elements without arithmetic, casts, and the
// tensor-parallel collectives: they handle any element size themselves.
const std::set<std::string> &notWrapped()
{
    static const std::set<std::string> ops = {
        "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Transpose", "Concat", "Split",
        "Slice", "Gather", "GatherElements", "GatherND", "Expand", "Tile", "Shape", "Size",
        "Constant", "ConstantOfShape", "DepthToSpace", "SpaceToDepth", "EyeLike", "Cast",
        "CastLike", "Compress", "ReverseSequence", "MaxUnpool", "Dropout",
        // sb.* tensor-parallel collectives and shard helpers
        "AllReduceSum", "AllGather", "ShardShape", "ShardSlice"};
    return ops;
}

class HeapAllocator : public runtime::OutputAllocator
{
public:
    Result<Tensor> allocate(graph::ValueId, ElementType type, const Shape &shape) override
    {
        return Tensor::empty(type, shape);
    }
};

Tensor widen(const Tensor &half)
{
    Tensor out = Tensor::empty(ElementType::Float32, half.shape());
    const auto *src = half.as<std::uint16_t>();
    float *dst = out.as<float>();
    for (std::int64_t i = 0; i < half.elementCount(); ++i)
        dst[i] = runtime::halfToFloat(src[i]);
    return out;
}

// Outputs that stay float32 whatever the input type (LayerNormalization's
// Mean and InvStdDev use stash_type, float32 by default).
bool keepsFloat32(const graph::Node &node, std::size_t output)
{
    return node.opType == "LayerNormalization" && output > 0;
}

runtime::KernelFn halfAsFloat(runtime::KernelFn inner)
{
    return [inner](KernelContext &ctx) -> Status {
        bool anyHalf = false;
        for (std::size_t i = 0; i < ctx.inputCount(); ++i)
            anyHalf = anyHalf || (ctx.hasInput(i) && ctx.input(i).type() == ElementType::Float16);
        if (!anyHalf)
            return inner(ctx);
        std::vector<Tensor> widened(ctx.inputCount());
        std::vector<const Tensor *> inputs(ctx.inputCount(), nullptr);
        for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
            if (!ctx.hasInput(i))
                continue;
            if (ctx.input(i).type() == ElementType::Float16) {
                widened[i] = widen(ctx.input(i));
                inputs[i] = &widened[i];
            } else {
                inputs[i] = &ctx.input(i);
            }
        }
        std::vector<Tensor> outputs(ctx.outputCount());
        HeapAllocator heap;
        KernelContext wide(ctx.node(), ctx.opset(), inputs, outputs, heap, ctx.pool());
        SB_TRY(inner(wide));
        for (std::size_t i = 0; i < outputs.size(); ++i) {
            const Tensor &t = outputs[i];
            if (!t.isValid() || !ctx.hasOutput(i))
                continue;
            bool narrow = t.type() == ElementType::Float32 && !keepsFloat32(ctx.node(), i);
            SB_ASSIGN_OR_RETURN(
                Tensor * out,
                ctx.allocateOutput(i, narrow ? ElementType::Float16 : t.type(), t.shape()));
            if (narrow) {
                const float *src = t.as<float>();
                auto *dst = out->as<std::uint16_t>();
                for (std::int64_t k = 0; k < t.elementCount(); ++k)
                    dst[k] = runtime::floatToHalf(src[k]);
            } else if (t.byteSize() != 0) {
                std::memcpy(out->data(), t.data(), t.byteSize());
            }
        }
        return Status::success();
    };
}

} // namespace

void wrapHalfAsFloat(KernelRegistry &registry)
{
    for (const std::string &name : registry.opTypes(runtime::DeviceKind::Cpu)) {
        std::string domain, op = name;
        if (auto dot = name.rfind('.'); dot != std::string::npos) {
            domain = name.substr(0, dot);
            op = name.substr(dot + 1);
        }
        if (notWrapped().count(op))
            continue;
        for (auto variant : {runtime::KernelVariant::Reference, runtime::KernelVariant::Fast}) {
            const runtime::KernelInfo *info =
                registry.findExact(op, domain, runtime::DeviceKind::Cpu, variant);
            if (!info)
                continue;
            runtime::KernelInfo wrapped = *info;
            wrapped.fn = halfAsFloat(info->fn);
            registry.add(std::move(wrapped));
        }
    }
}

} // namespace sb::kernels
