// Channels-last int8 activations between the fused int8 kernels.
//
// The fusion pass (core/runtime/fusion.h, FusionOptions::int8ChannelsLast)
// may store a 4-D int8 value that flows only between int8 kernels with its
// bytes in NHWC order, so that oneDNN's int8 convolutions (which compute on
// NHWC) read and write it without a reorder per node. Such a tensor keeps
// its logical [N, C, H, W] shape (like PyTorch's channels_last memory
// format); only the order of its bytes differs, and only the nodes that
// declare it ever read it (a graph output so stored, the Executor hands back
// planar). A node declares its layout with two attributes:
//   channels_last_inputs  ints: indices of the inputs stored NHWC
//   channels_last_output  int: 1 when output 0 is stored NHWC
// Every kernel of such a node (fast and reference) honours them; the
// reference kernels by runAsNchw below, so the oracle stays the plain NCHW
// op applied to the logical tensors.
#pragma once

#include "kernels/cpu/kernel_util.h"

#include <functional>

namespace sb::kernels {

inline constexpr const char *kChannelsLastInputs = "channels_last_inputs";
inline constexpr const char *kChannelsLastOutput = "channels_last_output";

// Whether input i / output 0 of the node is stored channels-last.
bool inputChannelsLast(const graph::Node &node, std::size_t input);
bool outputChannelsLast(const graph::Node &node);
// Whether any input or the output is.
bool anyChannelsLast(const graph::Node &node);

// Byte-wise permutes of `images` images of `channels` x `pixels` elements of
// `elementBytes` each: NCHW -> NHWC and back.
void nchwToNhwc(const void *src, void *dst, std::int64_t images, std::int64_t channels,
                std::int64_t pixels, std::size_t elementBytes);
void nhwcToNchw(const void *src, void *dst, std::int64_t images, std::int64_t channels,
                std::int64_t pixels, std::size_t elementBytes);

// Runs `nchwKernel` (which knows only NCHW) for a node with channels-last
// operands: its channels-last inputs are copied to NCHW, the kernel runs on
// a copy of the node without the layout attributes, and output 0 is written
// back channels-last when the node says so. Rank-4 operands only (others
// are an error). For the reference kernels and the fast kernels' fallbacks.
Status runAsNchw(KernelContext &ctx, const std::function<Status(KernelContext &)> &nchwKernel);

} // namespace sb::kernels
