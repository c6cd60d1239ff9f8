// Registration of the fast CPU kernels (kernels/cpu/fast).
#pragma once

#include "core/runtime/kernel_registry.h"
#include "kernels/cpu/nn_common.h"

#include <cstdint>

namespace sb::kernels {
void registerFastNn(runtime::KernelRegistry &registry);
void registerFastTensorOps(runtime::KernelRegistry &registry);
// Int8 kernels (quant_fast.cpp); after registerFastNn (wraps its MaxPool).
void registerFastQuant(runtime::KernelRegistry &registry);
// Rate classes and work of the CPU kernels for the cost model (profiles.cpp);
// registered after every kernel.
void registerCpuProfiles(runtime::KernelRegistry &registry);

// The scratch (floats, scratch.h) sb.FusedPointwiseDepthwise takes for this
// geometry on a pool of `threads`; channelBlock: the node's channel_block
// attribute (0: chosen by the kernel).
std::int64_t pointwiseDepthwiseScratchFloats(const PointwiseDepthwiseGeometry &g,
                                             std::int64_t channelBlock, int threads);
} // namespace sb::kernels
