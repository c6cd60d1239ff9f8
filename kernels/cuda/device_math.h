// Element math shared by the CUDA kernels and the host unit tests.
//
// Every function here is `__host__ __device__` under nvcc and plain inline
// C++ under the host compiler, so tests/kernels (built without nvcc) run the
// exact code the GPU runs and compare it with the CPU reference kernels:
//  - activations (Relu, Sigmoid, Tanh, Clip, GELU in its erf form);
//  - binary element functors (Add/Sub/Mul/Div/Pow/Max/Min, comparisons);
//  - index math: an OffsetMap turns a linear output index into an input
//    element offset (broadcasting, Transpose, Slice);
//  - reduction combine steps: sum/max/min, Welford mean/variance merge
//    (LayerNormalization) and the online-softmax (max, sum) merge.
// Only <cmath>/<cstdint> are used (INFINITY, not numeric_limits, which is
// not callable from device code without --expt-relaxed-constexpr): no CUDA header, so this header
// may be included by host code.
#pragma once

#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define SB_HD __host__ __device__ __forceinline__
#else
#define SB_HD inline
#endif

namespace sb::kernels::cudamath {

// ---- activations ------------------------------------------------------------

SB_HD float relu(float x)
{
    return x > 0.0f ? x : 0.0f;
}
SB_HD float sigmoid(float x)
{
    return 1.0f / (1.0f + expf(-x));
}
SB_HD float clip(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}
// x * 0.5 * (1 + erf(x / sqrt(2))): ONNX Gelu (approximate="none"), the
// exporters' Erf form that the fusion pass turns into sb.Gelu.
SB_HD float geluErf(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}
// Epilogue activations of the fused ops (the Activation kinds of
// kernels/cpu/nn_common.h: 0 none, 1 Relu, 2 Gelu, 3 Clip).
enum ActivationKind : int
{
    kActNone = 0,
    kActRelu = 1,
    kActGelu = 2,
    kActClip = 3
};
SB_HD float activate(float x, int kind, float lo, float hi)
{
    switch (kind) {
    case kActRelu:
        return relu(x);
    case kActGelu:
        return geluErf(x);
    case kActClip:
        return clip(x, lo, hi);
    default:
        return x;
    }
}

// Unary ops by code (the CUDA elementwise kernel's switch).
enum UnaryOp : int
{
    kUnaryRelu,
    kUnarySigmoid,
    kUnaryTanh,
    kUnaryErf,
    kUnaryGelu,
    kUnarySqrt,
    kUnaryReciprocal,
    kUnaryExp,
    kUnaryLog,
    kUnaryNeg,
    kUnaryAbs,
    kUnaryIdentity
};
SB_HD float unary(int op, float x)
{
    switch (op) {
    case kUnaryRelu:
        return relu(x);
    case kUnarySigmoid:
        return sigmoid(x);
    case kUnaryTanh:
        return tanhf(x);
    case kUnaryErf:
        return erff(x);
    case kUnaryGelu:
        return geluErf(x);
    case kUnarySqrt:
        return sqrtf(x);
    case kUnaryReciprocal:
        return 1.0f / x;
    case kUnaryExp:
        return expf(x);
    case kUnaryLog:
        return logf(x);
    case kUnaryNeg:
        return -x;
    case kUnaryAbs:
        return fabsf(x);
    default:
        return x;
    }
}

// ---- binary ops -------------------------------------------------------------

enum BinaryOp : int
{
    kBinaryAdd,
    kBinarySub,
    kBinaryMul,
    kBinaryDiv,
    kBinaryPow,
    kBinaryMax,
    kBinaryMin
};
// Float arithmetic. Pow with an exponent of exactly 2 or 0.5 uses x*x / sqrt
// (as exact as powf and what normalisation patterns use).
SB_HD float binary(int op, float a, float b)
{
    switch (op) {
    case kBinaryAdd:
        return a + b;
    case kBinarySub:
        return a - b;
    case kBinaryMul:
        return a * b;
    case kBinaryDiv:
        return a / b;
    case kBinaryPow:
        if (b == 2.0f)
            return a * a;
        if (b == 0.5f)
            return sqrtf(a);
        return powf(a, b);
    case kBinaryMax:
        return a > b ? a : b;
    default:
        return a < b ? a : b;
    }
}
// Integer arithmetic (shape and index math): Div truncates toward zero like
// C++ and the CPU kernels; division by zero yields 0 instead of trapping.
SB_HD std::int64_t binaryInt(int op, std::int64_t a, std::int64_t b)
{
    switch (op) {
    case kBinaryAdd:
        return a + b;
    case kBinarySub:
        return a - b;
    case kBinaryMul:
        return a * b;
    case kBinaryDiv:
        return b == 0 ? 0 : a / b;
    case kBinaryPow: {
        std::int64_t r = 1;
        for (std::int64_t i = 0; i < b && i < 64; ++i)
            r *= a;
        return b < 0 ? 0 : r;
    }
    case kBinaryMax:
        return a > b ? a : b;
    default:
        return a < b ? a : b;
    }
}

enum CompareOp : int
{
    kCompareGreater,
    kCompareLess,
    kCompareEqual,
    kCompareGreaterOrEqual,
    kCompareLessOrEqual
};
template <typename T> SB_HD bool compare(int op, T a, T b)
{
    switch (op) {
    case kCompareGreater:
        return a > b;
    case kCompareLess:
        return a < b;
    case kCompareEqual:
        return a == b;
    case kCompareGreaterOrEqual:
        return a >= b;
    default:
        return a <= b;
    }
}

// ---- index math -------------------------------------------------------------

constexpr int kMaxDims = 8;

// Maps a linear index over `dims` (row-major) to base + sum(coord[d] *
// strides[d]). Broadcasting: the input's strides with 0 where it has size 1
// (or is missing); Transpose: the input's strides permuted; Slice: the input's
// strides times the step, base at the first element.
struct OffsetMap
{
    int rank = 0;
    std::int64_t base = 0;
    std::int64_t dims[kMaxDims] = {};
    std::int64_t strides[kMaxDims] = {};
};

SB_HD std::int64_t mapOffset(const OffsetMap &map, std::int64_t linear)
{
    std::int64_t offset = map.base;
    for (int d = map.rank - 1; d >= 0; --d) {
        const std::int64_t extent = map.dims[d];
        const std::int64_t q = linear / extent;
        offset += (linear - q * extent) * map.strides[d];
        linear = q;
    }
    return offset;
}

// Host-side builders (inputs are plain arrays so tests and kernels share them).
// Return false when the rank exceeds kMaxDims or the shapes do not broadcast.

// `in` (rank inRank) seen from broadcast output `out` (rank outRank >= inRank).
inline bool broadcastMap(const std::int64_t *in, int inRank, const std::int64_t *out, int outRank,
                         OffsetMap &map)
{
    if (outRank > kMaxDims || inRank > outRank)
        return false;
    map = OffsetMap{};
    map.rank = outRank;
    std::int64_t stride = 1;
    for (int d = outRank - 1; d >= 0; --d) {
        const int id = d - (outRank - inRank);
        map.dims[d] = out[d];
        if (id < 0) {
            map.strides[d] = 0;
            continue;
        }
        if (in[id] != out[d] && in[id] != 1)
            return false;
        map.strides[d] = in[id] == 1 ? 0 : stride;
        stride *= in[id];
    }
    return true;
}

// Transpose: output dim d is input dim perm[d].
inline bool transposeMap(const std::int64_t *in, int rank, const std::int64_t *perm, OffsetMap &map)
{
    if (rank > kMaxDims)
        return false;
    std::int64_t inStrides[kMaxDims];
    std::int64_t stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
        inStrides[d] = stride;
        stride *= in[d];
    }
    map = OffsetMap{};
    map.rank = rank;
    for (int d = 0; d < rank; ++d) {
        if (perm[d] < 0 || perm[d] >= rank)
            return false;
        map.dims[d] = in[perm[d]];
        map.strides[d] = inStrides[perm[d]];
    }
    return true;
}

// Slice with normalised per-axis start and step (every axis; step 1 and
// start 0 where not sliced) producing `outDims`.
inline bool sliceMap(const std::int64_t *in, int rank, const std::int64_t *starts,
                     const std::int64_t *steps, const std::int64_t *outDims, OffsetMap &map)
{
    if (rank > kMaxDims)
        return false;
    map = OffsetMap{};
    map.rank = rank;
    std::int64_t stride = 1;
    for (int d = rank - 1; d >= 0; --d) {
        map.dims[d] = outDims[d];
        map.strides[d] = stride * steps[d];
        map.base += starts[d] * stride;
        stride *= in[d];
    }
    return true;
}

// ---- reduction combine steps --------------------------------------------------

struct SumOp
{
    static SB_HD float identity() { return 0.0f; }
    SB_HD float operator()(float a, float b) const { return a + b; }
};
struct MaxOp
{
    static SB_HD float identity() { return -INFINITY; }
    SB_HD float operator()(float a, float b) const { return a > b ? a : b; }
};
struct MinOp
{
    static SB_HD float identity() { return INFINITY; }
    SB_HD float operator()(float a, float b) const { return a < b ? a : b; }
};

// Welford running mean / sum of squared deviations; merge is Chan et al.'s
// parallel update, so any tree of merges gives the same statistics (up to
// rounding) as one sequential pass.
struct MeanVar
{
    float count = 0;
    float mean = 0;
    float m2 = 0;
};
SB_HD MeanVar meanVarAdd(MeanVar s, float x)
{
    s.count += 1.0f;
    const float delta = x - s.mean;
    s.mean += delta / s.count;
    s.m2 += delta * (x - s.mean);
    return s;
}
SB_HD MeanVar meanVarMerge(MeanVar a, MeanVar b)
{
    if (b.count == 0.0f)
        return a;
    if (a.count == 0.0f)
        return b;
    MeanVar r;
    r.count = a.count + b.count;
    const float delta = b.mean - a.mean;
    const float wb = b.count / r.count;
    r.mean = a.mean + delta * wb;
    r.m2 = a.m2 + b.m2 + delta * delta * a.count * wb;
    return r;
}
// Population variance (what LayerNormalization uses).
SB_HD float meanVarVariance(MeanVar s)
{
    return s.count > 0.0f ? s.m2 / s.count : 0.0f;
}
SB_HD float layerNormApply(float x, float mean, float invStd, float scale, float bias)
{
    return (x - mean) * invStd * scale + bias;
}

// Online softmax: the running maximum and the sum of exp(x - max). Merging
// rescales the smaller side's sum; an empty side (max = -inf) is skipped so
// -inf - -inf never produces NaN.
struct MaxSum
{
    float max = -INFINITY;
    float sum = 0;
};
SB_HD MaxSum maxSumAdd(MaxSum s, float x)
{
    if (x == -INFINITY)
        return s; // a masked logit adds exp(-inf) = 0 (and -inf - -inf would be NaN)
    if (x <= s.max) {
        s.sum += expf(x - s.max);
        return s;
    }
    s.sum = s.sum * expf(s.max - x) + 1.0f;
    s.max = x;
    return s;
}
SB_HD MaxSum maxSumMerge(MaxSum a, MaxSum b)
{
    if (b.sum == 0.0f)
        return a;
    if (a.sum == 0.0f)
        return b;
    MaxSum r;
    r.max = a.max > b.max ? a.max : b.max;
    r.sum = a.sum * expf(a.max - r.max) + b.sum * expf(b.max - r.max);
    return r;
}
SB_HD float softmaxApply(float x, MaxSum s)
{
    return expf(x - s.max) / s.sum;
}

// ---- launch geometry ----------------------------------------------------------

// Blocks for a grid-stride loop over `count` elements: enough to fill the
// GPU, capped so the grid dimension stays valid (kernels loop over the rest).
inline unsigned gridFor(std::int64_t count, int threadsPerBlock, unsigned maxBlocks = 65535u * 4u)
{
    if (count <= 0)
        return 1;
    const std::int64_t blocks = (count + threadsPerBlock - 1) / threadsPerBlock;
    return blocks > static_cast<std::int64_t>(maxBlocks) ? maxBlocks
                                                         : static_cast<unsigned>(blocks);
}

} // namespace sb::kernels::cudamath
