#include "core/graph/tensor_proto.h"

#include <onnx/onnx-data_pb.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <fstream>
#include <sstream>

namespace sb::graph {

namespace {

template <typename Src, typename Dst, typename Field>
std::vector<std::uint8_t> packField(const Field &field)
{
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(field.size()) * sizeof(Dst));
    for (int i = 0; i < field.size(); ++i) {
        Dst v = static_cast<Dst>(static_cast<Src>(field.Get(i)));
        std::memcpy(bytes.data() + static_cast<std::size_t>(i) * sizeof(Dst), &v, sizeof(Dst));
    }
    return bytes;
}

} // namespace

Result<NamedTensorData> parseTensorProto(const std::string &bytes, const std::string &sourceName)
{
    onnx::TensorProto proto;
    if (!proto.ParseFromString(bytes))
        return makeError(ErrorCode::InvalidInput, sourceName + ": not a valid ONNX TensorProto");
    if (proto.data_location() == onnx::TensorProto::EXTERNAL)
        return makeError(ErrorCode::Unsupported,
                         sourceName + ": TensorProto with external data is not supported");
    auto type = static_cast<ElementType>(proto.data_type());
    std::vector<std::int64_t> dims(proto.dims().begin(), proto.dims().end());
    std::int64_t count = 1;
    for (std::int64_t d : dims) {
        if (d < 0)
            return makeError(ErrorCode::InvalidInput, sourceName + ": negative dimension");
        count *= d;
    }
    std::size_t elementBytes = elementSize(type);
    NamedTensorData result;
    result.name = proto.name();
    if (type == ElementType::String) {
        result.data = TensorData::fromBytes(type, dims, {});
        for (const auto &s : proto.string_data())
            result.data->strings.push_back(s);
        return result;
    }
    if (elementBytes == 0)
        return makeError(ErrorCode::Unsupported, sourceName + ": element type " +
                                                     std::to_string(proto.data_type()) +
                                                     " is not supported");
    std::vector<std::uint8_t> raw;
    if (proto.has_raw_data()) {
        const std::string &data = proto.raw_data();
        raw.assign(data.begin(), data.end());
    } else {
        switch (type) {
        case ElementType::Float32:
            raw = packField<float, float>(proto.float_data());
            break;
        case ElementType::Float64:
            raw = packField<double, double>(proto.double_data());
            break;
        case ElementType::Int64:
            raw = packField<std::int64_t, std::int64_t>(proto.int64_data());
            break;
        case ElementType::UInt32:
        case ElementType::UInt64:
            if (type == ElementType::UInt32)
                raw = packField<std::uint64_t, std::uint32_t>(proto.uint64_data());
            else
                raw = packField<std::uint64_t, std::uint64_t>(proto.uint64_data());
            break;
        case ElementType::Int32:
            raw = packField<std::int32_t, std::int32_t>(proto.int32_data());
            break;
        case ElementType::Int16:
            raw = packField<std::int32_t, std::int16_t>(proto.int32_data());
            break;
        case ElementType::UInt16:
        case ElementType::Float16:
        case ElementType::BFloat16:
            raw = packField<std::int32_t, std::uint16_t>(proto.int32_data());
            break;
        case ElementType::Int8:
            raw = packField<std::int32_t, std::int8_t>(proto.int32_data());
            break;
        case ElementType::UInt8:
        case ElementType::Bool:
            raw = packField<std::int32_t, std::uint8_t>(proto.int32_data());
            break;
        default:
            return makeError(ErrorCode::Unsupported, sourceName + ": element type " +
                                                         elementTypeName(type) +
                                                         " is not supported");
        }
    }
    if (raw.size() != static_cast<std::size_t>(count) * elementBytes)
        return makeError(ErrorCode::InvalidInput,
                         sourceName + ": holds " + std::to_string(raw.size()) +
                             " bytes, shape needs " +
                             std::to_string(static_cast<std::size_t>(count) * elementBytes));
    result.data = TensorData::fromBytes(type, std::move(dims), std::move(raw));
    return result;
}

namespace {

Result<std::string> readFileBytes(const std::filesystem::path &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return makeError(ErrorCode::NotFound, path.string() + ": cannot open file");
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

Result<ValueData> convertTensorValue(const onnx::TensorProto &proto, const std::string &source)
{
    // parseTensorProto owns the TensorProto decoding rules; elements are small.
    SB_ASSIGN_OR_RETURN(NamedTensorData named, parseTensorProto(proto.SerializeAsString(), source));
    ValueData value;
    value.tensor = std::move(named.data);
    value.elementType = value.tensor->type();
    return value;
}

Result<ValueData> convertOptional(const onnx::OptionalProto &proto, const std::string &source);

Result<ValueData> convertSequence(const onnx::SequenceProto &proto, const std::string &source)
{
    ValueData value;
    value.kind = ValueKind::Sequence;
    if (proto.sparse_tensor_values_size() > 0 || proto.map_values_size() > 0)
        return makeError(ErrorCode::Unsupported,
                         source + ": sequences of sparse tensors or maps are not supported");
    for (int i = 0; i < proto.tensor_values_size(); ++i) {
        SB_ASSIGN_OR_RETURN(
            ValueData element,
            convertTensorValue(proto.tensor_values(i), source + " element " + std::to_string(i)));
        value.elementType = element.elementType;
        value.elements.push_back(std::move(element));
    }
    for (int i = 0; i < proto.sequence_values_size(); ++i) {
        SB_ASSIGN_OR_RETURN(
            ValueData element,
            convertSequence(proto.sequence_values(i), source + " element " + std::to_string(i)));
        value.elementType = element.elementType;
        value.elements.push_back(std::move(element));
    }
    for (int i = 0; i < proto.optional_values_size(); ++i) {
        SB_ASSIGN_OR_RETURN(
            ValueData element,
            convertOptional(proto.optional_values(i), source + " element " + std::to_string(i)));
        value.elementType = element.elementType;
        value.elements.push_back(std::move(element));
    }
    return value;
}

Result<ValueData> convertOptional(const onnx::OptionalProto &proto, const std::string &source)
{
    ValueData value;
    value.kind = ValueKind::Optional;
    if (proto.has_tensor_value()) {
        SB_ASSIGN_OR_RETURN(ValueData element, convertTensorValue(proto.tensor_value(), source));
        value.elementType = element.elementType;
        value.elements.push_back(std::move(element));
    } else if (proto.has_sequence_value()) {
        value.optionalOf = ValueKind::Sequence;
        SB_ASSIGN_OR_RETURN(ValueData element, convertSequence(proto.sequence_value(), source));
        value.elementType = element.elementType;
        value.elements.push_back(std::move(element));
    } else if (proto.has_sparse_tensor_value() || proto.has_map_value() ||
               proto.has_optional_value()) {
        return makeError(ErrorCode::Unsupported,
                         source + ": optionals of sparse tensors, maps or optionals are not "
                                  "supported");
    } else if (proto.elem_type() == onnx::OptionalProto::SEQUENCE) {
        value.optionalOf = ValueKind::Sequence;
    }
    return value;
}

} // namespace

Result<NamedTensorData> readTensorProtoFile(const std::filesystem::path &path)
{
    SB_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
    return parseTensorProto(bytes, path.string());
}

Result<ValueData> parseValueProto(const std::string &bytes, const TensorInfo &info,
                                  const std::string &sourceName)
{
    Result<ValueData> value = makeError(ErrorCode::Internal, sourceName + ": no value");
    switch (info.kind) {
    case ValueKind::Tensor: {
        SB_ASSIGN_OR_RETURN(NamedTensorData named, parseTensorProto(bytes, sourceName));
        ValueData tensor;
        tensor.tensor = std::move(named.data);
        tensor.elementType = tensor.tensor->type();
        return tensor;
    }
    case ValueKind::Sequence: {
        onnx::SequenceProto proto;
        if (!proto.ParseFromString(bytes))
            return makeError(ErrorCode::InvalidInput,
                             sourceName + ": not a valid ONNX SequenceProto");
        value = convertSequence(proto, sourceName);
        break;
    }
    case ValueKind::Optional: {
        onnx::OptionalProto proto;
        if (!proto.ParseFromString(bytes))
            return makeError(ErrorCode::InvalidInput,
                             sourceName + ": not a valid ONNX OptionalProto");
        value = convertOptional(proto, sourceName);
        break;
    }
    }
    if (value && value->elementType == ElementType::Undefined)
        value->elementType = info.type;
    return value;
}

Result<ValueData> readValueProtoFile(const std::filesystem::path &path, const TensorInfo &info)
{
    SB_ASSIGN_OR_RETURN(std::string bytes, readFileBytes(path));
    return parseValueProto(bytes, info, path.string());
}

} // namespace sb::graph
