// The CUDA kernels of the registry (DeviceKind::Cuda): op logic on the host
// (shapes, attributes, errors naming the node), element work through the
// launchers of cuda_launch.cu, GEMMs through cuBLAS, convolutions through
// cuDNN. Shape-only ops run on the host (Shape, Size); ops whose result is a
// small host computation (Constant, ConstantOfShape, Range) compute it with
// the CPU kernel and upload it.
//
// Every kernel runs on the stage's CudaContext (ctx.execution()); each CUDA,
// cuBLAS and cuDNN status is checked and becomes a Runtime error naming the
// node and op (the executor adds the device).
#include "kernels/cpu/channels_last.h"
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/nn_common.h"
#include "kernels/cuda/cuda_context.h"
#include "kernels/cuda/cuda_device.h"
#include "kernels/cuda/cuda_launch.h"

#include <algorithm>
#include <numeric>

namespace sb::kernels {

namespace {

using cuda::CudaContext;
using cudamath::OffsetMap;
using runtime::DeviceKind;
using runtime::KernelInfo;
using runtime::KernelVariant;

std::string where(const KernelContext &ctx)
{
    const graph::Node &node = ctx.node();
    const std::string op = node.domain.empty() ? node.opType : node.domain + "." + node.opType;
    return "node '" + node.name + "' (" + op + ")";
}

#define SB_LAUNCH(ctx, call) SB_CUDA_CHECK(where(ctx), call)

Result<CudaContext *> cudaOf(KernelContext &ctx)
{
    auto *context = dynamic_cast<CudaContext *>(ctx.execution());
    if (!context)
        return makeError(ErrorCode::Internal, where(ctx) + ": CUDA kernel run without a stream");
    // The stream, cuBLAS and cuDNN handles belong to the context's GPU: make
    // it current on this thread (stages of several GPUs share threads).
    SB_TRY(context->activate());
    return context;
}

int rankOf(const Shape &shape)
{
    return static_cast<int>(shape.size());
}

Status requireRank(KernelContext &ctx, const Shape &shape)
{
    if (shape.size() > static_cast<std::size_t>(cudamath::kMaxDims))
        return ctx.unsupported("rank " + std::to_string(shape.size()) +
                               " (CUDA kernels take up to " + std::to_string(cudamath::kMaxDims) +
                               ")");
    return {};
}

// Broadcast map of `in` into `out`; null (contiguous) when the shapes agree.
Result<const OffsetMap *> mapInto(KernelContext &ctx, const Shape &in, const Shape &out,
                                  OffsetMap &storage)
{
    if (in == out)
        return static_cast<const OffsetMap *>(nullptr);
    SB_TRY(requireRank(ctx, out));
    if (!cudamath::broadcastMap(in.data(), rankOf(in), out.data(), rankOf(out), storage))
        return ctx.invalid("shape " + runtime::shapeToString(in) + " does not broadcast to " +
                           runtime::shapeToString(out));
    return static_cast<const OffsetMap *>(&storage);
}

Result<Shape> broadcastOf(KernelContext &ctx, const Shape &a, const Shape &b)
{
    auto shape = broadcastShapes(a, b);
    if (!shape)
        return ctx.invalid("shapes " + runtime::shapeToString(a) + " and " +
                           runtime::shapeToString(b) + " do not broadcast");
    return *shape;
}

Status requireFloat(KernelContext &ctx, const Tensor &t)
{
    if (t.type() != ElementType::Float32)
        return ctx.unsupported("element type " + typeName(t.type()) + " (CUDA: float32)");
    return {};
}

Status copyDeviceToDevice(KernelContext &ctx, CudaContext &cc, void *dst, const void *src,
                          std::size_t bytes)
{
    if (bytes)
        SB_LAUNCH(ctx, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, cc.stream()));
    return {};
}

// ---- elementwise ------------------------------------------------------------

runtime::KernelFn unaryKernel(int op)
{
    return [op](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        const Tensor &x = ctx.input(0);
        SB_TRY(requireFloat(ctx, x));
        SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
        SB_LAUNCH(ctx, cuda::launchUnary(op, x.as<float>(), y->as<float>(), x.elementCount(),
                                         cc->stream()));
        return {};
    };
}

runtime::KernelFn binaryKernel(int op)
{
    return [op](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        if (ctx.inputCount() != 2 || !ctx.hasInput(0) || !ctx.hasInput(1))
            return ctx.unsupported("input count other than two (CUDA: binary form)");
        const Tensor &a = ctx.input(0);
        const Tensor &b = ctx.input(1);
        if (a.type() != b.type())
            return ctx.invalid("operand types differ");
        if (a.type() != ElementType::Float32 && a.type() != ElementType::Int64)
            return ctx.unsupported("element type " + typeName(a.type()) +
                                   " (CUDA: float32, int64)");
        SB_ASSIGN_OR_RETURN(Shape shape, broadcastOf(ctx, a.shape(), b.shape()));
        OffsetMap ma, mb;
        SB_ASSIGN_OR_RETURN(const OffsetMap *pa, mapInto(ctx, a.shape(), shape, ma));
        SB_ASSIGN_OR_RETURN(const OffsetMap *pb, mapInto(ctx, b.shape(), shape, mb));
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, a.type(), shape));
        if (a.type() == ElementType::Float32)
            SB_LAUNCH(ctx,
                      cuda::launchBinaryFloat(op, a.as<float>(), pa, b.as<float>(), pb,
                                              out->as<float>(), out->elementCount(), cc->stream()));
        else
            SB_LAUNCH(ctx, cuda::launchBinaryInt64(
                               op, a.as<std::int64_t>(), pa, b.as<std::int64_t>(), pb,
                               out->as<std::int64_t>(), out->elementCount(), cc->stream()));
        return {};
    };
}

runtime::KernelFn compareKernel(int op)
{
    return [op](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        const Tensor &a = ctx.input(0);
        const Tensor &b = ctx.input(1);
        if (a.type() != b.type() ||
            (a.type() != ElementType::Float32 && a.type() != ElementType::Int64))
            return ctx.unsupported("operand types " + typeName(a.type()) + ", " +
                                   typeName(b.type()) + " (CUDA: float32 or int64 pairs)");
        SB_ASSIGN_OR_RETURN(Shape shape, broadcastOf(ctx, a.shape(), b.shape()));
        OffsetMap ma, mb;
        SB_ASSIGN_OR_RETURN(const OffsetMap *pa, mapInto(ctx, a.shape(), shape, ma));
        SB_ASSIGN_OR_RETURN(const OffsetMap *pb, mapInto(ctx, b.shape(), shape, mb));
        SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Bool, shape));
        SB_LAUNCH(ctx, cuda::launchCompare(op, a.type() == ElementType::Int64, a.data(), pa,
                                           b.data(), pb, out->as<std::uint8_t>(),
                                           out->elementCount(), cc->stream()));
        return {};
    };
}

Status notKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    if (x.type() != ElementType::Bool)
        return ctx.unsupported("element type " + typeName(x.type()));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Bool, x.shape()));
    SB_LAUNCH(ctx, cuda::launchNot(x.as<std::uint8_t>(), y->as<std::uint8_t>(), x.elementCount(),
                                   cc->stream()));
    return {};
}

Status clipKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireFloat(ctx, x));
    float lo = -INFINITY, hi = INFINITY;
    if (ctx.opset() < 11) {
        lo = ctx.node().floatAttr("min", lo);
        hi = ctx.node().floatAttr("max", hi);
    } else {
        if (ctx.hasInput(1))
            lo = static_cast<float>(ctx.input(1).scalarAsDouble());
        if (ctx.hasInput(2))
            hi = static_cast<float>(ctx.input(2).scalarAsDouble());
    }
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    SB_LAUNCH(ctx, cuda::launchClip(x.as<float>(), y->as<float>(), x.elementCount(), lo, hi,
                                    cc->stream()));
    return {};
}

Status whereKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &c = ctx.input(0);
    const Tensor &x = ctx.input(1);
    const Tensor &y = ctx.input(2);
    if (c.type() != ElementType::Bool || x.type() != y.type())
        return ctx.invalid("Where needs a bool condition and X, Y of one type");
    SB_ASSIGN_OR_RETURN(Shape xy, broadcastOf(ctx, x.shape(), y.shape()));
    SB_ASSIGN_OR_RETURN(Shape shape, broadcastOf(ctx, c.shape(), xy));
    OffsetMap mc, mx, my;
    SB_ASSIGN_OR_RETURN(const OffsetMap *pc, mapInto(ctx, c.shape(), shape, mc));
    SB_ASSIGN_OR_RETURN(const OffsetMap *px, mapInto(ctx, x.shape(), shape, mx));
    SB_ASSIGN_OR_RETURN(const OffsetMap *py, mapInto(ctx, y.shape(), shape, my));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), shape));
    SB_LAUNCH(ctx, cuda::launchWhere(c.as<std::uint8_t>(), pc, x.data(), px, y.data(), py,
                                     out->data(), out->elementCount(),
                                     static_cast<int>(graph::elementSize(x.type())), cc->stream()));
    return {};
}

std::optional<int> castCode(ElementType type)
{
    switch (type) {
    case ElementType::Float32:
        return cuda::kCastFloat;
    case ElementType::Float64:
        return cuda::kCastDouble;
    case ElementType::Int64:
        return cuda::kCastInt64;
    case ElementType::Int32:
        return cuda::kCastInt32;
    case ElementType::Bool:
        return cuda::kCastBool;
    case ElementType::UInt8:
        return cuda::kCastUInt8;
    case ElementType::Int8:
        return cuda::kCastInt8;
    default:
        return std::nullopt;
    }
}

Status castKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    const auto to = static_cast<ElementType>(ctx.node().intAttr("to", 0));
    const auto from = castCode(x.type());
    const auto dest = castCode(to);
    if (!from || !dest)
        return ctx.unsupported("cast " + typeName(x.type()) + " -> " + typeName(to));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, to, x.shape()));
    if (x.type() == to)
        return copyDeviceToDevice(ctx, *cc, y->data(), x.data(), x.byteSize());
    SB_LAUNCH(ctx,
              cuda::launchCast(x.data(), *from, y->data(), *dest, x.elementCount(), cc->stream()));
    return {};
}

// ---- normalisation, reductions ---------------------------------------------------

Status softmaxKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireFloat(ctx, x));
    const auto rank = static_cast<std::int64_t>(x.rank());
    const bool legacy = ctx.opset() < 13;
    auto axisOpt = normalizeAxis(ctx.node().intAttr("axis", legacy ? 1 : -1), rank);
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    const auto axis = static_cast<std::size_t>(*axisOpt);
    std::int64_t n = 1, inner = 1;
    if (legacy) {
        for (std::size_t d = axis; d < x.rank(); ++d)
            n *= x.dim(d);
    } else if (x.rank()) {
        n = x.dim(axis);
        inner = x.strides()[axis];
    }
    const std::int64_t outer = n * inner != 0 ? x.elementCount() / (n * inner) : 0;
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    SB_LAUNCH(ctx,
              cuda::launchSoftmax(x.as<float>(), y->as<float>(), outer, n, inner, cc->stream()));
    return {};
}

Status layerNormKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    SB_TRY(requireFloat(ctx, ctx.input(0)));
    SB_ASSIGN_OR_RETURN(LayerNormArgs args, layerNormArgs(ctx));
    const Tensor &x = ctx.input(0);
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    float *mean = nullptr, *invStd = nullptr;
    if (ctx.hasOutput(1)) {
        SB_ASSIGN_OR_RETURN(Tensor * t,
                            ctx.allocateOutput(1, ElementType::Float32, args.statShape));
        mean = t->as<float>();
    }
    if (ctx.hasOutput(2)) {
        SB_ASSIGN_OR_RETURN(Tensor * t,
                            ctx.allocateOutput(2, ElementType::Float32, args.statShape));
        invStd = t->as<float>();
    }
    SB_LAUNCH(ctx, cuda::launchLayerNorm(x.as<float>(), ctx.input(1).as<float>(),
                                         ctx.hasInput(2) ? ctx.input(2).as<float>() : nullptr,
                                         y->as<float>(), mean, invStd, args.rows, args.cols,
                                         static_cast<float>(args.epsilon), args.scaleScalar,
                                         args.biasScalar, cc->stream()));
    return {};
}

runtime::KernelFn reduceKernel(int op, bool axesAsInputFrom18)
{
    return [op, axesAsInputFrom18](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        const Tensor &x = ctx.input(0);
        SB_TRY(requireFloat(ctx, x));
        SB_TRY(requireRank(ctx, x.shape()));
        const bool axesInput = axesAsInputFrom18 ? ctx.opset() >= 18 : ctx.opset() >= 13;
        AxesArg axes;
        if (axesInput)
            axes = axesFrom(ctx, 1, "");
        else
            axes = axesFrom(ctx, 999, "axes");
        const auto rank = static_cast<std::int64_t>(x.rank());
        std::vector<bool> reduce(x.rank(), false);
        if (!axes.present || axes.axes.empty()) {
            if (ctx.node().intAttr("noop_with_empty_axes", 0)) {
                SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
                return copyDeviceToDevice(ctx, *cc, y->data(), x.data(), x.byteSize());
            }
            std::fill(reduce.begin(), reduce.end(), true);
        }
        for (std::int64_t a : axes.axes) {
            auto axis = normalizeAxis(a, rank);
            if (!axis)
                return ctx.invalid("axis " + std::to_string(a) + " out of range");
            reduce[static_cast<std::size_t>(*axis)] = true;
        }
        const bool keep = ctx.node().intAttr("keepdims", 1) != 0;
        const Shape strides = x.strides();
        OffsetMap kept, reduced;
        Shape outShape;
        std::int64_t reducedCount = 1;
        for (std::size_t d = 0; d < x.rank(); ++d) {
            OffsetMap &m = reduce[d] ? reduced : kept;
            m.dims[m.rank] = x.dim(d);
            m.strides[m.rank] = strides[d];
            ++m.rank;
            if (reduce[d]) {
                reducedCount *= x.dim(d);
                if (keep)
                    outShape.push_back(1);
            } else {
                outShape.push_back(x.dim(d));
            }
        }
        SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), outShape));
        SB_LAUNCH(ctx, cuda::launchReduce(op, x.as<float>(), y->as<float>(), y->elementCount(),
                                          kept, reduced, reducedCount, cc->stream()));
        return {};
    };
}

Status batchNormKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireFloat(ctx, x));
    if (ctx.node().intAttr("training_mode", 0) != 0 || ctx.hasOutput(1))
        return ctx.unsupported("training mode");
    if (x.rank() < 2)
        return ctx.invalid("input rank below 2");
    for (std::size_t i = 1; i <= 4; ++i)
        if (!ctx.hasInput(i))
            return ctx.invalid("needs X, scale, B, mean and var");
    const std::int64_t c = x.dim(1);
    for (std::size_t i = 1; i <= 4; ++i)
        if (ctx.input(i).elementCount() != c || ctx.input(i).type() != ElementType::Float32)
            return ctx.invalid("scale/B/mean/var must be float32 of length C");
    const std::int64_t inner = x.dim(0) * c != 0 ? x.elementCount() / (x.dim(0) * c) : 0;
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    SB_LAUNCH(ctx, cuda::launchBatchNorm(
                       x.as<float>(), ctx.input(1).as<float>(), ctx.input(2).as<float>(),
                       ctx.input(3).as<float>(), ctx.input(4).as<float>(), y->as<float>(), x.dim(0),
                       c, inner, ctx.node().floatAttr("epsilon", 1e-5f), cc->stream()));
    return {};
}

// ---- GEMM (cuBLAS) ------------------------------------------------------------

// Row-major C[m,n] = op(A) op(B) (+ beta C) as column-major C^T = op(B)^T op(A)^T.
Status sgemm(KernelContext &ctx, CudaContext &cc, bool transA, bool transB, std::int64_t m,
             std::int64_t n, std::int64_t k, float alpha, const float *a, const float *b,
             float beta, float *c, std::int64_t batch = 1, std::int64_t strideA = 0,
             std::int64_t strideB = 0, std::int64_t strideC = 0)
{
    constexpr std::int64_t kIntMax = 2147483647;
    if (m > kIntMax || n > kIntMax || k > kIntMax || batch > kIntMax)
        return ctx.unsupported("GEMM dimension above 2^31");
    if (m == 0 || n == 0)
        return {};
    const int lda = static_cast<int>(transA ? m : k);
    const int ldb = static_cast<int>(transB ? k : n);
    const cublasOperation_t opA = transA ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t opB = transB ? CUBLAS_OP_T : CUBLAS_OP_N;
    if (k == 0) {
        // Empty reduction: C = beta C (C is not read when beta is 0).
        const std::int64_t count = m * n * batch;
        if (beta == 0.0f)
            SB_LAUNCH(ctx, cudaMemsetAsync(c, 0, static_cast<std::size_t>(count) * sizeof(float),
                                           cc.stream()));
        else
            SB_LAUNCH(ctx, cuda::launchScaledCopy(c, nullptr, c, beta, count, cc.stream()));
        return {};
    }
    if (batch == 1) {
        SB_CUBLAS_CHECK(where(ctx), cublasSgemm(cc.cublas(), opB, opA, static_cast<int>(n),
                                                static_cast<int>(m), static_cast<int>(k), &alpha, b,
                                                ldb, a, lda, &beta, c, static_cast<int>(n)));
    } else {
        SB_CUBLAS_CHECK(where(ctx),
                        cublasSgemmStridedBatched(
                            cc.cublas(), opB, opA, static_cast<int>(n), static_cast<int>(m),
                            static_cast<int>(k), &alpha, b, ldb, strideB, a, lda, strideA, &beta, c,
                            static_cast<int>(n), strideC, static_cast<int>(batch)));
    }
    return {};
}

// True when offsets[i] = offsets[0] + i * stride for one stride.
bool uniformStride(const std::vector<std::int64_t> &offsets, std::int64_t &stride)
{
    stride = offsets.size() > 1 ? offsets[1] - offsets[0] : 0;
    for (std::size_t i = 1; i < offsets.size(); ++i)
        if (offsets[i] - offsets[i - 1] != stride)
            return false;
    return offsets.empty() || offsets[0] == 0;
}

Status epilogue(KernelContext &ctx, CudaContext &cc, Tensor &out, const Tensor *bias,
                std::int64_t biasInner, const Activation &act)
{
    if (!bias && act.kind == Activation::None)
        return {};
    const std::int64_t biasLen = bias ? bias->elementCount() : 1;
    SB_LAUNCH(ctx,
              cuda::launchBiasActivation(out.as<float>(), bias ? bias->as<float>() : nullptr,
                                         out.elementCount(), biasLen, biasInner,
                                         static_cast<int>(act.kind), act.lo, act.hi, cc.stream()));
    return {};
}

Status matmulKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &a = ctx.input(0);
    const Tensor &b = ctx.input(1);
    SB_TRY(requireFloat(ctx, a));
    SB_TRY(requireFloat(ctx, b));
    SB_ASSIGN_OR_RETURN(MatMulShape s, matmulShape(ctx, a.shape(), b.shape()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, s.outShape));
    std::int64_t strideA = 0, strideB = 0;
    if (s.batch > 1 && uniformStride(s.aOffsets, strideA) && uniformStride(s.bOffsets, strideB)) {
        SB_TRY(sgemm(ctx, *cc, false, false, s.m, s.n, s.k, 1.0f, a.as<float>(), b.as<float>(),
                     0.0f, out->as<float>(), s.batch, strideA, strideB, s.m * s.n));
    } else {
        for (std::int64_t i = 0; i < s.batch; ++i)
            SB_TRY(sgemm(ctx, *cc, false, false, s.m, s.n, s.k, 1.0f, a.as<float>() + s.aOffset(i),
                         b.as<float>() + s.bOffset(i), 0.0f, out->as<float>() + i * s.m * s.n));
    }
    // sb.FusedMatMul: bias over the last axis, then the activation.
    const bool fused = ctx.node().domain == "sb";
    const Tensor *bias = fused && ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    if (bias && (bias->type() != ElementType::Float32 || bias->elementCount() != s.n))
        return ctx.unsupported("bias of shape " + runtime::shapeToString(bias->shape()));
    return epilogue(ctx, *cc, *out, bias, 1, fused ? activationOf(ctx.node()) : Activation{});
}

Status gemmKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    SB_TRY(requireFloat(ctx, ctx.input(0)));
    SB_TRY(requireFloat(ctx, ctx.input(1)));
    SB_ASSIGN_OR_RETURN(GemmArgs g, gemmArgs(ctx));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, ElementType::Float32, {g.m, g.n}));
    float beta = 0.0f;
    if (ctx.hasInput(2) && g.beta != 0.0f) {
        const Tensor &c = ctx.input(2);
        SB_TRY(requireFloat(ctx, c));
        OffsetMap mc;
        SB_ASSIGN_OR_RETURN(const OffsetMap *pc, mapInto(ctx, c.shape(), out->shape(), mc));
        SB_LAUNCH(ctx, cuda::launchScaledCopy(c.as<float>(), pc, out->as<float>(), g.beta,
                                              out->elementCount(), cc->stream()));
        beta = 1.0f;
    }
    SB_TRY(sgemm(ctx, *cc, g.transA, g.transB, g.m, g.n, g.k, g.alpha, ctx.input(0).as<float>(),
                 ctx.input(1).as<float>(), beta, out->as<float>()));
    if (ctx.node().domain == "sb")
        return epilogue(ctx, *cc, *out, nullptr, 1, activationOf(ctx.node()));
    return {};
}

// ---- convolution (cuDNN), pooling ------------------------------------------------

// RAII for the cuDNN descriptors of one convolution.
struct ConvDescriptors
{
    cudnnTensorDescriptor_t x = nullptr, y = nullptr;
    cudnnFilterDescriptor_t w = nullptr;
    cudnnConvolutionDescriptor_t conv = nullptr;
    ConvDescriptors() = default;
    ConvDescriptors(const ConvDescriptors &) = delete;
    ConvDescriptors &operator=(const ConvDescriptors &) = delete;
    ~ConvDescriptors()
    {
        if (conv)
            cudnnDestroyConvolutionDescriptor(conv);
        if (w)
            cudnnDestroyFilterDescriptor(w);
        if (y)
            cudnnDestroyTensorDescriptor(y);
        if (x)
            cudnnDestroyTensorDescriptor(x);
    }
};

struct Conv2d
{
    std::int64_t n = 0, c = 0, h = 0, w = 0; // input
    std::int64_t k = 0, kh = 0, kw = 0;      // filters [k, c / group, kh, kw]
    std::int64_t oh = 0, ow = 0, group = 1;  // output [n, k, oh, ow]
    std::int64_t padH = 0, padW = 0, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
};

// y = conv(x, w) in exact FP32 (no TF32), with the fastest algorithm cuDNN
// reports that fits its workspace.
Status convForward(KernelContext &ctx, CudaContext &cc, const Conv2d &g, const float *x,
                   const float *w, float *y)
{
    const std::string at = where(ctx);
    constexpr std::int64_t kIntMax = 2147483647;
    for (std::int64_t v : {g.n, g.c, g.h, g.w, g.k, g.kh, g.kw, g.oh, g.ow})
        if (v > kIntMax)
            return ctx.unsupported("convolution dimension above 2^31");
    auto i = [](std::int64_t v) { return static_cast<int>(v); };
    ConvDescriptors d;
    SB_CUDNN_CHECK(at, cudnnCreateTensorDescriptor(&d.x));
    SB_CUDNN_CHECK(at, cudnnCreateTensorDescriptor(&d.y));
    SB_CUDNN_CHECK(at, cudnnCreateFilterDescriptor(&d.w));
    SB_CUDNN_CHECK(at, cudnnCreateConvolutionDescriptor(&d.conv));
    SB_CUDNN_CHECK(at, cudnnSetTensor4dDescriptor(d.x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, i(g.n),
                                                  i(g.c), i(g.h), i(g.w)));
    SB_CUDNN_CHECK(at, cudnnSetFilter4dDescriptor(d.w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, i(g.k),
                                                  i(g.c / g.group), i(g.kh), i(g.kw)));
    SB_CUDNN_CHECK(at, cudnnSetConvolution2dDescriptor(d.conv, i(g.padH), i(g.padW), i(g.strideH),
                                                       i(g.strideW), i(g.dilationH), i(g.dilationW),
                                                       CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    SB_CUDNN_CHECK(at, cudnnSetConvolutionGroupCount(d.conv, i(g.group)));
    SB_CUDNN_CHECK(at, cudnnSetConvolutionMathType(d.conv, CUDNN_FMA_MATH));
    int on = 0, oc = 0, oh = 0, ow = 0;
    SB_CUDNN_CHECK(at, cudnnGetConvolution2dForwardOutputDim(d.conv, d.x, d.w, &on, &oc, &oh, &ow));
    if (on != g.n || oc != g.k || oh != g.oh || ow != g.ow)
        return makeError(ErrorCode::Internal, at + ": cuDNN output shape differs from ONNX's");
    SB_CUDNN_CHECK(
        at, cudnnSetTensor4dDescriptor(d.y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, on, oc, oh, ow));
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int found = 0;
    SB_CUDNN_CHECK(at, cudnnGetConvolutionForwardAlgorithm_v7(cc.cudnn(), d.x, d.w, d.conv, d.y,
                                                              CUDNN_CONVOLUTION_FWD_ALGO_COUNT,
                                                              &found, perf));
    constexpr std::size_t kMaxWorkspace = std::size_t{256} << 20;
    const cudnnConvolutionFwdAlgoPerf_t *chosen = nullptr;
    for (int a = 0; a < found && !chosen; ++a)
        if (perf[a].status == CUDNN_STATUS_SUCCESS && perf[a].memory <= kMaxWorkspace &&
            perf[a].mathType != CUDNN_TENSOR_OP_MATH &&
            perf[a].mathType != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION)
            chosen = &perf[a]; // FP32 FMA only: results comparable with the CPU kernels
    if (!chosen)
        return ctx.unsupported("convolution geometry (no cuDNN algorithm fits)");
    void *workspace = nullptr;
    if (chosen->memory) {
        SB_ASSIGN_OR_RETURN(workspace, cc.workspace(chosen->memory));
    }
    const float one = 1.0f, zero = 0.0f;
    SB_CUDNN_CHECK(at,
                   cudnnConvolutionForward(cc.cudnn(), &one, d.x, x, d.w, w, d.conv, chosen->algo,
                                           workspace, chosen->memory, &zero, d.y, y));
    return {};
}

Status convKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    SB_TRY(requireFloat(ctx, ctx.input(0)));
    SB_TRY(requireFloat(ctx, ctx.input(1)));
    SB_ASSIGN_OR_RETURN(ConvGeometry geo, convGeometry(ctx));
    if (geo.inSpatial.size() != 2)
        return ctx.unsupported(std::to_string(geo.inSpatial.size()) + "-D convolution (CUDA: 2-D)");
    if (geo.padBegin[0] != geo.padEnd[0] || geo.padBegin[1] != geo.padEnd[1])
        return ctx.unsupported("asymmetric padding (cuDNN pads symmetrically)");
    Conv2d g;
    g.n = geo.n;
    g.c = geo.inChannels;
    g.h = geo.inSpatial[0];
    g.w = geo.inSpatial[1];
    g.k = geo.outChannels;
    g.kh = geo.kernel[0];
    g.kw = geo.kernel[1];
    g.oh = geo.outSpatial[0];
    g.ow = geo.outSpatial[1];
    g.group = geo.group;
    g.padH = geo.padBegin[0];
    g.padW = geo.padBegin[1];
    g.strideH = geo.strides[0];
    g.strideW = geo.strides[1];
    g.dilationH = geo.dilations[0];
    g.dilationW = geo.dilations[1];
    SB_ASSIGN_OR_RETURN(Tensor * y,
                        ctx.allocateOutput(0, ElementType::Float32, {g.n, g.k, g.oh, g.ow}));
    SB_TRY(convForward(ctx, *cc, g, ctx.input(0).as<float>(), ctx.input(1).as<float>(),
                       y->as<float>()));
    const Tensor *bias = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
    if (bias && bias->elementCount() != g.k)
        return ctx.invalid("bias length differs from the output channels");
    const Activation act = ctx.node().domain == "sb" ? activationOf(ctx.node()) : Activation{};
    return epilogue(ctx, *cc, *y, bias, g.oh * g.ow, act);
}

// sb.FusedPointwiseDepthwise: the 1x1 conv into stream-ordered scratch, then
// the depthwise conv, each with its bias and activation.
Status pointwiseDepthwiseKernel(KernelContext &ctx)
{
    // Channels-last operands are a CPU executors' layout (FusionOptions::floatChannelsLast).
    if (anyChannelsLast(ctx.node()))
        return ctx.unsupported("channels-last operands");
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    SB_ASSIGN_OR_RETURN(PointwiseDepthwiseOperands op, pointwiseDepthwiseOperands(ctx));
    const auto &g = op.g;
    Conv2d pw;
    pw.n = g.n;
    pw.c = g.inChannels;
    pw.h = g.inH;
    pw.w = g.inW;
    pw.k = g.channels;
    pw.kh = pw.kw = 1;
    pw.oh = g.inH;
    pw.ow = g.inW;
    Conv2d dw;
    dw.n = g.n;
    dw.c = g.channels;
    dw.h = g.inH;
    dw.w = g.inW;
    dw.k = g.channels;
    dw.kh = g.kernelH;
    dw.kw = g.kernelW;
    dw.oh = g.outH;
    dw.ow = g.outW;
    dw.group = g.channels;
    dw.padH = g.padTop;
    dw.padW = g.padLeft;
    dw.strideH = g.strideH;
    dw.strideW = g.strideW;
    dw.dilationH = g.dilationH;
    dw.dilationW = g.dilationW;
    const std::int64_t padBottom =
        (g.outH - 1) * g.strideH + (g.kernelH - 1) * g.dilationH + 1 - g.inH - g.padTop;
    const std::int64_t padRight =
        (g.outW - 1) * g.strideW + (g.kernelW - 1) * g.dilationW + 1 - g.inW - g.padLeft;
    if (padBottom > g.padTop || padRight > g.padLeft)
        return ctx.unsupported("asymmetric padding (cuDNN pads symmetrically)");
    const std::size_t bytes =
        static_cast<std::size_t>(g.n * g.channels * g.inH * g.inW) * sizeof(float);
    void *scratch = nullptr;
    SB_LAUNCH(ctx, cudaMallocAsync(&scratch, bytes ? bytes : 1, cc->stream()));
    auto *expanded = static_cast<float *>(scratch);
    Status status = convForward(ctx, *cc, pw, op.x, op.w1, expanded);
    if (status.ok() && (op.b1 || op.act1.kind != Activation::None))
        if (cuda::launchBiasActivation(expanded, op.b1, g.n * g.channels * g.inH * g.inW,
                                       g.channels, g.inH * g.inW, static_cast<int>(op.act1.kind),
                                       op.act1.lo, op.act1.hi, cc->stream()) != cudaSuccess)
            status = makeError(ErrorCode::Runtime, where(ctx) + ": pointwise epilogue failed");
    if (status.ok())
        status = convForward(ctx, *cc, dw, expanded, op.w2, op.out);
    const cudaError_t freed = cudaFreeAsync(scratch, cc->stream());
    SB_TRY(status);
    SB_LAUNCH(ctx, freed);
    if (op.b2 || op.act2.kind != Activation::None)
        SB_LAUNCH(ctx, cuda::launchBiasActivation(op.out, op.b2, g.n * g.channels * g.outH * g.outW,
                                                  g.channels, g.outH * g.outW,
                                                  static_cast<int>(op.act2.kind), op.act2.lo,
                                                  op.act2.hi, cc->stream()));
    return {};
}

runtime::KernelFn poolKernel(bool isMax)
{
    return [isMax](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        SB_TRY(requireFloat(ctx, ctx.input(0)));
        if (isMax && ctx.hasOutput(1))
            return ctx.unsupported("MaxPool Indices output");
        SB_ASSIGN_OR_RETURN(PoolGeometry geo, poolGeometry(ctx));
        if (geo.inSpatial.size() != 2)
            return ctx.unsupported(std::to_string(geo.inSpatial.size()) + "-D pooling (CUDA: 2-D)");
        cuda::Pool2dGeometry g;
        g.planes = geo.n * geo.channels;
        g.inH = geo.inSpatial[0];
        g.inW = geo.inSpatial[1];
        g.outH = geo.outSpatial[0];
        g.outW = geo.outSpatial[1];
        g.kH = geo.kernel[0];
        g.kW = geo.kernel[1];
        g.strideH = geo.strides[0];
        g.strideW = geo.strides[1];
        g.dilationH = geo.dilations[0];
        g.dilationW = geo.dilations[1];
        g.padTop = geo.padBegin[0];
        g.padLeft = geo.padBegin[1];
        g.countIncludePad = ctx.node().intAttr("count_include_pad", 0) != 0;
        SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, ElementType::Float32,
                                                           {geo.n, geo.channels, g.outH, g.outW}));
        SB_LAUNCH(ctx, cuda::launchPool2d(ctx.input(0).as<float>(), y->as<float>(), g, isMax,
                                          cc->stream()));
        return {};
    };
}

Status globalAveragePoolKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireFloat(ctx, x));
    if (x.rank() < 3)
        return ctx.invalid("input rank below 3");
    Shape shape(x.rank(), 1);
    shape[0] = x.dim(0);
    shape[1] = x.dim(1);
    const std::int64_t planes = x.dim(0) * x.dim(1);
    const std::int64_t inner = planes ? x.elementCount() / planes : 0;
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), shape));
    SB_LAUNCH(ctx,
              cuda::launchPlaneMean(x.as<float>(), y->as<float>(), planes, inner, cc->stream()));
    return {};
}

// ---- data movement ---------------------------------------------------------------

Status gatherKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &data = ctx.input(0);
    const Tensor &indices = ctx.input(1);
    if (indices.type() != ElementType::Int64 && indices.type() != ElementType::Int32)
        return ctx.invalid("indices must be int32 or int64");
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(data.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    const auto axis = static_cast<std::size_t>(*axisOpt);
    Shape shape;
    std::int64_t outer = 1, inner = 1;
    for (std::size_t d = 0; d < axis; ++d) {
        outer *= data.dim(d);
        shape.push_back(data.dim(d));
    }
    for (std::int64_t d : indices.shape())
        shape.push_back(d);
    for (std::size_t d = axis + 1; d < data.rank(); ++d) {
        inner *= data.dim(d);
        shape.push_back(data.dim(d));
    }
    const int elemSize = static_cast<int>(graph::elementSize(data.type()));
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, data.type(), shape));
    SB_LAUNCH(ctx,
              cuda::launchGather(data.data(), indices.data(), indices.type() == ElementType::Int64,
                                 out->data(), outer, data.dim(axis), inner, indices.elementCount(),
                                 elemSize, cc->stream()));
    return {};
}

Status transposeKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireRank(ctx, x.shape()));
    std::vector<std::int64_t> perm = ctx.node().intsAttr("perm");
    if (perm.empty()) {
        perm.resize(x.rank());
        for (std::size_t d = 0; d < x.rank(); ++d)
            perm[d] = static_cast<std::int64_t>(x.rank() - 1 - d);
    }
    if (perm.size() != x.rank())
        return ctx.invalid("perm has " + std::to_string(perm.size()) + " entries for rank " +
                           std::to_string(x.rank()));
    OffsetMap map;
    if (!cudamath::transposeMap(x.shape().data(), rankOf(x.shape()), perm.data(), map))
        return ctx.invalid("perm is not a permutation");
    Shape shape(map.dims, map.dims + map.rank);
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), shape));
    SB_LAUNCH(ctx, cuda::launchMappedCopy(
                       x.data(), x.rank() ? &map : nullptr, y->data(), nullptr, x.elementCount(),
                       static_cast<int>(graph::elementSize(x.type())), cc->stream()));
    return {};
}

Status concatKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &first = ctx.input(0);
    SB_TRY(requireRank(ctx, first.shape()));
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(first.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    const auto axis = static_cast<std::size_t>(*axisOpt);
    Shape shape = first.shape();
    shape[axis] = 0;
    for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
        const Tensor &t = ctx.input(i);
        if (t.rank() != first.rank() || t.type() != first.type())
            return ctx.invalid("input " + std::to_string(i) + " differs in rank or type");
        for (std::size_t d = 0; d < t.rank(); ++d)
            if (d != axis && t.dim(d) != first.dim(d))
                return ctx.invalid("input " + std::to_string(i) + " differs off the axis");
        shape[axis] += t.dim(axis);
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, first.type(), shape));
    const Shape outStrides = out->strides();
    const int elemSize = static_cast<int>(graph::elementSize(first.type()));
    std::int64_t offset = 0;
    for (std::size_t i = 0; i < ctx.inputCount(); ++i) {
        const Tensor &t = ctx.input(i);
        OffsetMap dst;
        dst.rank = rankOf(t.shape());
        for (std::size_t d = 0; d < t.rank(); ++d) {
            dst.dims[d] = t.dim(d);
            dst.strides[d] = outStrides[d];
        }
        dst.base = offset * outStrides[axis];
        SB_LAUNCH(ctx, cuda::launchMappedCopy(t.data(), nullptr, out->data(), &dst,
                                              t.elementCount(), elemSize, cc->stream()));
        offset += t.dim(axis);
    }
    return {};
}

// Copies the box [starts, starts + dims*steps) of x (every axis) into a new output.
Status copyBox(KernelContext &ctx, CudaContext &cc, const Tensor &x, std::size_t output,
               const std::vector<std::int64_t> &starts, const std::vector<std::int64_t> &steps,
               const Shape &dims)
{
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(output, x.type(), dims));
    if (!y->elementCount())
        return {};
    OffsetMap map;
    if (!cudamath::sliceMap(x.shape().data(), rankOf(x.shape()), starts.data(), steps.data(),
                            dims.data(), map))
        return ctx.unsupported("rank above " + std::to_string(cudamath::kMaxDims));
    SB_LAUNCH(ctx,
              cuda::launchMappedCopy(x.data(), &map, y->data(), nullptr, y->elementCount(),
                                     static_cast<int>(graph::elementSize(x.type())), cc.stream()));
    return {};
}

Status sliceKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireRank(ctx, x.shape()));
    SB_ASSIGN_OR_RETURN(SliceBox box, sliceBox(ctx, x.shape()));
    return copyBox(ctx, *cc, x, 0, box.begin, box.step, box.shape);
}

Status splitKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    SB_TRY(requireRank(ctx, x.shape()));
    auto axisOpt =
        normalizeAxis(ctx.node().intAttr("axis", 0), static_cast<std::int64_t>(x.rank()));
    if (!axisOpt)
        return ctx.invalid("axis out of range");
    const auto axis = static_cast<std::size_t>(*axisOpt);
    const std::int64_t dim = x.dim(axis);
    std::vector<std::int64_t> sizes;
    if (ctx.opset() >= 13 && ctx.hasInput(1))
        sizes = ctx.input(1).toInt64Vector();
    else if (ctx.opset() < 13)
        sizes = ctx.node().intsAttr("split");
    const auto outputs = static_cast<std::int64_t>(ctx.outputCount());
    if (sizes.empty()) {
        const std::int64_t parts = ctx.node().intAttr("num_outputs", outputs);
        if (parts <= 0)
            return ctx.invalid("no outputs");
        const std::int64_t chunk = (dim + parts - 1) / parts;
        for (std::int64_t p = 0, left = dim; p < parts; ++p, left -= chunk)
            sizes.push_back(std::max<std::int64_t>(0, std::min(chunk, left)));
    }
    if (static_cast<std::int64_t>(sizes.size()) != outputs)
        return ctx.invalid("split has " + std::to_string(sizes.size()) + " sizes for " +
                           std::to_string(outputs) + " outputs");
    if (std::accumulate(sizes.begin(), sizes.end(), std::int64_t{0}) != dim)
        return ctx.invalid("split sizes do not add up to the axis length");
    std::vector<std::int64_t> starts(x.rank(), 0), steps(x.rank(), 1);
    for (std::size_t o = 0; o < sizes.size(); ++o) {
        Shape dims = x.shape();
        dims[axis] = sizes[o];
        if (ctx.hasOutput(o)) // an omitted output would get host scratch memory
            SB_TRY(copyBox(ctx, *cc, x, o, starts, steps, dims));
        starts[axis] += sizes[o];
    }
    return {};
}

Status triluKernel(KernelContext &ctx)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    if (x.rank() < 2)
        return ctx.invalid("input rank below 2");
    const std::int64_t k = ctx.hasInput(1) ? ctx.input(1).scalarAsInt() : 0;
    const std::int64_t rows = x.dim(x.rank() - 2), cols = x.dim(x.rank() - 1);
    const std::int64_t batch = rows * cols != 0 ? x.elementCount() / (rows * cols) : 0;
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), x.shape()));
    SB_LAUNCH(ctx, cuda::launchTrilu(x.data(), y->data(), batch, rows, cols, k,
                                     ctx.node().intAttr("upper", 1) != 0,
                                     static_cast<int>(graph::elementSize(x.type())), cc->stream()));
    return {};
}

// Reshape family: the same bytes under a new shape (a device-to-device copy,
// since outputs never alias inputs).
Status reshapeTo(KernelContext &ctx, const Shape &shape)
{
    SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
    const Tensor &x = ctx.input(0);
    if (runtime::shapeElementCount(shape) != x.elementCount())
        return ctx.invalid("cannot reshape " + runtime::shapeToString(x.shape()) + " to " +
                           runtime::shapeToString(shape));
    SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(0, x.type(), shape));
    return copyDeviceToDevice(ctx, *cc, y->data(), x.data(), x.byteSize());
}

Status reshapeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    std::vector<std::int64_t> target = ctx.input(1).toInt64Vector();
    const bool allowZero = ctx.node().intAttr("allowzero", 0) != 0;
    std::int64_t known = 1;
    int inferred = -1;
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (target[i] == 0 && !allowZero) {
            if (i >= x.rank())
                return ctx.invalid("shape copies dim " + std::to_string(i) + " beyond the rank");
            target[i] = x.dim(i);
        }
        if (target[i] == -1) {
            if (inferred >= 0)
                return ctx.invalid("more than one -1 in the shape");
            inferred = static_cast<int>(i);
            continue;
        }
        if (target[i] < 0)
            return ctx.invalid("negative dim in the shape");
        known *= target[i];
    }
    if (inferred >= 0) {
        if (known == 0 || x.elementCount() % known != 0)
            return ctx.invalid("cannot infer the -1 dim");
        target[static_cast<std::size_t>(inferred)] = x.elementCount() / known;
    }
    return reshapeTo(ctx, target);
}

Status flattenKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    const auto rank = static_cast<std::int64_t>(x.rank());
    std::int64_t axis = ctx.node().intAttr("axis", 1);
    if (axis < 0)
        axis += rank;
    if (axis < 0 || axis > rank)
        return ctx.invalid("axis out of range");
    std::int64_t outer = 1;
    for (std::int64_t d = 0; d < axis; ++d)
        outer *= x.dim(static_cast<std::size_t>(d));
    return reshapeTo(ctx, {outer, outer ? x.elementCount() / outer : 0});
}

Status squeezeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    AxesArg axes = ctx.opset() >= 13 ? axesFrom(ctx, 1, "") : axesFrom(ctx, 999, "axes");
    std::vector<bool> drop(x.rank(), false);
    for (std::int64_t a : axes.axes) {
        auto axis = normalizeAxis(a, static_cast<std::int64_t>(x.rank()));
        if (!axis || x.dim(static_cast<std::size_t>(*axis)) != 1)
            return ctx.invalid("axis " + std::to_string(a) + " is not a dim of size 1");
        drop[static_cast<std::size_t>(*axis)] = true;
    }
    Shape shape;
    for (std::size_t d = 0; d < x.rank(); ++d)
        if (!(axes.axes.empty() ? x.dim(d) == 1 : drop[d]))
            shape.push_back(x.dim(d));
    return reshapeTo(ctx, shape);
}

Status unsqueezeKernel(KernelContext &ctx)
{
    const Tensor &x = ctx.input(0);
    AxesArg axes = ctx.opset() >= 13 ? axesFrom(ctx, 1, "") : axesFrom(ctx, 999, "axes");
    const auto rank = static_cast<std::int64_t>(x.rank() + axes.axes.size());
    std::vector<bool> inserted(static_cast<std::size_t>(rank), false);
    for (std::int64_t a : axes.axes) {
        auto axis = normalizeAxis(a, rank);
        if (!axis || inserted[static_cast<std::size_t>(*axis)])
            return ctx.invalid("axis " + std::to_string(a) + " out of range or repeated");
        inserted[static_cast<std::size_t>(*axis)] = true;
    }
    Shape shape;
    std::size_t next = 0;
    for (std::int64_t d = 0; d < rank; ++d)
        shape.push_back(inserted[static_cast<std::size_t>(d)] ? 1 : x.dim(next++));
    return reshapeTo(ctx, shape);
}

Status identityKernel(KernelContext &ctx)
{
    return reshapeTo(ctx, ctx.input(0).shape());
}

// A host computation (the CPU kernel on host inputs) uploaded to the device.
runtime::KernelFn hostThenUpload(runtime::KernelFn cpu)
{
    return [cpu](KernelContext &ctx) -> Status {
        SB_ASSIGN_OR_RETURN(CudaContext * cc, cudaOf(ctx));
        class Heap final : public runtime::OutputAllocator
        {
        public:
            Result<Tensor> allocate(graph::ValueId, ElementType type, const Shape &shape) override
            {
                return Tensor::empty(type, shape);
            }
        } heap;
        std::vector<const Tensor *> inputs;
        for (std::size_t i = 0; i < ctx.inputCount(); ++i)
            inputs.push_back(ctx.hasInput(i) ? &ctx.input(i) : nullptr);
        std::vector<Tensor> outs(ctx.outputCount());
        KernelContext host(ctx.node(), ctx.opset(), inputs, outs, heap, ctx.pool());
        SB_TRY(cpu(host));
        for (std::size_t o = 0; o < outs.size(); ++o) {
            if (!ctx.hasOutput(o) || !outs[o].isValid())
                continue;
            SB_ASSIGN_OR_RETURN(Tensor * y, ctx.allocateOutput(o, outs[o].type(), outs[o].shape()));
            if (outs[o].byteSize())
                SB_LAUNCH(ctx, cudaMemcpyAsync(y->data(), outs[o].data(), outs[o].byteSize(),
                                               cudaMemcpyHostToDevice, cc->stream()));
        }
        // The host buffers end with this call: the copies must be done.
        SB_LAUNCH(ctx, cudaStreamSynchronize(cc->stream()));
        return {};
    };
}

// Static check: the first input's declared element type, when known, is float32.
std::optional<std::string> floatInput(const graph::Node &node, const graph::Graph &graph)
{
    if (node.inputs.empty() || node.inputs[0] == graph::kNoValue)
        return std::nullopt;
    const ElementType type = graph.value(node.inputs[0]).info.type;
    if (type == ElementType::Undefined || type == ElementType::Float32)
        return std::nullopt;
    return "element type " + typeName(type) + " (CUDA kernel: float32)";
}

void add(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn,
         const std::string &domain = "", std::vector<int> hostInputs = {},
         runtime::SupportCheckFn check = {})
{
    KernelInfo info;
    info.opType = op;
    info.domain = domain;
    info.device = DeviceKind::Cuda;
    info.variant = KernelVariant::Fast;
    info.fn = std::move(fn);
    info.check = std::move(check);
    info.hostInputs = std::move(hostInputs);
    // Against the CPU reference: FP32 accumulation in another order.
    info.tolerance = runtime::Tolerance{1e-4, 1e-5};
    registry.add(std::move(info));
}

} // namespace

void registerCudaKernels(KernelRegistry &registry)
{
    using namespace cudamath;
    const std::pair<const char *, int> unaries[] = {
        {"Relu", kUnaryRelu}, {"Sigmoid", kUnarySigmoid}, {"Tanh", kUnaryTanh},
        {"Erf", kUnaryErf},   {"Sqrt", kUnarySqrt},       {"Reciprocal", kUnaryReciprocal},
        {"Exp", kUnaryExp},   {"Log", kUnaryLog},         {"Neg", kUnaryNeg},
        {"Abs", kUnaryAbs}};
    for (const auto &[op, code] : unaries)
        add(registry, op, unaryKernel(code), "", {}, floatInput);
    add(registry, "Gelu", unaryKernel(kUnaryGelu), "sb", {}, floatInput);
    const std::pair<const char *, int> binaries[] = {
        {"Add", kBinaryAdd}, {"Sub", kBinarySub}, {"Mul", kBinaryMul}, {"Div", kBinaryDiv},
        {"Pow", kBinaryPow}, {"Max", kBinaryMax}, {"Min", kBinaryMin}};
    // Max/Min are variadic in ONNX: the static check refuses other than two inputs.
    auto twoInputs = [](const graph::Node &node,
                        const graph::Graph &) -> std::optional<std::string> {
        if (node.inputs.size() != 2)
            return std::to_string(node.inputs.size()) + " inputs (CUDA kernel: two)";
        return std::nullopt;
    };
    for (const auto &[op, code] : binaries)
        add(registry, op, binaryKernel(code), "", {}, twoInputs);
    const std::pair<const char *, int> compares[] = {{"Greater", kCompareGreater},
                                                     {"Less", kCompareLess},
                                                     {"Equal", kCompareEqual},
                                                     {"GreaterOrEqual", kCompareGreaterOrEqual},
                                                     {"LessOrEqual", kCompareLessOrEqual}};
    for (const auto &[op, code] : compares)
        add(registry, op, compareKernel(code));
    add(registry, "Not", notKernel);
    add(registry, "Clip", clipKernel, "", {1, 2}, floatInput);
    add(registry, "Where", whereKernel);
    add(registry, "Cast", castKernel);
    add(registry, "Softmax", softmaxKernel, "", {}, floatInput);
    add(registry, "LayerNormalization", layerNormKernel, "", {}, floatInput);
    add(registry, "ReduceMean", reduceKernel(1, true), "", {1}, floatInput);
    add(registry, "ReduceSum", reduceKernel(0, false), "", {1}, floatInput);
    add(registry, "ReduceMax", reduceKernel(2, true), "", {1}, floatInput);
    add(registry, "ReduceMin", reduceKernel(3, true), "", {1}, floatInput);
    add(registry, "BatchNormalization", batchNormKernel, "", {}, floatInput);
    add(registry, "MatMul", matmulKernel, "", {}, floatInput);
    add(registry, "FusedMatMul", matmulKernel, "sb", {}, floatInput);
    add(registry, "Gemm", gemmKernel, "", {}, floatInput);
    add(registry, "FusedGemm", gemmKernel, "sb", {}, floatInput);
    add(registry, "Conv", convKernel, "", {}, floatInput);
    add(registry, "FusedConv", convKernel, "sb", {}, floatInput);
    add(registry, "FusedPointwiseDepthwise", pointwiseDepthwiseKernel, "sb", {}, floatInput);
    add(registry, "MaxPool", poolKernel(true), "", {}, floatInput);
    add(registry, "AveragePool", poolKernel(false), "", {}, floatInput);
    add(registry, "GlobalAveragePool", globalAveragePoolKernel, "", {}, floatInput);
    add(registry, "Gather", gatherKernel);
    add(registry, "Transpose", transposeKernel);
    add(registry, "Concat", concatKernel);
    add(registry, "Slice", sliceKernel, "", {1, 2, 3, 4});
    add(registry, "Split", splitKernel, "", {1});
    add(registry, "Trilu", triluKernel, "", {1});
    add(registry, "Reshape", reshapeKernel, "", {1});
    add(registry, "Flatten", flattenKernel);
    add(registry, "Squeeze", squeezeKernel, "", {1});
    add(registry, "Unsqueeze", unsqueezeKernel, "", {1});
    add(registry, "Identity", identityKernel);
    // Shape-only ops run their CPU kernel on the host; small host results upload.
    for (const char *op : {"Shape", "Size"}) {
        const KernelInfo *cpu = registry.find(op, "", DeviceKind::Cpu, KernelVariant::Reference);
        if (!cpu)
            continue;
        KernelInfo info = *cpu;
        info.device = DeviceKind::Cuda;
        info.variant = KernelVariant::Fast;
        info.shapeOnly = true;
        registry.add(std::move(info));
    }
    for (const char *op : {"Constant", "ConstantOfShape", "Range"}) {
        const KernelInfo *cpu = registry.find(op, "", DeviceKind::Cpu, KernelVariant::Reference);
        if (cpu)
            add(registry, op, hostThenUpload(cpu->fn), "", {0, 1, 2});
    }
}

} // namespace sb::kernels
