// The CPU op list: registration of every kernel into a KernelRegistry.
//
// registerCpuKernels adds the reference kernels (kernels/cpu/reference, the
// oracle) and the fast kernels (kernels/cpu/fast: OpenBLAS GEMM, im2col
// convolution, vectorised elementwise/softmax/layernorm on the device's
// thread pool). defaultRegistry() is a process-wide registry populated once.
#pragma once

#include "core/runtime/kernel_registry.h"

namespace sb::kernels {

void registerCpuKernels(runtime::KernelRegistry &registry);
const runtime::KernelRegistry &defaultRegistry();

// OpenBLAS runs single-threaded inside our pools (each device splits GEMMs
// over its own threads); called once by defaultRegistry().
void configureBlasThreads();

} // namespace sb::kernels
