// Registration of the fast CPU kernels (kernels/cpu/fast).
#pragma once

#include "core/runtime/kernel_registry.h"

namespace sb::kernels {
void registerFastNn(runtime::KernelRegistry &registry);
void registerFastTensorOps(runtime::KernelRegistry &registry);
// Int8 kernels (quant_fast.cpp); after registerFastNn (wraps its MaxPool).
void registerFastQuant(runtime::KernelRegistry &registry);
// Rate classes and work of the CPU kernels for the cost model (profiles.cpp);
// registered after every kernel.
void registerCpuProfiles(runtime::KernelRegistry &registry);
} // namespace sb::kernels
