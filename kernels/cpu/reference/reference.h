// Registration functions of the reference kernel files (kernels/cpu/reference).
#pragma once

#include "core/runtime/kernel_registry.h"

namespace sb::kernels {

void registerReferenceElementwise(runtime::KernelRegistry &registry);
void registerReferenceShapeOps(runtime::KernelRegistry &registry);
void registerReferenceReduce(runtime::KernelRegistry &registry);
void registerReferenceNn(runtime::KernelRegistry &registry);
void registerReferenceResize(runtime::KernelRegistry &registry);
void registerReferenceLoss(runtime::KernelRegistry &registry);
void registerReferenceDetection(runtime::KernelRegistry &registry);
void registerReferenceMisc(runtime::KernelRegistry &registry);
void registerReferenceRecurrent(runtime::KernelRegistry &registry);
void registerReferenceQuant(runtime::KernelRegistry &registry);
void registerReferenceRandom(runtime::KernelRegistry &registry);
void registerReferenceTfIdf(runtime::KernelRegistry &registry);
void registerReferenceControlFlow(runtime::KernelRegistry &registry); // If/Loop/Scan, sequences

} // namespace sb::kernels

namespace sb::kernels {
// Reference kernels the fast ones fall back to for cases they do not cover.
Status referenceMatMul(runtime::KernelContext &ctx);
Status referenceGemm(runtime::KernelContext &ctx);
Status referenceConv(runtime::KernelContext &ctx);
Status referencePointwiseDepthwise(runtime::KernelContext &ctx);
Status referencePool(runtime::KernelContext &ctx, bool isMax);
Status referenceSoftmax(runtime::KernelContext &ctx);
Status referenceLayerNorm(runtime::KernelContext &ctx);
} // namespace sb::kernels

namespace sb::kernels {
Status referenceBatchNorm(runtime::KernelContext &ctx);
Status referenceGelu(runtime::KernelContext &ctx);
Status referenceRelu(runtime::KernelContext &ctx);
Status referenceWhere(runtime::KernelContext &ctx);
Status referenceTranspose(runtime::KernelContext &ctx);
} // namespace sb::kernels

namespace sb::kernels {
// Quantization (kernels/cpu/reference/quant.cpp), the oracles of the int8 fast kernels.
Status referenceQuantizeLinear(runtime::KernelContext &ctx);
Status referenceDequantizeLinear(runtime::KernelContext &ctx);
Status referenceQLinearConv(runtime::KernelContext &ctx); // also sb.QLinearConv
Status referenceQGemm(runtime::KernelContext &ctx);
Status referenceQLinearAdd(runtime::KernelContext &ctx);
} // namespace sb::kernels
