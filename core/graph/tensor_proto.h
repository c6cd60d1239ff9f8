// ONNX TensorProto files (the .pb inputs/outputs of ONNX backend test cases
// and of `run --input`), read without exposing protobuf types.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <filesystem>
#include <memory>
#include <string>

namespace sb::graph {

struct NamedTensorData
{
    std::string name; // TensorProto.name (may be empty)
    std::shared_ptr<TensorData> data;
};

// Parses a serialized TensorProto (raw_data or typed fields, any numeric or
// bool type; strings into TensorData::strings). Errors name the source.
Result<NamedTensorData> parseTensorProto(const std::string &bytes, const std::string &sourceName);
Result<NamedTensorData> readTensorProtoFile(const std::filesystem::path &path);

// A value of any kind ONNX test data stores: a TensorProto, a SequenceProto
// of tensors (or of sequences/optionals) or an OptionalProto.
struct ValueData
{
    ValueKind kind = ValueKind::Tensor;
    std::shared_ptr<TensorData> tensor; // kind Tensor
    // Sequence: its elements; Optional: none (empty) or its one element.
    std::vector<ValueData> elements;
    // Sequence/Optional: the element type of the tensors inside (Undefined
    // for an empty sequence or a none that does not say).
    ElementType elementType = ElementType::Undefined;
    // Optional: the kind of its element (Tensor or Sequence).
    ValueKind optionalOf = ValueKind::Tensor;
};

// Parses a serialized value of the kind `info` declares (TensorProto,
// SequenceProto or OptionalProto). Errors name the source.
Result<ValueData> parseValueProto(const std::string &bytes, const TensorInfo &info,
                                  const std::string &sourceName);
Result<ValueData> readValueProtoFile(const std::filesystem::path &path, const TensorInfo &info);

} // namespace sb::graph
