#include "core/runtime/tensor_parallel.h"

#include <algorithm>
#include <cstring>

namespace sb::runtime {

namespace {

thread_local CollectiveContext *t_context = nullptr;

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point origin)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - origin).count();
}

constexpr const char *kAllReduceText = "all-reduce";
constexpr const char *kAllGatherText = "all-gather";

Status sendToPeers(Transport &transport, const std::vector<int> &group, int index,
                   const Tensor &tensor, const char *what, const CancelToken *cancel)
{
    const int me = group[static_cast<std::size_t>(index)];
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (static_cast<int>(i) == index)
            continue;
        TransportMessage message;
        message.microbatch = -1;
        message.text = what;
        // A copy: in-process the receiver reads it after our buffer is reused.
        message.tensors["t"] = tensor.clone();
        SB_TRY(transport.send(me, group[i], std::move(message), cancel));
    }
    return {};
}

Result<Tensor> receiveFromPeer(Transport &transport, int from, int to, const char *what,
                               const Tensor &like, const CancelToken *cancel)
{
    SB_ASSIGN_OR_RETURN(TransportMessage message, transport.receive(from, to, cancel));
    if (message.kind == TransportMessage::Kind::Error)
        return makeError(ErrorCode::Runtime, message.text);
    auto it = message.tensors.find("t");
    if (message.kind != TransportMessage::Kind::Data || message.text != what ||
        it == message.tensors.end())
        return makeError(ErrorCode::Internal, std::string("tensor-parallel ") + what +
                                                  ": endpoint " + std::to_string(to) +
                                                  " received an unexpected message from " +
                                                  std::to_string(from));
    if (it->second.type() != like.type() || it->second.rank() != like.rank())
        return makeError(ErrorCode::Runtime, std::string("tensor-parallel ") + what +
                                                 ": shard shapes disagree (" +
                                                 shapeToString(it->second.shape()) + " vs " +
                                                 shapeToString(like.shape()) + ")");
    return it->second;
}

// Sends a copy of `tensor` to every other member, then receives theirs:
// every member's tensor in group order (ours at `index`).
Result<std::vector<Tensor>> exchange(Transport &transport, const std::vector<int> &group, int index,
                                     const Tensor &tensor, const char *what,
                                     const CancelToken *cancel)
{
    SB_TRY(sendToPeers(transport, group, index, tensor, what, cancel));
    const int me = group[static_cast<std::size_t>(index)];
    std::vector<Tensor> parts(group.size());
    parts[static_cast<std::size_t>(index)] = tensor;
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (static_cast<int>(i) == index)
            continue;
        SB_ASSIGN_OR_RETURN(parts[i],
                            receiveFromPeer(transport, group[i], me, what, tensor, cancel));
    }
    return parts;
}

Status checkGroup(const std::vector<int> &group, int index)
{
    if (group.size() < 2 || index < 0 || index >= static_cast<int>(group.size()))
        return makeError(ErrorCode::Internal, "tensor-parallel collective: bad group or index");
    return {};
}

} // namespace

CollectiveScope::CollectiveScope(CollectiveContext &context) : m_previous(t_context)
{
    t_context = &context;
}

CollectiveScope::~CollectiveScope()
{
    t_context = m_previous;
}

CollectiveContext *currentCollectiveContext()
{
    return t_context;
}

Status pointToPointAllReduceSum(Transport &transport, const std::vector<int> &group, int index,
                                Tensor &tensor, const CancelToken *cancel)
{
    SB_TRY(checkGroup(group, index));
    if (tensor.type() != ElementType::Float32 && tensor.type() != ElementType::Float64)
        return makeError(ErrorCode::Unsupported,
                         std::string("all-reduce of ") + graph::elementTypeName(tensor.type()));
    SB_ASSIGN_OR_RETURN(std::vector<Tensor> parts,
                        exchange(transport, group, index, tensor, kAllReduceText, cancel));
    for (std::size_t i = 0; i < group.size(); ++i) {
        if (parts[i].shape() != tensor.shape())
            return makeError(ErrorCode::Runtime, "tensor-parallel all-reduce: shard shapes " +
                                                     shapeToString(parts[i].shape()) + " and " +
                                                     shapeToString(tensor.shape()) + " differ");
    }
    // Sum in group order into a fresh buffer (every member gets the same bits).
    Tensor sum = parts[0].clone();
    const std::int64_t n = sum.elementCount();
    for (std::size_t i = 1; i < parts.size(); ++i) {
        if (sum.type() == ElementType::Float32) {
            float *out = sum.as<float>();
            const float *in = parts[i].as<float>();
            for (std::int64_t k = 0; k < n; ++k)
                out[k] += in[k];
        } else {
            double *out = sum.as<double>();
            const double *in = parts[i].as<double>();
            for (std::int64_t k = 0; k < n; ++k)
                out[k] += in[k];
        }
    }
    tensor = std::move(sum);
    return {};
}

Result<Tensor> pointToPointAllGather(Transport &transport, const std::vector<int> &group, int index,
                                     const Tensor &tensor, int axis, const CancelToken *cancel)
{
    SB_TRY(checkGroup(group, index));
    if (axis < 0 || axis >= static_cast<int>(tensor.rank()))
        return makeError(ErrorCode::Internal, "tensor-parallel all-gather: axis out of range");
    SB_ASSIGN_OR_RETURN(std::vector<Tensor> parts,
                        exchange(transport, group, index, tensor, kAllGatherText, cancel));
    const auto a = static_cast<std::size_t>(axis);
    Shape shape = tensor.shape();
    shape[a] = 0;
    for (const Tensor &part : parts) {
        for (std::size_t d = 0; d < shape.size(); ++d)
            if (d != a && part.dim(d) != tensor.dim(d))
                return makeError(ErrorCode::Runtime, "tensor-parallel all-gather: shard shapes " +
                                                         shapeToString(part.shape()) + " and " +
                                                         shapeToString(tensor.shape()) +
                                                         " differ off the gathered axis");
        shape[a] += part.dim(a);
    }
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d)
        outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d)
        inner *= shape[d];
    const std::size_t element = graph::elementSize(tensor.type());
    Tensor whole = Tensor::empty(tensor.type(), shape);
    auto *out = static_cast<char *>(whole.data());
    const std::size_t rowBytes = static_cast<std::size_t>(shape[a] * inner) * element;
    std::size_t offset = 0;
    for (const Tensor &part : parts) {
        const std::size_t pieceBytes = static_cast<std::size_t>(part.dim(a) * inner) * element;
        const auto *in = static_cast<const char *>(part.data());
        for (std::int64_t o = 0; o < outer; ++o)
            std::memcpy(out + static_cast<std::size_t>(o) * rowBytes + offset,
                        in + static_cast<std::size_t>(o) * pieceBytes, pieceBytes);
        offset += pieceBytes;
    }
    return whole;
}

Tensor interleaveSegments(const Tensor &gathered, int axis,
                          const std::vector<std::int64_t> &segments, int parts)
{
    if (segments.size() <= 1)
        return gathered;
    const auto a = static_cast<std::size_t>(axis);
    const Shape &shape = gathered.shape();
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d)
        outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d)
        inner *= shape[d];
    const std::size_t element = graph::elementSize(gathered.type());
    Tensor result = Tensor::empty(gathered.type(), shape);
    const std::size_t rowBytes = static_cast<std::size_t>(shape[a] * inner) * element;
    const auto *in = static_cast<const char *>(gathered.data());
    auto *out = static_cast<char *>(result.data());
    // Source: shard-major [shard][segment][piece]; target: [segment][shard][piece].
    std::vector<std::int64_t> segmentStart(segments.size(), 0);
    for (std::size_t s = 1; s < segments.size(); ++s)
        segmentStart[s] = segmentStart[s - 1] + segments[s - 1];
    std::int64_t shardWidth = 0;
    for (std::int64_t size : segments)
        shardWidth += size / parts;
    for (std::int64_t o = 0; o < outer; ++o) {
        const char *rowIn = in + static_cast<std::size_t>(o) * rowBytes;
        char *rowOut = out + static_cast<std::size_t>(o) * rowBytes;
        for (int p = 0; p < parts; ++p) {
            std::int64_t source = p * shardWidth;
            for (std::size_t s = 0; s < segments.size(); ++s) {
                const std::int64_t piece = segments[s] / parts;
                const std::int64_t target = segmentStart[s] + p * piece;
                std::memcpy(rowOut + static_cast<std::size_t>(target * inner) * element,
                            rowIn + static_cast<std::size_t>(source * inner) * element,
                            static_cast<std::size_t>(piece * inner) * element);
                source += piece;
            }
        }
    }
    return result;
}

namespace {

Result<CollectiveContext *> contextFor(KernelContext &ctx)
{
    CollectiveContext *context = currentCollectiveContext();
    if (!context || !context->transport)
        return ctx.invalid("a tensor-parallel collective runs only inside a tensor-parallel group");
    return context;
}

Status allReduceKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CollectiveContext * context, contextFor(ctx));
    const Tensor &partial = ctx.input(0);
    const double start = msSince(context->origin);
    Tensor tensor = partial;
    SB_TRY(
        context->transport->allReduceSum(context->group, context->index, tensor, context->cancel));
    context->events.push_back({kAllReduceText, start, msSince(context->origin),
                               static_cast<std::uint64_t>(partial.byteSize())});
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, tensor.type(), tensor.shape()));
    std::memcpy(out->data(), tensor.data(), tensor.byteSize());
    return {};
}

Status allGatherKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CollectiveContext * context, contextFor(ctx));
    const Tensor &shard = ctx.input(0);
    auto axis = ctx.node().intAttr("axis", 0);
    if (axis < 0)
        axis += static_cast<std::int64_t>(shard.rank());
    const std::vector<std::int64_t> segments = ctx.node().intsAttr("segments");
    const double start = msSince(context->origin);
    SB_ASSIGN_OR_RETURN(Tensor gathered,
                        context->transport->allGather(context->group, context->index, shard,
                                                      static_cast<int>(axis), context->cancel));
    context->events.push_back({kAllGatherText, start, msSince(context->origin),
                               static_cast<std::uint64_t>(shard.byteSize())});
    Tensor whole = interleaveSegments(gathered, static_cast<int>(axis), segments,
                                      static_cast<int>(context->group.size()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, whole.type(), whole.shape()));
    std::memcpy(out->data(), whole.data(), whole.byteSize());
    return {};
}

Status shardShapeKernel(KernelContext &ctx)
{
    const Tensor &shape = ctx.input(0);
    if (shape.type() != ElementType::Int64 || shape.rank() != 1)
        return ctx.unsupported("shape input must be a 1-D int64 tensor");
    const auto axis = ctx.node().intAttr("axis", 0);
    const auto parts = ctx.node().intAttr("parts", 1);
    std::vector<std::int64_t> dims = shape.toInt64Vector();
    if (axis < 0 || axis >= static_cast<std::int64_t>(dims.size()) || parts < 1)
        return ctx.invalid("axis " + std::to_string(axis) + " outside the shape " +
                           shapeToString(dims));
    auto &dim = dims[static_cast<std::size_t>(axis)];
    if (dim > 0) {
        if (dim % parts != 0)
            return ctx.invalid("dim " + std::to_string(dim) + " at axis " + std::to_string(axis) +
                               " does not divide into " + std::to_string(parts) + " shards");
        dim /= parts;
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Int64,
                                                         {static_cast<std::int64_t>(dims.size())}));
    std::memcpy(out->data(), dims.data(), dims.size() * sizeof(std::int64_t));
    return {};
}

Status shardSliceKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    auto axis = ctx.node().intAttr("axis", -1);
    if (axis < 0)
        axis += static_cast<std::int64_t>(x.rank());
    const auto parts = ctx.node().intAttr("parts", 1);
    const auto index = ctx.node().intAttr("index", 0);
    if (axis < 0 || axis >= static_cast<std::int64_t>(x.rank()) || parts < 1 || index < 0 ||
        index >= parts)
        return ctx.invalid("bad axis/parts/index");
    const auto a = static_cast<std::size_t>(axis);
    if (x.dim(a) % parts != 0)
        return ctx.invalid("dim " + std::to_string(x.dim(a)) + " does not divide into " +
                           std::to_string(parts) + " shards");
    Shape shape = x.shape();
    shape[a] /= parts;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < a; ++d)
        outer *= shape[d];
    for (std::size_t d = a + 1; d < shape.size(); ++d)
        inner *= shape[d];
    const std::size_t element = graph::elementSize(x.type());
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    const std::size_t piece = static_cast<std::size_t>(shape[a] * inner) * element;
    const auto *in = static_cast<const char *>(x.data());
    auto *target = static_cast<char *>(out->data());
    for (std::int64_t o = 0; o < outer; ++o)
        std::memcpy(target + static_cast<std::size_t>(o) * piece,
                    in + static_cast<std::size_t>(o) * piece * static_cast<std::size_t>(parts) +
                        static_cast<std::size_t>(index) * piece,
                    piece);
    return {};
}

void add(KernelRegistry &registry, const std::string &op, KernelFn fn)
{
    KernelInfo info;
    info.opType = op;
    info.domain = kShardDomain;
    info.device = DeviceKind::Cpu;
    info.variant = KernelVariant::Reference;
    info.fn = std::move(fn);
    registry.add(std::move(info));
}

} // namespace

void registerTensorParallelKernels(KernelRegistry &registry)
{
    add(registry, "AllReduceSum", allReduceKernel);
    add(registry, "AllGather", allGatherKernel);
    add(registry, "ShardShape", shardShapeKernel);
    add(registry, "ShardSlice", shardSliceKernel);
}

} // namespace sb::runtime
