#include "core/serve/tensor_json.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace sb::serve {

using graph::ElementType;
using nlohmann::json;

namespace {

struct DatatypeName
{
    const char *name;
    ElementType type;
};

constexpr DatatypeName kDatatypes[] = {
    {"BOOL", ElementType::Bool},     {"UINT8", ElementType::UInt8},
    {"UINT16", ElementType::UInt16}, {"UINT32", ElementType::UInt32},
    {"UINT64", ElementType::UInt64}, {"INT8", ElementType::Int8},
    {"INT16", ElementType::Int16},   {"INT32", ElementType::Int32},
    {"INT64", ElementType::Int64},   {"FP16", ElementType::Float16},
    {"BF16", ElementType::BFloat16}, {"FP32", ElementType::Float32},
    {"FP64", ElementType::Float64},
};

// Collects the leaves of a (possibly nested) "data" array in row-major order.
bool flatten(const json &node, std::vector<const json *> &out, std::size_t limit)
{
    if (!node.is_array()) {
        out.push_back(&node);
        return out.size() <= limit;
    }
    for (const json &child : node)
        if (!flatten(child, out, limit))
            return false;
    return true;
}

template <typename T> Status putInteger(const json &value, T *dst, const std::string &where)
{
    if (value.is_boolean()) {
        *dst = static_cast<T>(value.get<bool>());
        return Status::success();
    }
    if (value.is_number_integer()) {
        if constexpr (std::is_signed_v<T>) {
            if (value.is_number_unsigned()) {
                auto v = value.get<std::uint64_t>();
                if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                    return makeError(ErrorCode::InvalidInput, where + ": out of range");
                *dst = static_cast<T>(v);
                return Status::success();
            }
            auto v = value.get<std::int64_t>();
            if (v < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                v > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
                return makeError(ErrorCode::InvalidInput, where + ": out of range");
            *dst = static_cast<T>(v);
        } else {
            if (!value.is_number_unsigned())
                return makeError(ErrorCode::InvalidInput, where + ": negative value");
            auto v = value.get<std::uint64_t>();
            if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                return makeError(ErrorCode::InvalidInput, where + ": out of range");
            *dst = static_cast<T>(v);
        }
        return Status::success();
    }
    if (value.is_number_float()) {
        double v = value.get<double>();
        if (std::floor(v) != v || v < static_cast<double>(std::numeric_limits<T>::lowest()) ||
            v > static_cast<double>(std::numeric_limits<T>::max()))
            return makeError(ErrorCode::InvalidInput, where + ": not an integer in range");
        *dst = static_cast<T>(v);
        return Status::success();
    }
    return makeError(ErrorCode::InvalidInput, where + ": not a number");
}

Result<double> toDouble(const json &value, const std::string &where)
{
    if (value.is_number())
        return value.get<double>();
    if (value.is_boolean())
        return value.get<bool>() ? 1.0 : 0.0;
    return makeError(ErrorCode::InvalidInput, where + ": not a number");
}

template <typename T> json valuesOf(const runtime::Tensor &tensor)
{
    const T *data = tensor.as<T>();
    const std::int64_t n = tensor.elementCount();
    json out = json::array();
    out.get_ref<json::array_t &>().reserve(static_cast<std::size_t>(n));
    for (std::int64_t i = 0; i < n; ++i) {
        if constexpr (std::is_same_v<T, bool>)
            out.push_back(static_cast<bool>(data[i]));
        else
            out.push_back(data[i]);
    }
    return out;
}

} // namespace

std::optional<ElementType> elementTypeFromDatatype(const std::string &datatype)
{
    for (const auto &entry : kDatatypes)
        if (datatype == entry.name)
            return entry.type;
    return std::nullopt;
}

const char *datatypeName(ElementType type)
{
    for (const auto &entry : kDatatypes)
        if (entry.type == type)
            return entry.name;
    return "";
}

std::vector<std::int64_t> protocolShape(const graph::Shape &shape)
{
    std::vector<std::int64_t> out;
    for (const auto &dim : shape.dims)
        out.push_back(dim.value >= 0 ? dim.value : -1);
    return out;
}

Result<runtime::Tensor> tensorFromJson(const json &input, const graph::TensorInfo &declared,
                                       std::int64_t maxElements)
{
    if (!input.is_object() || !input.contains("name") || !input["name"].is_string())
        return makeError(ErrorCode::InvalidInput, "every input needs a string \"name\"");
    const std::string name = input["name"].get<std::string>();
    const std::string where = "input '" + name + "'";
    if (!input.contains("datatype") || !input["datatype"].is_string())
        return makeError(ErrorCode::InvalidInput, where + ": \"datatype\" missing");
    const std::string datatype = input["datatype"].get<std::string>();
    auto type = elementTypeFromDatatype(datatype);
    if (!type)
        return makeError(ErrorCode::InvalidInput,
                         where + ": datatype " + datatype + " is not supported");
    if (*type != declared.type)
        return makeError(ErrorCode::InvalidInput, where + ": datatype " + datatype +
                                                      " does not match the model's " +
                                                      datatypeName(declared.type));
    if (!input.contains("shape") || !input["shape"].is_array())
        return makeError(ErrorCode::InvalidInput, where + ": \"shape\" missing");
    runtime::Shape shape;
    std::int64_t count = 1;
    for (const json &d : input["shape"]) {
        if (!d.is_number_integer() || d.get<std::int64_t>() < 0)
            return makeError(ErrorCode::InvalidInput,
                             where + ": shape entries must be integers >= 0");
        shape.push_back(d.get<std::int64_t>());
        if (shape.back() > 0 && count > maxElements / shape.back())
            return makeError(ErrorCode::InvalidInput,
                             where + ": more than " + std::to_string(maxElements) + " elements");
        count *= shape.back();
    }
    if (count > maxElements)
        return makeError(ErrorCode::InvalidInput,
                         where + ": more than " + std::to_string(maxElements) + " elements");
    if (declared.shape.rankKnown) {
        const auto &dims = declared.shape.dims;
        auto expected = [&] {
            std::string text = "[";
            for (std::size_t i = 0; i < dims.size(); ++i)
                text += (i ? "," : "") + (dims[i].value >= 0
                                              ? std::to_string(dims[i].value)
                                              : (dims[i].symbol.empty() ? "?" : dims[i].symbol));
            return text + "]";
        };
        if (dims.size() != shape.size())
            return makeError(ErrorCode::InvalidInput,
                             where + ": shape " + runtime::shapeToString(shape) +
                                 " does not match the model's " + expected());
        for (std::size_t i = 0; i < dims.size(); ++i)
            if ((dims[i].value >= 0 && dims[i].value != shape[i]) ||
                (dims[i].value < 0 && shape[i] < 1))
                return makeError(ErrorCode::InvalidInput,
                                 where + ": shape " + runtime::shapeToString(shape) +
                                     " does not match the model's " + expected() + " (dim " +
                                     std::to_string(i) + ")");
    }
    if (!input.contains("data"))
        return makeError(ErrorCode::InvalidInput, where + ": \"data\" missing");
    std::vector<const json *> leaves;
    leaves.reserve(static_cast<std::size_t>(count));
    if (!flatten(input["data"], leaves, static_cast<std::size_t>(count)) ||
        static_cast<std::int64_t>(leaves.size()) != count)
        return makeError(ErrorCode::InvalidInput,
                         where + ": shape " + runtime::shapeToString(shape) + " needs " +
                             std::to_string(count) + " values, \"data\" has " +
                             (static_cast<std::int64_t>(leaves.size()) > count
                                  ? "more"
                                  : std::to_string(leaves.size())));
    runtime::Tensor tensor = runtime::Tensor::empty(*type, shape);
    for (std::int64_t i = 0; i < count; ++i) {
        const json &v = *leaves[static_cast<std::size_t>(i)];
        const std::string at = where + " value " + std::to_string(i);
        Status status = Status::success();
        switch (*type) {
        case ElementType::Bool: {
            std::uint8_t b = 0;
            status = putInteger<std::uint8_t>(v, &b, at);
            if (status.ok() && b > 1)
                status = makeError(ErrorCode::InvalidInput, at + ": BOOL must be 0/1");
            tensor.as<bool>()[i] = b != 0;
            break;
        }
        case ElementType::UInt8:
            status = putInteger(v, tensor.as<std::uint8_t>() + i, at);
            break;
        case ElementType::UInt16:
            status = putInteger(v, tensor.as<std::uint16_t>() + i, at);
            break;
        case ElementType::UInt32:
            status = putInteger(v, tensor.as<std::uint32_t>() + i, at);
            break;
        case ElementType::UInt64:
            status = putInteger(v, tensor.as<std::uint64_t>() + i, at);
            break;
        case ElementType::Int8:
            status = putInteger(v, tensor.as<std::int8_t>() + i, at);
            break;
        case ElementType::Int16:
            status = putInteger(v, tensor.as<std::int16_t>() + i, at);
            break;
        case ElementType::Int32:
            status = putInteger(v, tensor.as<std::int32_t>() + i, at);
            break;
        case ElementType::Int64:
            status = putInteger(v, tensor.as<std::int64_t>() + i, at);
            break;
        default: {
            auto d = toDouble(v, at);
            if (!d)
                return d.error();
            if (*type == ElementType::Float32)
                tensor.as<float>()[i] = static_cast<float>(*d);
            else if (*type == ElementType::Float64)
                tensor.as<double>()[i] = *d;
            else if (*type == ElementType::Float16)
                tensor.as<std::uint16_t>()[i] = runtime::floatToHalf(static_cast<float>(*d));
            else
                tensor.as<std::uint16_t>()[i] = runtime::floatToBfloat16(static_cast<float>(*d));
        }
        }
        if (!status.ok())
            return status.error();
    }
    return tensor;
}

double elementAsDouble(const runtime::Tensor &tensor, std::int64_t i)
{
    return tensor.scalarAsDouble(i);
}

json tensorToJson(const std::string &name, const runtime::Tensor &tensor)
{
    json out;
    out["name"] = name;
    out["datatype"] = datatypeName(tensor.type());
    out["shape"] = tensor.shape();
    switch (tensor.type()) {
    case ElementType::Bool:
        out["data"] = valuesOf<bool>(tensor);
        break;
    case ElementType::UInt8:
        out["data"] = valuesOf<std::uint8_t>(tensor);
        break;
    case ElementType::UInt16:
        out["data"] = valuesOf<std::uint16_t>(tensor);
        break;
    case ElementType::UInt32:
        out["data"] = valuesOf<std::uint32_t>(tensor);
        break;
    case ElementType::UInt64:
        out["data"] = valuesOf<std::uint64_t>(tensor);
        break;
    case ElementType::Int8:
        out["data"] = valuesOf<std::int8_t>(tensor);
        break;
    case ElementType::Int16:
        out["data"] = valuesOf<std::int16_t>(tensor);
        break;
    case ElementType::Int32:
        out["data"] = valuesOf<std::int32_t>(tensor);
        break;
    case ElementType::Int64:
        out["data"] = valuesOf<std::int64_t>(tensor);
        break;
    case ElementType::Float32:
        out["data"] = valuesOf<float>(tensor);
        break;
    case ElementType::Float64:
        out["data"] = valuesOf<double>(tensor);
        break;
    case ElementType::Float16:
    case ElementType::BFloat16: {
        json data = json::array();
        for (std::int64_t i = 0; i < tensor.elementCount(); ++i)
            data.push_back(elementAsDouble(tensor, i));
        out["data"] = data;
        break;
    }
    default:
        out["data"] = json::array();
    }
    return out;
}

} // namespace sb::serve
