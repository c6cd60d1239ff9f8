// Helpers shared by the CPU kernels: type dispatch, attribute access with
// opset-dependent input/attribute forms, axis normalisation, broadcasting.
#pragma once

#include "core/runtime/kernel_registry.h"

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace sb::kernels {

using runtime::ElementType;
using runtime::KernelContext;
using runtime::KernelRegistry;
using runtime::Shape;
using runtime::Tensor;

template <typename T> struct TypeOf;
#define SB_TYPE_OF(T, E)                                                                           \
    template <> struct TypeOf<T>                                                                   \
    {                                                                                              \
        static constexpr ElementType value = ElementType::E;                                       \
    };
SB_TYPE_OF(float, Float32)
SB_TYPE_OF(double, Float64)
SB_TYPE_OF(std::int64_t, Int64)
SB_TYPE_OF(std::int32_t, Int32)
SB_TYPE_OF(std::int16_t, Int16)
SB_TYPE_OF(std::int8_t, Int8)
SB_TYPE_OF(std::uint8_t, UInt8)
SB_TYPE_OF(std::uint16_t, UInt16)
SB_TYPE_OF(std::uint32_t, UInt32)
SB_TYPE_OF(std::uint64_t, UInt64)
#undef SB_TYPE_OF

std::string typeName(ElementType type);

// Calls f(T{}) for the numeric types in the mask; returns false if `type` is not one.
enum TypeMask : unsigned
{
    kFloats = 1u,     // float, double
    kSignedInts = 2u, // int8/16/32/64
    kUnsignedInts = 4u,
    kAllNumeric = 7u,
};
template <typename F> bool dispatch(ElementType type, unsigned mask, F &&f)
{
    switch (type) {
    case ElementType::Float32:
        if (mask & kFloats) {
            f(float{});
            return true;
        }
        return false;
    case ElementType::Float64:
        if (mask & kFloats) {
            f(double{});
            return true;
        }
        return false;
    case ElementType::Int64:
        if (mask & kSignedInts) {
            f(std::int64_t{});
            return true;
        }
        return false;
    case ElementType::Int32:
        if (mask & kSignedInts) {
            f(std::int32_t{});
            return true;
        }
        return false;
    case ElementType::Int16:
        if (mask & kSignedInts) {
            f(std::int16_t{});
            return true;
        }
        return false;
    case ElementType::Int8:
        if (mask & kSignedInts) {
            f(std::int8_t{});
            return true;
        }
        return false;
    case ElementType::UInt8:
        if (mask & kUnsignedInts) {
            f(std::uint8_t{});
            return true;
        }
        return false;
    case ElementType::UInt16:
        if (mask & kUnsignedInts) {
            f(std::uint16_t{});
            return true;
        }
        return false;
    case ElementType::UInt32:
        if (mask & kUnsignedInts) {
            f(std::uint32_t{});
            return true;
        }
        return false;
    case ElementType::UInt64:
        if (mask & kUnsignedInts) {
            f(std::uint64_t{});
            return true;
        }
        return false;
    default:
        return false;
    }
}

// Normalises a possibly negative axis into [0, rank); nullopt if out of range.
std::optional<std::int64_t> normalizeAxis(std::int64_t axis, std::int64_t rank);

// Axes from the attribute (older opsets) or the optional input `inputIndex`.
// `present` is false when neither gives axes.
struct AxesArg
{
    std::vector<std::int64_t> axes;
    bool present = false;
};
AxesArg axesFrom(KernelContext &ctx, std::size_t inputIndex, const char *attribute = "axes");

// Slice's selection on every axis of a tensor of `shape`: the first element,
// the step and the length per axis (ONNX clamping, negative steps), from the
// inputs starts/ends/axes/steps (opset >= 10) or the attributes (before).
struct SliceBox
{
    std::vector<std::int64_t> begin, step;
    Shape shape;
};
Result<SliceBox> sliceBox(KernelContext &ctx, const Shape &shape);

// Numpy-style broadcast of two shapes; nullopt when incompatible.
std::optional<Shape> broadcastShapes(const Shape &a, const Shape &b);

// Strides of `in` as seen from the broadcast output shape `out` (0 where broadcast).
std::vector<std::int64_t> broadcastStrides(const Shape &in, const Shape &out);

// Iterates a broadcast binary operation: calls row(outOffset, aOffset, bOffset,
// count, aStep, bStep) over runs of the innermost (collapsed) dimension, where
// aStep/bStep are 0 or 1. Parallel over rows on the pool when large.
template <typename Row>
void forEachBroadcastRow(KernelContext &ctx, const Shape &out, const Shape &aShape,
                         const Shape &bShape, Row &&row);

// Elements per chunk below which kernels stay on one thread.
inline constexpr std::int64_t kParallelGrain = 16384;

// Register helpers.
void addReference(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn,
                  const std::string &domain = "");
void addFast(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn,
             runtime::Tolerance tolerance, const std::string &domain = "");
// A reference kernel that takes sequence/optional values (KernelInfo::nonTensorValues).
void addValueReference(KernelRegistry &registry, const std::string &op, runtime::KernelFn fn);

} // namespace sb::kernels

#include "kernels/cpu/kernel_util_impl.h"
