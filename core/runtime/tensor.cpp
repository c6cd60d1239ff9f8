#include "core/runtime/tensor.h"

#include "core/runtime/device.h"
#include "core/runtime/heap_policy.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace sb::runtime {

std::int64_t shapeElementCount(const Shape &shape)
{
    std::int64_t count = 1;
    for (std::int64_t d : shape)
        count *= d;
    return count;
}

std::string shapeToString(const Shape &shape)
{
    std::string text = "[";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i)
            text += ",";
        text += std::to_string(shape[i]);
    }
    return text + "]";
}

namespace {

// Through the tensor block cache (heap_policy.h).
struct BlockFree
{
    std::size_t bytes;
    void operator()(void *p) const { freeTensorBlock(p, bytes); }
};

std::shared_ptr<void> allocateAligned(std::size_t bytes)
{
    return std::shared_ptr<void>(allocateTensorBlock(bytes), BlockFree{bytes});
}

} // namespace

Tensor Tensor::empty(ElementType type, Shape shape)
{
    Tensor t;
    t.m_type = type;
    t.m_count = shapeElementCount(shape);
    t.m_shape = std::move(shape);
    auto buffer = allocateAligned(t.byteSize());
    t.m_data = buffer.get();
    t.m_owner = std::move(buffer);
    return t;
}

Tensor Tensor::zeros(ElementType type, Shape shape)
{
    Tensor t = empty(type, std::move(shape));
    std::memset(t.m_data, 0, t.byteSize());
    return t;
}

Tensor Tensor::view(ElementType type, Shape shape, void *data, std::shared_ptr<const void> owner)
{
    Tensor t;
    t.m_type = type;
    t.m_count = shapeElementCount(shape);
    t.m_shape = std::move(shape);
    t.m_data = data;
    t.m_owner = std::move(owner);
    return t;
}

Tensor Tensor::fromTensorData(std::shared_ptr<const graph::TensorData> data)
{
    void *bytes = const_cast<void *>(data->data());
    Shape shape = data->dims();
    ElementType type = data->type();
    if (!bytes && shapeElementCount(shape) == 0) {
        Tensor t = empty(type, shape);
        return t;
    }
    return view(type, std::move(shape), bytes, std::move(data));
}

Tensor Tensor::sequence(ElementType elementType, std::vector<Tensor> elements)
{
    Tensor t;
    t.m_type = elementType;
    t.m_kind = ValueKind::Sequence;
    t.m_elements = std::make_shared<const std::vector<Tensor>>(std::move(elements));
    return t;
}

Tensor Tensor::optional(ElementType elementType, Tensor element, ValueKind of)
{
    Tensor t;
    t.m_type = elementType;
    t.m_kind = ValueKind::Optional;
    t.m_optionalOf = element.isValid() ? element.kind() : of;
    std::vector<Tensor> elements;
    if (element.isValid())
        elements.push_back(std::move(element));
    t.m_elements = std::make_shared<const std::vector<Tensor>>(std::move(elements));
    return t;
}

const std::vector<Tensor> &Tensor::elements() const
{
    static const std::vector<Tensor> kNone;
    return m_elements ? *m_elements : kNone;
}

std::string Tensor::describe() const
{
    if (m_kind == ValueKind::Tensor)
        return std::string(graph::elementTypeName(m_type)) + shapeToString(m_shape);
    std::ostringstream text;
    text << (m_kind == ValueKind::Sequence ? "seq(" : "opt(");
    if (m_kind == ValueKind::Optional && elements().empty())
        text << "none";
    for (std::size_t i = 0; i < elements().size(); ++i)
        text << (i ? "," : "") << elements()[i].describe();
    if (m_kind == ValueKind::Sequence && elements().empty())
        text << graph::elementTypeName(m_type);
    text << ")";
    return text.str();
}

Shape Tensor::strides() const
{
    Shape strides(m_shape.size(), 1);
    for (std::size_t i = m_shape.size(); i-- > 1;)
        strides[i - 1] = strides[i] * m_shape[i];
    return strides;
}

std::size_t Tensor::byteSize() const
{
    if (m_kind != ValueKind::Tensor) {
        std::size_t bytes = 0;
        for (const Tensor &element : elements())
            bytes += element.byteSize();
        return bytes;
    }
    return static_cast<std::size_t>(m_count) * graph::elementSize(m_type);
}

Tensor Tensor::reshaped(Shape shape) const
{
    Tensor t = *this;
    t.m_count = shapeElementCount(shape);
    t.m_shape = std::move(shape);
    return t;
}

BufferType &Tensor::bufferType() const
{
    return m_buffer ? *m_buffer : hostBufferType();
}

bool Tensor::isHost() const
{
    return !m_buffer || m_buffer->isHost();
}

const std::string &Tensor::deviceId() const
{
    return bufferType().deviceId();
}

Tensor Tensor::clone() const
{
    if (m_kind != ValueKind::Tensor) {
        std::vector<Tensor> copies;
        for (const Tensor &element : elements())
            copies.push_back(element.clone());
        if (m_kind == ValueKind::Sequence)
            return sequence(m_type, std::move(copies));
        return optional(m_type, copies.empty() ? Tensor() : std::move(copies.front()),
                        m_optionalOf);
    }
    Tensor t = empty(m_type, m_shape);
    if (byteSize())
        std::memcpy(t.m_data, m_data, byteSize());
    return t;
}

double Tensor::scalarAsDouble(std::int64_t i) const
{
    switch (m_type) {
    case ElementType::Float32:
        return as<float>()[i];
    case ElementType::Float64:
        return as<double>()[i];
    case ElementType::Float16:
        return halfToFloat(as<std::uint16_t>()[i]);
    case ElementType::BFloat16:
        return bfloat16ToFloat(as<std::uint16_t>()[i]);
    case ElementType::Int64:
        return static_cast<double>(as<std::int64_t>()[i]);
    case ElementType::Int32:
        return as<std::int32_t>()[i];
    case ElementType::Int16:
        return as<std::int16_t>()[i];
    case ElementType::Int8:
        return as<std::int8_t>()[i];
    case ElementType::UInt8:
    case ElementType::Bool:
        return as<std::uint8_t>()[i];
    case ElementType::UInt16:
        return as<std::uint16_t>()[i];
    case ElementType::UInt32:
        return as<std::uint32_t>()[i];
    case ElementType::UInt64:
        return static_cast<double>(as<std::uint64_t>()[i]);
    default:
        return 0;
    }
}

std::int64_t Tensor::scalarAsInt(std::int64_t i) const
{
    switch (m_type) {
    case ElementType::Int64:
        return as<std::int64_t>()[i];
    case ElementType::Int32:
        return as<std::int32_t>()[i];
    case ElementType::UInt64:
        return static_cast<std::int64_t>(as<std::uint64_t>()[i]);
    default:
        return static_cast<std::int64_t>(scalarAsDouble(i));
    }
}

std::vector<std::int64_t> Tensor::toInt64Vector() const
{
    std::vector<std::int64_t> values(static_cast<std::size_t>(m_count));
    for (std::int64_t i = 0; i < m_count; ++i)
        values[static_cast<std::size_t>(i)] = scalarAsInt(i);
    return values;
}

float halfToFloat(std::uint16_t h)
{
    std::uint32_t sign = (h & 0x8000u) << 16;
    std::uint32_t exponent = (h >> 10) & 0x1f;
    std::uint32_t mantissa = h & 0x3ffu;
    std::uint32_t bits;
    if (exponent == 0) {
        if (mantissa == 0) {
            bits = sign;
        } else { // subnormal: normalise
            exponent = 127 - 15 + 1;
            while (!(mantissa & 0x400u)) {
                mantissa <<= 1;
                --exponent;
            }
            mantissa &= 0x3ffu;
            bits = sign | (exponent << 23) | (mantissa << 13);
        }
    } else if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else {
        bits = sign | ((exponent + 127 - 15) << 23) | (mantissa << 13);
    }
    return std::bit_cast<float>(bits);
}

std::uint16_t floatToHalf(float f)
{
    std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    std::uint32_t sign = (bits >> 16) & 0x8000u;
    std::uint32_t absBits = bits & 0x7fffffffu;
    if (absBits >= 0x7f800000u) // inf or nan
        return static_cast<std::uint16_t>(sign | 0x7c00u | (absBits > 0x7f800000u ? 0x200u : 0));
    if (absBits >= 0x477ff000u) // rounds to >= 65520: overflow to inf
        return static_cast<std::uint16_t>(sign | 0x7c00u);
    if (absBits < 0x38800000u) { // subnormal half or zero
        float absF = std::bit_cast<float>(absBits);
        // scale so that the half subnormal unit (2^-24) becomes 1, round to even
        float scaled = absF * 16777216.0f;
        auto rounded = static_cast<std::uint32_t>(std::nearbyint(scaled));
        return static_cast<std::uint16_t>(sign | rounded);
    }
    std::uint32_t exponent = ((absBits >> 23) - 127 + 15);
    std::uint32_t mantissa = absBits & 0x7fffffu;
    std::uint32_t half = (exponent << 10) | (mantissa >> 13);
    std::uint32_t rest = mantissa & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (half & 1u)))
        ++half;
    return static_cast<std::uint16_t>(sign | half);
}

float bfloat16ToFloat(std::uint16_t h)
{
    return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

std::uint16_t floatToBfloat16(float f)
{
    std::uint32_t bits = std::bit_cast<std::uint32_t>(f);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return static_cast<std::uint16_t>((bits >> 16) | 0x40u);
    std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
    return static_cast<std::uint16_t>((bits + rounding) >> 16);
}

CompareResult compareTensors(const Tensor &actual, const Tensor &expected, double rtol, double atol)
{
    CompareResult result;
    if (actual.kind() != expected.kind()) {
        result.ok = false;
        result.message = std::string("a ") + graph::valueKindName(actual.kind()) + ", expected a " +
                         graph::valueKindName(expected.kind());
        return result;
    }
    if (!actual.isTensor()) {
        const auto &got = actual.elements();
        const auto &want = expected.elements();
        if (got.size() != want.size()) {
            result.ok = false;
            result.message = actual.kind() == ValueKind::Optional
                                 ? std::string(got.empty() ? "none" : "a value") + ", expected " +
                                       (want.empty() ? "none" : "a value")
                                 : std::to_string(got.size()) + " elements, expected " +
                                       std::to_string(want.size());
            return result;
        }
        for (std::size_t i = 0; i < got.size(); ++i) {
            CompareResult element = compareTensors(got[i], want[i], rtol, atol);
            result.maxAbsError = std::max(result.maxAbsError, element.maxAbsError);
            result.maxRelError = std::max(result.maxRelError, element.maxRelError);
            if (!element.ok) {
                result.ok = false;
                result.message = "element " + std::to_string(i) + ": " + element.message;
                return result;
            }
        }
        return result;
    }
    if (actual.type() != expected.type()) {
        result.ok = false;
        result.message = std::string("element type ") + graph::elementTypeName(actual.type()) +
                         ", expected " + graph::elementTypeName(expected.type());
        return result;
    }
    if (actual.shape() != expected.shape()) {
        result.ok = false;
        result.message = "shape " + shapeToString(actual.shape()) + ", expected " +
                         shapeToString(expected.shape());
        return result;
    }
    bool exact = !(actual.type() == ElementType::Float32 || actual.type() == ElementType::Float64 ||
                   actual.type() == ElementType::Float16 || actual.type() == ElementType::BFloat16);
    if (actual.type() == ElementType::String) {
        result.ok = false;
        result.message = "string tensors are not compared";
        return result;
    }
    for (std::int64_t i = 0; i < actual.elementCount(); ++i) {
        if (exact) {
            bool same =
                std::memcmp(static_cast<const char *>(actual.data()) +
                                i * static_cast<std::int64_t>(graph::elementSize(actual.type())),
                            static_cast<const char *>(expected.data()) +
                                i * static_cast<std::int64_t>(graph::elementSize(actual.type())),
                            graph::elementSize(actual.type())) == 0;
            if (!same) {
                double diff = std::fabs(actual.scalarAsDouble(i) - expected.scalarAsDouble(i));
                result.maxAbsError = std::max(result.maxAbsError, diff);
                if (result.ok) {
                    std::ostringstream msg;
                    msg << "element " << i << ": " << actual.scalarAsDouble(i) << " != expected "
                        << expected.scalarAsDouble(i);
                    result.message = msg.str();
                }
                result.ok = false;
            }
            continue;
        }
        double a = actual.scalarAsDouble(i);
        double b = expected.scalarAsDouble(i);
        if (std::isnan(a) || std::isnan(b)) {
            if (std::isnan(a) != std::isnan(b)) {
                if (result.ok)
                    result.message = "element " + std::to_string(i) + ": NaN mismatch";
                result.ok = false;
                result.maxAbsError = INFINITY;
            }
            continue;
        }
        if (std::isinf(a) || std::isinf(b)) {
            if (a != b) {
                if (result.ok)
                    result.message = "element " + std::to_string(i) + ": infinity mismatch";
                result.ok = false;
                result.maxAbsError = INFINITY;
            }
            continue;
        }
        double diff = std::fabs(a - b);
        result.maxAbsError = std::max(result.maxAbsError, diff);
        if (std::fabs(b) > 0)
            result.maxRelError = std::max(result.maxRelError, diff / std::fabs(b));
        if (diff > atol + rtol * std::fabs(b)) {
            if (result.ok) {
                std::ostringstream msg;
                msg.precision(9);
                msg << "element " << i << ": " << a << " vs expected " << b;
                result.message = msg.str();
            }
            result.ok = false;
        }
    }
    return result;
}

} // namespace sb::runtime
