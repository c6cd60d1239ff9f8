// Registration of the fast CPU kernels (kernels/cpu/fast).
#pragma once

#include "core/runtime/kernel_registry.h"

namespace sb::kernels {
void registerFastNn(runtime::KernelRegistry &registry);
void registerFastTensorOps(runtime::KernelRegistry &registry);
} // namespace sb::kernels
