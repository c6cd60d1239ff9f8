// Tensor: a typed, shaped, contiguous (row-major) view of bytes that either
// owns its buffer or borrows one kept alive by a shared owner (an arena, an
// initializer, a caller's buffer).
//
// Contract:
//  - Strides are always contiguous row-major; strides() is derived from shape.
//  - Copying a Tensor copies the handle, not the bytes (clone() copies bytes).
//  - float16/bfloat16 are storage types: kernels convert through
//    halfToFloat/floatToHalf; arithmetic on them is the kernel's choice.
//  - A default-constructed Tensor is invalid (isValid() == false).
//  - Sequence and optional values (ONNX's sequence(tensor), optional(T)) are
//    Tensors of kind Sequence/Optional: type() is the element type of the
//    tensors inside, shape() is empty and elements() holds the items (an
//    optional: none or one). Elements are owned, immutable tensors, so
//    copying a sequence handle is safe; only kernels marked as taking them
//    (KernelInfo::nonTensorValues) ever see one.
//  - A tensor knows the buffer type (device memory) its bytes live in:
//    host memory unless a Device allocated it (Device::allocateTensor) and
//    tagged it. Kernels of a device only see tensors of that device.
#pragma once

#include "core/graph/graph.h"

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace sb::runtime {

class BufferType;
using graph::ElementType;
using graph::ValueKind;
using Shape = std::vector<std::int64_t>;

std::int64_t shapeElementCount(const Shape &shape);
std::string shapeToString(const Shape &shape); // "[2,3,4]"

class Tensor
{
public:
    Tensor() = default;
    // Zero-initialised owned buffer.
    static Tensor zeros(ElementType type, Shape shape);
    // Uninitialised owned buffer (for outputs that are fully overwritten).
    static Tensor empty(ElementType type, Shape shape);
    // Borrowed view; `owner` (may be null) is kept alive as long as the view.
    static Tensor view(ElementType type, Shape shape, void *data,
                       std::shared_ptr<const void> owner = {});
    // A view of constant bytes (initializer, Constant attribute). The result
    // must not be written to.
    static Tensor fromTensorData(std::shared_ptr<const graph::TensorData> data);
    template <typename T>
    static Tensor fromVector(ElementType type, Shape shape, const std::vector<T> &values)
    {
        Tensor t = empty(type, std::move(shape));
        std::memcpy(t.data(), values.data(), t.byteSize());
        return t;
    }

    // A sequence of `elements` (each a tensor, or itself a sequence/optional)
    // whose tensors have element type `elementType`.
    static Tensor sequence(ElementType elementType, std::vector<Tensor> elements);
    // An optional holding `element` (of kind Tensor or Sequence), or none
    // when `element` is invalid; `of` says which kind it holds when present.
    static Tensor optional(ElementType elementType, Tensor element,
                           ValueKind of = ValueKind::Tensor);

    bool isValid() const { return m_kind != ValueKind::Tensor || m_type != ElementType::Undefined; }
    ValueKind kind() const { return m_kind; }
    bool isTensor() const { return m_kind == ValueKind::Tensor; }
    // Sequence items, or an optional's element (empty when none).
    const std::vector<Tensor> &elements() const;
    // Optional: what it holds when present.
    ValueKind optionalOf() const { return m_optionalOf; }
    // "float32[2,3]", "seq(float32[2,3],float32[1,3])", "opt(none)": for
    // signatures and messages.
    std::string describe() const;
    ElementType type() const { return m_type; }
    const Shape &shape() const { return m_shape; }
    std::size_t rank() const { return m_shape.size(); }
    std::int64_t dim(std::size_t i) const { return m_shape[i]; }
    Shape strides() const; // in elements
    std::int64_t elementCount() const { return m_count; }
    std::size_t byteSize() const;

    void *data() { return m_data; }
    const void *data() const { return m_data; }
    template <typename T> T *as() { return static_cast<T *>(m_data); }
    template <typename T> const T *as() const { return static_cast<const T *>(m_data); }

    // The buffer type holding the bytes (hostBufferType() unless tagged).
    BufferType &bufferType() const;
    bool isHost() const;
    const std::string &deviceId() const; // "host", "cpu:0"
    void setBufferType(BufferType *type) { m_buffer = type; }

    // Same bytes, new shape with the same element count (no copy).
    Tensor reshaped(Shape shape) const;
    // Deep copy into an owned buffer.
    Tensor clone() const;
    // Reads element i as double / int64 (any numeric type); for scalars and
    // small shape tensors (axes, shapes, bounds) read by kernels.
    double scalarAsDouble(std::int64_t i = 0) const;
    std::int64_t scalarAsInt(std::int64_t i = 0) const;
    std::vector<std::int64_t> toInt64Vector() const;

private:
    ElementType m_type = ElementType::Undefined;
    Shape m_shape;
    std::int64_t m_count = 0;
    std::shared_ptr<const void> m_owner;
    void *m_data = nullptr;
    BufferType *m_buffer = nullptr; // null: host memory
    ValueKind m_kind = ValueKind::Tensor;
    ValueKind m_optionalOf = ValueKind::Tensor;
    std::shared_ptr<const std::vector<Tensor>> m_elements; // Sequence/Optional
};

// IEEE half <-> float (round to nearest even).
float halfToFloat(std::uint16_t h);
std::uint16_t floatToHalf(float f);
float bfloat16ToFloat(std::uint16_t h);
std::uint16_t floatToBfloat16(float f);

// Tolerance comparison used by conformance and kernel tests:
// |a - b| <= atol + rtol * |b|, NaN equals NaN, integer/bool types exact.
struct CompareResult
{
    bool ok = true;
    double maxAbsError = 0;
    double maxRelError = 0;
    std::string message; // why not ok (shape, type, first bad index)
};
CompareResult compareTensors(const Tensor &actual, const Tensor &expected, double rtol,
                             double atol);

} // namespace sb::runtime
