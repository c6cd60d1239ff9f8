// float16 support for the CPU kernels by widening to float32 (see half_float.cpp).
#pragma once

#include "core/runtime/kernel_registry.h"

namespace sb::kernels {

// Wraps every computing CPU kernel registered so far (both variants) so that
// float16 inputs run through its float32 code and float32 outputs come back
// as float16. Call after all CPU kernels are registered.
void wrapHalfAsFloat(runtime::KernelRegistry &registry);

} // namespace sb::kernels
