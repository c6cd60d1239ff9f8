#include "kernels/registry.h"

#include "core/runtime/tensor_parallel.h"
#include "kernels/cpu/fast/fast.h"
#include "kernels/cpu/half_float.h"
#include "kernels/cpu/reference/reference.h"
#ifdef SHARDBENCH_HAVE_CUDA
#include "kernels/cuda/cuda_device.h"
#endif

#include <cblas.h>

#include <mutex>

namespace sb::kernels {

void configureBlasThreads()
{
    // Our pools parallelise GEMMs by splitting the output; OpenBLAS's own
    // threads would oversubscribe the cores a device owns.
    openblas_set_num_threads(1);
}

void registerCpuKernels(runtime::KernelRegistry &registry)
{
    registerReferenceElementwise(registry);
    registerReferenceShapeOps(registry);
    registerReferenceReduce(registry);
    registerReferenceNn(registry);
    registerReferenceResize(registry);
    registerReferenceLoss(registry);
    registerReferenceDetection(registry);
    registerReferenceMisc(registry);
    registerReferenceQuant(registry);
    registerReferenceRandom(registry);
    registerReferenceTfIdf(registry);
    registerReferenceRecurrent(registry);
    registerReferenceControlFlow(registry);
    registerFastNn(registry);
    registerFastTensorOps(registry);
    registerFastQuant(registry);
    registerCpuProfiles(registry);
    runtime::registerTensorParallelKernels(registry); // sb.AllReduceSum, sb.AllGather, ...
    wrapHalfAsFloat(registry); // last: float16 through every computing kernel
}

const runtime::KernelRegistry &defaultRegistry()
{
    static const runtime::KernelRegistry registry = [] {
        configureBlasThreads();
        runtime::KernelRegistry r;
        registerCpuKernels(r);
#ifdef SHARDBENCH_HAVE_CUDA
        registerCudaKernels(r); // after the CPU kernels: shape-only ops reuse them
        registerCudaDeviceKind();
#endif
        return r;
    }();
    return registry;
}

} // namespace sb::kernels
