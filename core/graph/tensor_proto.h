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

} // namespace sb::graph
