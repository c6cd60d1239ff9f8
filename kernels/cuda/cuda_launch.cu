// CUDA element kernels and their launchers (see cuda_launch.h).
#include "kernels/cuda/cuda_launch.h"

#include <cuda_runtime.h>

namespace sb::kernels::cuda {

namespace {

using namespace cudamath;

constexpr int kThreads = 256;

#define SB_GRID_STRIDE(i, n)                                                                       \
    for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;        \
         i < (n); i += static_cast<std::int64_t>(blockDim.x) * gridDim.x)

// Identity map for contiguous operands (rank 0 means "index i").
__device__ __forceinline__ std::int64_t at(const OffsetMap &map, std::int64_t i)
{
    return map.rank == 0 ? i : mapOffset(map, i);
}

OffsetMap orIdentity(const OffsetMap *map)
{
    return map ? *map : OffsetMap{};
}

cudaError_t finish()
{
    return cudaGetLastError();
}

// Element of `bytes` bytes as an unsigned word.
template <int Bytes> struct Word;
template <> struct Word<1>
{
    using type = std::uint8_t;
};
template <> struct Word<2>
{
    using type = std::uint16_t;
};
template <> struct Word<4>
{
    using type = std::uint32_t;
};
template <> struct Word<8>
{
    using type = std::uint64_t;
};

// Calls f(Word<N>::type{}) for elemSize N; false for other sizes.
template <typename F> bool bySize(int elemSize, F &&f)
{
    switch (elemSize) {
    case 1:
        f(std::uint8_t{});
        return true;
    case 2:
        f(std::uint16_t{});
        return true;
    case 4:
        f(std::uint32_t{});
        return true;
    case 8:
        f(std::uint64_t{});
        return true;
    default:
        return false;
    }
}

// ---- elementwise ----------------------------------------------------------------

__global__ void unaryKernel(int op, const float *x, float *y, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        y[i] = unary(op, x[i]);
    }
}

__global__ void clipKernel(const float *x, float *y, std::int64_t n, float lo, float hi)
{
    SB_GRID_STRIDE(i, n)
    {
        y[i] = clip(x[i], lo, hi);
    }
}

__global__ void binaryFloatKernel(int op, const float *a, OffsetMap mapA, const float *b,
                                  OffsetMap mapB, float *out, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        out[i] = binary(op, a[at(mapA, i)], b[at(mapB, i)]);
    }
}

__global__ void binaryInt64Kernel(int op, const std::int64_t *a, OffsetMap mapA,
                                  const std::int64_t *b, OffsetMap mapB, std::int64_t *out,
                                  std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        out[i] = binaryInt(op, a[at(mapA, i)], b[at(mapB, i)]);
    }
}

template <typename T>
__global__ void compareKernel(int op, const T *a, OffsetMap mapA, const T *b, OffsetMap mapB,
                              std::uint8_t *out, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        out[i] = compare(op, a[at(mapA, i)], b[at(mapB, i)]) ? 1 : 0;
    }
}

__global__ void notKernel(const std::uint8_t *x, std::uint8_t *y, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        y[i] = x[i] ? 0 : 1;
    }
}

template <typename W>
__global__ void whereKernel(const std::uint8_t *cond, OffsetMap mapC, const W *x, OffsetMap mapX,
                            const W *y, OffsetMap mapY, W *out, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        out[i] = cond[at(mapC, i)] ? x[at(mapX, i)] : y[at(mapY, i)];
    }
}

template <typename S, typename D> __device__ __forceinline__ D castValue(S v)
{
    return static_cast<D>(v);
}

template <typename S, typename D> __global__ void castKernel(const S *src, D *dst, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        dst[i] = castValue<S, D>(src[i]);
    }
}

template <typename S>
__global__ void castToBoolKernel(const S *src, std::uint8_t *dst, std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        dst[i] = src[i] != S(0) ? 1 : 0;
    }
}

template <typename W>
__global__ void mappedCopyKernel(const W *src, OffsetMap mapS, W *dst, OffsetMap mapD,
                                 std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        dst[at(mapD, i)] = src[at(mapS, i)];
    }
}

template <typename W, typename I>
__global__ void gatherKernel(const W *data, const I *indices, W *out, std::int64_t outer,
                             std::int64_t axisLen, std::int64_t inner, std::int64_t indexCount)
{
    const std::int64_t n = outer * indexCount * inner;
    SB_GRID_STRIDE(i, n)
    {
        const std::int64_t in = i % inner;
        const std::int64_t rest = i / inner;
        const std::int64_t j = rest % indexCount;
        const std::int64_t o = rest / indexCount;
        std::int64_t index = static_cast<std::int64_t>(indices[j]);
        if (index < 0)
            index += axisLen;
        out[i] = (index >= 0 && index < axisLen) ? data[(o * axisLen + index) * inner + in] : W(0);
    }
}

template <typename W>
__global__ void triluKernel(const W *in, W *out, std::int64_t n, std::int64_t rows,
                            std::int64_t cols, std::int64_t k, bool upper)
{
    SB_GRID_STRIDE(i, n)
    {
        const std::int64_t col = i % cols;
        const std::int64_t row = (i / cols) % rows;
        const bool keep = upper ? (col - row >= k) : (col - row <= k);
        out[i] = keep ? in[i] : W(0);
    }
}

__global__ void biasActivationKernel(float *out, const float *bias, std::int64_t n,
                                     std::int64_t biasLen, std::int64_t biasInner, int activation,
                                     float lo, float hi)
{
    SB_GRID_STRIDE(i, n)
    {
        float v = out[i];
        if (bias)
            v += bias[(i / biasInner) % biasLen];
        out[i] = activate(v, activation, lo, hi);
    }
}

__global__ void scaledCopyKernel(const float *src, OffsetMap map, float *dst, float scale,
                                 std::int64_t n)
{
    SB_GRID_STRIDE(i, n)
    {
        dst[i] = scale * src[at(map, i)];
    }
}

// ---- block reductions ------------------------------------------------------------

// Tree reduction of one value per thread over the block (blockDim.x a power
// of two <= kThreads); every thread gets the result.
template <typename T, typename Merge> __device__ T blockReduce(T value, Merge merge)
{
    // Raw storage: T may have default member initialisers, which __shared__
    // variables cannot run.
    __shared__ __align__(16) unsigned char storage[kThreads * sizeof(T)];
    T *shared = reinterpret_cast<T *>(storage);
    shared[threadIdx.x] = value;
    __syncthreads();
    for (unsigned stride = blockDim.x / 2; stride > 0; stride /= 2) {
        if (threadIdx.x < stride)
            shared[threadIdx.x] = merge(shared[threadIdx.x], shared[threadIdx.x + stride]);
        __syncthreads();
    }
    T result = shared[0];
    __syncthreads(); // shared may be reused by the caller's next reduction
    return result;
}

struct MaxSumMerge
{
    __device__ MaxSum operator()(MaxSum a, MaxSum b) const { return maxSumMerge(a, b); }
};
struct MeanVarMerge
{
    __device__ MeanVar operator()(MeanVar a, MeanVar b) const { return meanVarMerge(a, b); }
};
struct FloatSum
{
    __device__ float operator()(float a, float b) const { return a + b; }
};

// One block per row of a [rows, n] softmax (inner == 1).
__global__ void softmaxRowsKernel(const float *x, float *y, std::int64_t rows, std::int64_t n)
{
    for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const float *px = x + row * n;
        float *py = y + row * n;
        MaxSum s;
        for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x)
            s = maxSumAdd(s, px[j]);
        s = blockReduce(s, MaxSumMerge{});
        for (std::int64_t j = threadIdx.x; j < n; j += blockDim.x)
            py[j] = softmaxApply(px[j], s);
    }
}

// One thread per (outer, inner) column when the softmax axis is not last.
__global__ void softmaxStridedKernel(const float *x, float *y, std::int64_t outer, std::int64_t n,
                                     std::int64_t inner)
{
    const std::int64_t columns = outer * inner;
    SB_GRID_STRIDE(c, columns)
    {
        const std::int64_t base = (c / inner) * n * inner + c % inner;
        MaxSum s;
        for (std::int64_t j = 0; j < n; ++j)
            s = maxSumAdd(s, x[base + j * inner]);
        for (std::int64_t j = 0; j < n; ++j)
            y[base + j * inner] = softmaxApply(x[base + j * inner], s);
    }
}

__global__ void layerNormKernel(const float *x, const float *scale, const float *bias, float *y,
                                float *meanOut, float *invStdOut, std::int64_t rows,
                                std::int64_t cols, float epsilon, bool scaleScalar, bool biasScalar)
{
    for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
        const float *px = x + row * cols;
        float *py = y + row * cols;
        MeanVar s;
        for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x)
            s = meanVarAdd(s, px[j]);
        s = blockReduce(s, MeanVarMerge{});
        const float invStd = rsqrtf(meanVarVariance(s) + epsilon);
        for (std::int64_t j = threadIdx.x; j < cols; j += blockDim.x) {
            const float g = scale[scaleScalar ? 0 : j];
            const float b = bias ? bias[biasScalar ? 0 : j] : 0.0f;
            py[j] = layerNormApply(px[j], s.mean, invStd, g, b);
        }
        if (threadIdx.x == 0) {
            if (meanOut)
                meanOut[row] = s.mean;
            if (invStdOut)
                invStdOut[row] = invStd;
        }
    }
}

__global__ void reduceKernel(int op, const float *x, float *out, std::int64_t outCount,
                             OffsetMap kept, OffsetMap reduced, std::int64_t reducedCount)
{
    SB_GRID_STRIDE(o, outCount)
    {
        const std::int64_t base = mapOffset(kept, o);
        float acc = op == 2 ? MaxOp::identity() : (op == 3 ? MinOp::identity() : 0.0f);
        for (std::int64_t r = 0; r < reducedCount; ++r) {
            const float v = x[base + mapOffset(reduced, r)];
            acc = op == 2 ? MaxOp{}(acc, v) : (op == 3 ? MinOp{}(acc, v) : SumOp{}(acc, v));
        }
        if (op == 1)
            acc = reducedCount ? acc / static_cast<float>(reducedCount) : 0.0f;
        out[o] = acc;
    }
}

__global__ void batchNormKernel(const float *x, const float *scale, const float *bias,
                                const float *mean, const float *var, float *y, std::int64_t total,
                                std::int64_t c, std::int64_t inner, float epsilon)
{
    SB_GRID_STRIDE(i, total)
    {
        const std::int64_t ch = (i / inner) % c;
        y[i] = (x[i] - mean[ch]) * rsqrtf(var[ch] + epsilon) * scale[ch] + bias[ch];
    }
}

__global__ void pool2dKernel(const float *x, float *y, Pool2dGeometry g, bool isMax)
{
    const std::int64_t total = g.planes * g.outH * g.outW;
    SB_GRID_STRIDE(i, total)
    {
        const std::int64_t ow = i % g.outW;
        const std::int64_t oh = (i / g.outW) % g.outH;
        const std::int64_t plane = i / (g.outW * g.outH);
        const float *px = x + plane * g.inH * g.inW;
        float acc = isMax ? MaxOp::identity() : 0.0f;
        std::int64_t counted = 0;
        for (std::int64_t kh = 0; kh < g.kH; ++kh) {
            const std::int64_t ih = oh * g.strideH - g.padTop + kh * g.dilationH;
            for (std::int64_t kw = 0; kw < g.kW; ++kw) {
                const std::int64_t iw = ow * g.strideW - g.padLeft + kw * g.dilationW;
                const bool inside = ih >= 0 && ih < g.inH && iw >= 0 && iw < g.inW;
                if (inside) {
                    const float v = px[ih * g.inW + iw];
                    acc = isMax ? MaxOp{}(acc, v) : acc + v;
                    ++counted;
                } else if (g.countIncludePad) {
                    ++counted;
                }
            }
        }
        y[i] = isMax ? acc : (counted ? acc / static_cast<float>(counted) : 0.0f);
    }
}

__global__ void planeMeanKernel(const float *x, float *y, std::int64_t planes, std::int64_t inner)
{
    for (std::int64_t p = blockIdx.x; p < planes; p += gridDim.x) {
        float s = 0.0f;
        for (std::int64_t j = threadIdx.x; j < inner; j += blockDim.x)
            s += x[p * inner + j];
        s = blockReduce(s, FloatSum{});
        if (threadIdx.x == 0)
            y[p] = inner ? s / static_cast<float>(inner) : 0.0f;
    }
}

unsigned grid(std::int64_t n)
{
    return gridFor(n, kThreads);
}

unsigned rowGrid(std::int64_t rows)
{
    return rows > 65535 * 4 ? 65535u * 4u : static_cast<unsigned>(rows < 1 ? 1 : rows);
}

} // namespace

cudaError_t launchUnary(int op, const float *x, float *y, std::int64_t n, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    unaryKernel<<<grid(n), kThreads, 0, stream>>>(op, x, y, n);
    return finish();
}

cudaError_t launchClip(const float *x, float *y, std::int64_t n, float lo, float hi,
                       cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    clipKernel<<<grid(n), kThreads, 0, stream>>>(x, y, n, lo, hi);
    return finish();
}

cudaError_t launchBinaryFloat(int op, const float *a, const OffsetMap *mapA, const float *b,
                              const OffsetMap *mapB, float *out, std::int64_t n,
                              cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    binaryFloatKernel<<<grid(n), kThreads, 0, stream>>>(op, a, orIdentity(mapA), b,
                                                        orIdentity(mapB), out, n);
    return finish();
}

cudaError_t launchBinaryInt64(int op, const std::int64_t *a, const OffsetMap *mapA,
                              const std::int64_t *b, const OffsetMap *mapB, std::int64_t *out,
                              std::int64_t n, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    binaryInt64Kernel<<<grid(n), kThreads, 0, stream>>>(op, a, orIdentity(mapA), b,
                                                        orIdentity(mapB), out, n);
    return finish();
}

cudaError_t launchCompare(int op, bool isInt64, const void *a, const OffsetMap *mapA, const void *b,
                          const OffsetMap *mapB, std::uint8_t *out, std::int64_t n,
                          cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    if (isInt64)
        compareKernel<<<grid(n), kThreads, 0, stream>>>(
            op, static_cast<const std::int64_t *>(a), orIdentity(mapA),
            static_cast<const std::int64_t *>(b), orIdentity(mapB), out, n);
    else
        compareKernel<<<grid(n), kThreads, 0, stream>>>(
            op, static_cast<const float *>(a), orIdentity(mapA), static_cast<const float *>(b),
            orIdentity(mapB), out, n);
    return finish();
}

cudaError_t launchNot(const std::uint8_t *x, std::uint8_t *y, std::int64_t n, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    notKernel<<<grid(n), kThreads, 0, stream>>>(x, y, n);
    return finish();
}

cudaError_t launchWhere(const std::uint8_t *cond, const OffsetMap *mapC, const void *x,
                        const OffsetMap *mapX, const void *y, const OffsetMap *mapY, void *out,
                        std::int64_t n, int elemSize, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    const bool known = bySize(elemSize, [&](auto tag) {
        using W = decltype(tag);
        whereKernel<<<grid(n), kThreads, 0, stream>>>(
            cond, orIdentity(mapC), static_cast<const W *>(x), orIdentity(mapX),
            static_cast<const W *>(y), orIdentity(mapY), static_cast<W *>(out), n);
    });
    return known ? finish() : cudaErrorInvalidValue;
}

namespace {

template <typename S>
cudaError_t castFrom(const S *src, void *dst, int dstType, std::int64_t n, cudaStream_t stream)
{
    switch (dstType) {
    case kCastFloat:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<float *>(dst), n);
        break;
    case kCastDouble:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<double *>(dst), n);
        break;
    case kCastInt64:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<std::int64_t *>(dst), n);
        break;
    case kCastInt32:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<std::int32_t *>(dst), n);
        break;
    case kCastBool:
        castToBoolKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<std::uint8_t *>(dst),
                                                           n);
        break;
    case kCastUInt8:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<std::uint8_t *>(dst), n);
        break;
    case kCastInt8:
        castKernel<<<grid(n), kThreads, 0, stream>>>(src, static_cast<std::int8_t *>(dst), n);
        break;
    default:
        return cudaErrorInvalidValue;
    }
    return finish();
}

} // namespace

cudaError_t launchCast(const void *src, int srcType, void *dst, int dstType, std::int64_t n,
                       cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    switch (srcType) {
    case kCastFloat:
        return castFrom(static_cast<const float *>(src), dst, dstType, n, stream);
    case kCastDouble:
        return castFrom(static_cast<const double *>(src), dst, dstType, n, stream);
    case kCastInt64:
        return castFrom(static_cast<const std::int64_t *>(src), dst, dstType, n, stream);
    case kCastInt32:
        return castFrom(static_cast<const std::int32_t *>(src), dst, dstType, n, stream);
    case kCastBool:
    case kCastUInt8:
        return castFrom(static_cast<const std::uint8_t *>(src), dst, dstType, n, stream);
    case kCastInt8:
        return castFrom(static_cast<const std::int8_t *>(src), dst, dstType, n, stream);
    default:
        return cudaErrorInvalidValue;
    }
}

cudaError_t launchMappedCopy(const void *src, const OffsetMap *mapS, void *dst,
                             const OffsetMap *mapD, std::int64_t n, int elemSize,
                             cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    const bool known = bySize(elemSize, [&](auto tag) {
        using W = decltype(tag);
        mappedCopyKernel<<<grid(n), kThreads, 0, stream>>>(static_cast<const W *>(src),
                                                           orIdentity(mapS), static_cast<W *>(dst),
                                                           orIdentity(mapD), n);
    });
    return known ? finish() : cudaErrorInvalidValue;
}

cudaError_t launchGather(const void *data, const void *indices, bool indicesInt64, void *out,
                         std::int64_t outer, std::int64_t axisLen, std::int64_t inner,
                         std::int64_t indexCount, int elemSize, cudaStream_t stream)
{
    const std::int64_t n = outer * indexCount * inner;
    if (n <= 0)
        return cudaSuccess;
    const bool known = bySize(elemSize, [&](auto tag) {
        using W = decltype(tag);
        if (indicesInt64)
            gatherKernel<<<grid(n), kThreads, 0, stream>>>(
                static_cast<const W *>(data), static_cast<const std::int64_t *>(indices),
                static_cast<W *>(out), outer, axisLen, inner, indexCount);
        else
            gatherKernel<<<grid(n), kThreads, 0, stream>>>(
                static_cast<const W *>(data), static_cast<const std::int32_t *>(indices),
                static_cast<W *>(out), outer, axisLen, inner, indexCount);
    });
    return known ? finish() : cudaErrorInvalidValue;
}

cudaError_t launchTrilu(const void *in, void *out, std::int64_t batch, std::int64_t rows,
                        std::int64_t cols, std::int64_t k, bool upper, int elemSize,
                        cudaStream_t stream)
{
    const std::int64_t n = batch * rows * cols;
    if (n <= 0)
        return cudaSuccess;
    const bool known = bySize(elemSize, [&](auto tag) {
        using W = decltype(tag);
        triluKernel<<<grid(n), kThreads, 0, stream>>>(
            static_cast<const W *>(in), static_cast<W *>(out), n, rows, cols, k, upper);
    });
    return known ? finish() : cudaErrorInvalidValue;
}

cudaError_t launchBiasActivation(float *out, const float *bias, std::int64_t n,
                                 std::int64_t biasLen, std::int64_t biasInner, int activation,
                                 float lo, float hi, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    if (bias && (biasLen <= 0 || biasInner <= 0))
        return cudaErrorInvalidValue;
    biasActivationKernel<<<grid(n), kThreads, 0, stream>>>(out, bias, n, biasLen, biasInner,
                                                           activation, lo, hi);
    return finish();
}

cudaError_t launchScaledCopy(const float *src, const OffsetMap *map, float *dst, float scale,
                             std::int64_t n, cudaStream_t stream)
{
    if (n <= 0)
        return cudaSuccess;
    scaledCopyKernel<<<grid(n), kThreads, 0, stream>>>(src, orIdentity(map), dst, scale, n);
    return finish();
}

cudaError_t launchSoftmax(const float *x, float *y, std::int64_t outer, std::int64_t n,
                          std::int64_t inner, cudaStream_t stream)
{
    if (outer <= 0 || n <= 0 || inner <= 0)
        return cudaSuccess;
    if (inner == 1)
        softmaxRowsKernel<<<rowGrid(outer), kThreads, 0, stream>>>(x, y, outer, n);
    else
        softmaxStridedKernel<<<grid(outer * inner), kThreads, 0, stream>>>(x, y, outer, n, inner);
    return finish();
}

cudaError_t launchLayerNorm(const float *x, const float *scale, const float *bias, float *y,
                            float *mean, float *invStd, std::int64_t rows, std::int64_t cols,
                            float epsilon, bool scaleScalar, bool biasScalar, cudaStream_t stream)
{
    if (rows <= 0 || cols <= 0)
        return cudaSuccess;
    layerNormKernel<<<rowGrid(rows), kThreads, 0, stream>>>(x, scale, bias, y, mean, invStd, rows,
                                                            cols, epsilon, scaleScalar, biasScalar);
    return finish();
}

cudaError_t launchReduce(int op, const float *x, float *out, std::int64_t outCount,
                         const OffsetMap &kept, const OffsetMap &reduced, std::int64_t reducedCount,
                         cudaStream_t stream)
{
    if (outCount <= 0)
        return cudaSuccess;
    reduceKernel<<<grid(outCount), kThreads, 0, stream>>>(op, x, out, outCount, kept, reduced,
                                                          reducedCount);
    return finish();
}

cudaError_t launchBatchNorm(const float *x, const float *scale, const float *bias,
                            const float *mean, const float *var, float *y, std::int64_t n,
                            std::int64_t c, std::int64_t inner, float epsilon, cudaStream_t stream)
{
    const std::int64_t total = n * c * inner;
    if (total <= 0)
        return cudaSuccess;
    batchNormKernel<<<grid(total), kThreads, 0, stream>>>(x, scale, bias, mean, var, y, total, c,
                                                          inner, epsilon);
    return finish();
}

cudaError_t launchPool2d(const float *x, float *y, const Pool2dGeometry &g, bool isMax,
                         cudaStream_t stream)
{
    const std::int64_t total = g.planes * g.outH * g.outW;
    if (total <= 0)
        return cudaSuccess;
    pool2dKernel<<<grid(total), kThreads, 0, stream>>>(x, y, g, isMax);
    return finish();
}

cudaError_t launchPlaneMean(const float *x, float *y, std::int64_t planes, std::int64_t inner,
                            cudaStream_t stream)
{
    if (planes <= 0)
        return cudaSuccess;
    planeMeanKernel<<<rowGrid(planes), kThreads, 0, stream>>>(x, y, planes, inner);
    return finish();
}

} // namespace sb::kernels::cuda
