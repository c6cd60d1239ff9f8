// ONNX import: file -> Graph, through Debian's libonnx (onnx::ModelProto) and
// ONNX shape inference. No ONNX/protobuf types appear in this header.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <filesystem>
#include <memory>
#include <string_view>

namespace sb::graph {

struct ImportOptions
{
    bool runShapeInference = true;
    bool groupBlocks = true; // fill Graph::blocks() from node-name scopes
};

// Errors name the problem: "model.onnx: node '/blocks.0/MatMul' (MatMul) input
// 'w' is neither produced, a graph input nor an initializer". External data
// whose `location` escapes the model's folder (absolute, "..") is rejected.
Result<std::shared_ptr<Graph>> importOnnxFile(const std::filesystem::path &path,
                                              const ImportOptions &options = {});
// For fuzzing and in-memory models; external data resolves against baseDir.
Result<std::shared_ptr<Graph>> importOnnxBytes(std::string_view bytes,
                                               const std::filesystem::path &baseDir = {},
                                               const ImportOptions &options = {});

} // namespace sb::graph
