// Graph passes that fuse common patterns into single kernels. Each pass can
// be switched off (tests run with and without). A pass only fuses when every
// intermediate value has exactly one consumer and is not a graph output, so
// the fused graph computes the same outputs.
//
// Fused ops (domain "sb", run by kernels/):
//  - sb.FusedMatMul(A, B, bias?) attr activation "" | "Relu" | "Gelu":
//    MatMul (+ Add of a 1-D bias over the last axis) (+ Relu / GELU).
//  - sb.FusedGemm(A, B, C?) Gemm attributes + activation "Relu" | "Gelu".
//  - sb.FusedConv(X, W, B?, R?) Conv attributes + activation "Relu" | "Clip"
//    (with attributes min/max, e.g. ReLU6); R (optional, same shape as
//    the output) is added before the activation: Conv -> Add -> Relu
//    (ResNet's residual add; CPU executors only, FusionOptions::residualAdd).
//  - sb.FusedPointwiseDepthwise(X, W1, B1?, W2, B2?): a 1x1 stride-1 Conv /
//    FusedConv (group 1, no padding) whose output only feeds a depthwise
//    Conv / FusedConv (group = channels); the depthwise's attributes and
//    activation, the pointwise's as pointwise_activation / pointwise_clip_min
//    / pointwise_clip_max. The fast kernel never stores the expanded tensor.
//  - QDQ int8 graphs (the layout quantizers emit): DequantizeLinear ->
//    Conv [-> Relu] -> QuantizeLinear becomes sb.QLinearConv (QLinearConv's
//    inputs and attributes + activation "" | "Relu"); DQ -> Gemm / MatMul
//    (constant 2-D int8 B) [-> Relu] -> Q becomes sb.QGemm(A, a_scale, a_zp,
//    B, b_scale, b_zp, y_scale, y_zp, bias?) with transB; DQ, DQ -> Add
//    [-> Relu] -> Q (same shapes) becomes sb.QLinearAdd(A, a_scale, a_zp, B,
//    b_scale, b_zp, y_scale, y_zp); DQ -> MaxPool -> Q with equal parameters
//    becomes MaxPool on the int8 tensor. Weights must be 8-bit constants
//    (per tensor or per output channel), biases int32 with scale
//    x_scale * w_scale and zero point 0; activations per tensor. Then the
//    DequantizeLinear nodes nobody reads any more are dropped: int8 tensors
//    flow between fused int8 kernels (CPU executors only, FusionOptions::qdq).
//    Then (FusionOptions::int8ChannelsLast) the 4-D int8 values that only
//    flow between sb.QLinearConv (2-D), sb.QLinearAdd and int8 MaxPool
//    nodes are stored channels-last (NHWC bytes under the NCHW shape;
//    kernels/cpu/channels_last.h): the nodes get channels_last_inputs (input
//    indices) / channels_last_output (1), an Add's or MaxPool's operands and
//    output all or none. A graph output is one of them only when its
//    producer ties inputs to it (the Executor hands it back planar). oneDNN's int8
//    convolutions compute on NHWC, so a chain then reorders only at its ends.
//    Then (FusionOptions::floatChannelsLast, off by default; CPU executors
//    switch it on) the same for the 4-D float32 values that only flow
//    between 2-D Conv / sb.FusedConv nodes (input, output, and the residual
//    tied to the output), float MaxPool (input and output tied),
//    sb.FusedPointwiseDepthwise on input planes of known size up to
//    pointwiseDepthwiseChannelsLastPlane (input and output; where its
//    small-plane kernel computes channels last) and
//    into GlobalAveragePool: oneDNN's float convolutions read and write NHWC
//    without the reorders in and out of their blocked layouts per node.
//  - sb.Gelu(X): x * 0.5 * (1 + erf(x / sqrt(2))) (the exporter's Erf form).
//  - LayerNorm pattern ReduceMean/Sub/Pow/ReduceMean/Add/Sqrt/Div/Mul/Add
//    becomes the standard LayerNormalization(axis = -1).
#pragma once

#include "core/graph/graph.h"

namespace sb::runtime {

struct FusionOptions
{
    bool layerNorm = true;
    bool gelu = true;
    bool biasActivation = true;     // into MatMul/Gemm/Conv epilogues
    bool pointwiseDepthwise = true; // 1x1 expand conv + depthwise conv (MobileNet blocks)
    bool residualAdd = true;        // Conv + Add of a same-shape tensor (+ activation)
    bool qdq = true;                // DequantizeLinear -> op -> QuantizeLinear into int8 ops
    bool int8ChannelsLast = true;   // int8 values between int8 ops stored NHWC (with qdq)
    bool floatChannelsLast = false; // float values between convs / pools stored NHWC
    // With floatChannelsLast: sb.FusedPointwiseDepthwise's input and output
    // may be stored NHWC where its input plane is known and at most this
    // (H * W; 0 = never). The executor takes it from the device's kernel
    // (KernelInfo::channelsLastPlane).
    std::int64_t pointwiseDepthwiseChannelsLastPlane = 0;
};

struct FusionReport
{
    int layerNorm = 0;
    int gelu = 0;
    int matmulEpilogue = 0;
    int convEpilogue = 0;
    int convResidual = 0;
    int pointwiseDepthwise = 0;
    int qdq = 0;               // int8 ops made from QDQ patterns
    int int8ChannelsLast = 0;  // int8 values stored channels-last
    int floatChannelsLast = 0; // float32 values stored channels-last
};

// Rewrites `graph` in place (keeps topological order, calls rebuildIndex).
FusionReport applyFusions(graph::Graph &graph, const FusionOptions &options = {});

} // namespace sb::runtime
