// Shape/attribute logic shared by the reference and fast NN kernels, so both
// variants agree on geometry and differ only in arithmetic.
#pragma once

#include "kernels/cpu/kernel_util.h"

namespace sb::kernels {

struct MatMulShape
{
    Shape outShape;
    std::int64_t m = 0, k = 0, n = 0, batch = 1;
    std::vector<std::int64_t> aOffsets, bOffsets; // element offset of each batch's matrix
    std::int64_t aOffset(std::int64_t b) const { return aOffsets[static_cast<std::size_t>(b)]; }
    std::int64_t bOffset(std::int64_t b) const { return bOffsets[static_cast<std::size_t>(b)]; }
};
Result<MatMulShape> matmulShape(KernelContext &ctx, const Shape &a, const Shape &b);

struct GemmArgs
{
    std::int64_t m = 0, k = 0, n = 0;
    bool transA = false, transB = false;
    float alpha = 1, beta = 1;
};
Result<GemmArgs> gemmArgs(KernelContext &ctx);
// out += beta * C (broadcast to [M, N]) when input 2 is present.
Status gemmAddC(KernelContext &ctx, const GemmArgs &args, Tensor &out);

struct ConvGeometry
{
    std::int64_t n = 0, inChannels = 0, outChannels = 0, group = 1;
    Shape inSpatial, outSpatial, kernel;
    std::vector<std::int64_t> strides, dilations, padBegin, padEnd;
};
// Where the weight and bias sit among the node's inputs (QLinearConv: 3 and 8)
// and whether only float32 is accepted (ConvInteger/QLinearConv: any type).
struct ConvOperands
{
    std::size_t weight = 1, bias = 2;
    bool floatOnly = true;
};
Result<ConvGeometry> convGeometry(KernelContext &ctx, const ConvOperands &operands = {});

struct Activation;

// sb.FusedPointwiseDepthwise(X, W1, B1?, W2, B2?): a 1x1 stride-1 unpadded
// Conv (W1 [channels, inChannels, 1, 1]) with activation `pointwise_activation`
// (pointwise_clip_min/max), whose output feeds a depthwise Conv (W2
// [channels, 1, kH, kW], group = channels) with the node's Conv attributes
// (strides, pads, dilations, auto_pad) and activation `activation`
// (clip_min/max). 2-D only. `channel_block` (optional, > 0) sets the fast
// kernel's expanded channels per task (tests use it; 0 or absent = auto).
// X and the output may be stored channels-last (channels_last_inputs {0} /
// channels_last_output, kernels/cpu/channels_last.h).
struct PointwiseDepthwiseGeometry
{
    std::int64_t n = 0, inChannels = 0, channels = 0;
    std::int64_t inH = 0, inW = 0, outH = 0, outW = 0, kernelH = 0, kernelW = 0;
    std::int64_t strideH = 1, strideW = 1, dilationH = 1, dilationW = 1, padTop = 0, padLeft = 0;
    bool xChannelsLast = false, yChannelsLast = false;
};
// The largest input plane (inH * inW) on which the fast kernel computes with
// channels-last operands as they are; on larger ones it converts them to
// planes and back (in its scratch). Its KernelInfo::channelsLastPlane on
// AVX-512 CPUs, so the fusion pass marks the operands channels-last only up
// to this size there.
inline constexpr std::int64_t kPointwiseDepthwiseChannelsLastPlane = 256;
Result<PointwiseDepthwiseGeometry> pointwiseDepthwiseGeometry(KernelContext &ctx);

struct PoolGeometry
{
    std::int64_t n = 0, channels = 0;
    Shape inSpatial, outSpatial, kernel;
    std::vector<std::int64_t> strides, dilations, padBegin, padEnd;
};
Result<PoolGeometry> poolGeometry(KernelContext &ctx);

struct LayerNormArgs
{
    std::int64_t rows = 0, cols = 0;
    double epsilon = 1e-5;
    Shape statShape;
    bool scaleScalar = false, biasScalar = false;
    std::int64_t scaleIndex(std::int64_t i) const { return scaleScalar ? 0 : i; }
    std::int64_t biasIndex(std::int64_t i) const { return biasScalar ? 0 : i; }
};
Result<LayerNormArgs> layerNormArgs(KernelContext &ctx);

struct Activation
{
    enum Kind
    {
        None,
        Relu,
        Gelu,
        Clip
    } kind = None;
    float lo = 0, hi = 0;
};
Activation activationOf(const graph::Node &node);
// The activation named by attribute `<prefix>activation` (with
// `<prefix>clip_min` / `<prefix>clip_max`), e.g. prefix "pointwise_".
Activation activationOf(const graph::Node &node, const std::string &prefix);

// sb.FusedPointwiseDepthwise's operands, checked, with its output allocated
// ([n, channels, outH, outW]); shared by the reference and fast kernels.
struct PointwiseDepthwiseOperands
{
    PointwiseDepthwiseGeometry g;
    const float *x = nullptr, *w1 = nullptr, *b1 = nullptr, *w2 = nullptr, *b2 = nullptr;
    Activation act1, act2; // after the pointwise conv, after the depthwise conv
    float *out = nullptr;
};
Result<PointwiseDepthwiseOperands> pointwiseDepthwiseOperands(KernelContext &ctx);
void applyActivation(float *data, std::int64_t count, const Activation &act);
void applyActivation(Tensor &t, const Activation &act);
// out[..., j] += bias[j] (float32).
Status addBiasLastAxis(KernelContext &ctx, Tensor &out, const Tensor &bias);

} // namespace sb::kernels
