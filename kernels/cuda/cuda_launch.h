// Launchers of the CUDA element kernels (cuda_launch.cu). Internal to
// kernels/cuda: the op logic (shapes, attributes, errors naming the node)
// lives in cuda_kernels.cpp, compiled by the host compiler; these functions
// only enqueue work on `stream` and return the launch status.
//
// Conventions: sizes and indices are int64; every kernel uses a grid-stride
// loop bounded by its element count, so any count is safe with any grid; no
// launch happens for an empty tensor. Element math is device_math.h.
#pragma once

#include "kernels/cuda/device_math.h"

#include <cuda_runtime_api.h>

#include <cstdint>

namespace sb::kernels::cuda {

using cudamath::OffsetMap;

// Element type codes for Cast.
enum CastType : int
{
    kCastFloat,
    kCastDouble,
    kCastInt64,
    kCastInt32,
    kCastBool, // one byte, 0 or 1
    kCastUInt8,
    kCastInt8
};

// y[i] = unary(op, x[i]); Clip: clip(x, lo, hi).
cudaError_t launchUnary(int op, const float *x, float *y, std::int64_t n, cudaStream_t stream);
cudaError_t launchClip(const float *x, float *y, std::int64_t n, float lo, float hi,
                       cudaStream_t stream);
// out[i] = op(a[mapA(i)], b[mapB(i)]); a null map means contiguous (index i).
cudaError_t launchBinaryFloat(int op, const float *a, const OffsetMap *mapA, const float *b,
                              const OffsetMap *mapB, float *out, std::int64_t n,
                              cudaStream_t stream);
cudaError_t launchBinaryInt64(int op, const std::int64_t *a, const OffsetMap *mapA,
                              const std::int64_t *b, const OffsetMap *mapB, std::int64_t *out,
                              std::int64_t n, cudaStream_t stream);
// Comparisons into bool (one byte). `isInt64`: operands are int64, else float.
cudaError_t launchCompare(int op, bool isInt64, const void *a, const OffsetMap *mapA, const void *b,
                          const OffsetMap *mapB, std::uint8_t *out, std::int64_t n,
                          cudaStream_t stream);
cudaError_t launchNot(const std::uint8_t *x, std::uint8_t *y, std::int64_t n, cudaStream_t stream);
// out[i] = cond[mapC(i)] ? x[mapX(i)] : y[mapY(i)], elements of elemSize bytes (1, 2, 4, 8).
cudaError_t launchWhere(const std::uint8_t *cond, const OffsetMap *mapC, const void *x,
                        const OffsetMap *mapX, const void *y, const OffsetMap *mapY, void *out,
                        std::int64_t n, int elemSize, cudaStream_t stream);
cudaError_t launchCast(const void *src, int srcType, void *dst, int dstType, std::int64_t n,
                       cudaStream_t stream);
// dst[mapD(i)] = src[mapS(i)] for i < n (null map: contiguous); Transpose,
// Slice, Concat (dst map), Split (src map), Expand.
cudaError_t launchMappedCopy(const void *src, const OffsetMap *mapS, void *dst,
                             const OffsetMap *mapD, std::int64_t n, int elemSize,
                             cudaStream_t stream);
// Gather along an axis: out[o, j, i] = data[o, idx[j], i] with data
// [outer, axisLen, inner]; negative indices count from the end; an index out
// of range writes zeros (the host checks host-resident indices first).
cudaError_t launchGather(const void *data, const void *indices, bool indicesInt64, void *out,
                         std::int64_t outer, std::int64_t axisLen, std::int64_t inner,
                         std::int64_t indexCount, int elemSize, cudaStream_t stream);
// Trilu over the last two dims [batch, rows, cols]; keeps j - i >= k (upper)
// or j - i <= k (lower), zeros elsewhere.
cudaError_t launchTrilu(const void *in, void *out, std::int64_t batch, std::int64_t rows,
                        std::int64_t cols, std::int64_t k, bool upper, int elemSize,
                        cudaStream_t stream);
// out[i] = activate(out[i] + bias[(i / biasInner) % biasLen]) (bias may be
// null): the epilogue of GEMMs (biasInner 1) and convolutions (biasInner H*W).
cudaError_t launchBiasActivation(float *out, const float *bias, std::int64_t n,
                                 std::int64_t biasLen, std::int64_t biasInner, int activation,
                                 float lo, float hi, cudaStream_t stream);
// dst[i] = scale * src[map(i)] (Gemm's beta * C broadcast to [M, N]).
cudaError_t launchScaledCopy(const float *src, const OffsetMap *map, float *dst, float scale,
                             std::int64_t n, cudaStream_t stream);
// Softmax over x viewed as [outer, n, inner] along n.
cudaError_t launchSoftmax(const float *x, float *y, std::int64_t outer, std::int64_t n,
                          std::int64_t inner, cudaStream_t stream);
// LayerNormalization over rows of `cols`; mean / invStd (optional) per row.
cudaError_t launchLayerNorm(const float *x, const float *scale, const float *bias, float *y,
                            float *mean, float *invStd, std::int64_t rows, std::int64_t cols,
                            float epsilon, bool scaleScalar, bool biasScalar, cudaStream_t stream);
// Reduction: out[o] = reduce over r < reducedCount of x[kept(o) + reduced(r)],
// op 0 sum, 1 mean, 2 max, 3 min.
cudaError_t launchReduce(int op, const float *x, float *out, std::int64_t outCount,
                         const OffsetMap &kept, const OffsetMap &reduced, std::int64_t reducedCount,
                         cudaStream_t stream);
// Inference BatchNormalization on [n, c, inner].
cudaError_t launchBatchNorm(const float *x, const float *scale, const float *bias,
                            const float *mean, const float *var, float *y, std::int64_t n,
                            std::int64_t c, std::int64_t inner, float epsilon, cudaStream_t stream);
struct Pool2dGeometry
{
    std::int64_t planes = 0; // n * c
    std::int64_t inH = 0, inW = 0, outH = 0, outW = 0;
    std::int64_t kH = 1, kW = 1, strideH = 1, strideW = 1, dilationH = 1, dilationW = 1;
    std::int64_t padTop = 0, padLeft = 0;
    bool countIncludePad = false;
};
cudaError_t launchPool2d(const float *x, float *y, const Pool2dGeometry &g, bool isMax,
                         cudaStream_t stream);
// y[p] = mean of x[p, 0..inner) for each of `planes` planes.
cudaError_t launchPlaneMean(const float *x, float *y, std::int64_t planes, std::int64_t inner,
                            cudaStream_t stream);

} // namespace sb::kernels::cuda
