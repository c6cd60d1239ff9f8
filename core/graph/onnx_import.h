// ONNX import: file -> Graph, through Debian's libonnx (onnx::ModelProto) and
// ONNX shape inference. No ONNX/protobuf types appear in this header.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

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

// Concrete shapes for one binding of the symbolic dims (symbol -> value),
// indexed by ValueId; nullopt where a shape stays unknown.
//
// Symbolic shape inference cannot follow data-dependent shapes (PyTorch's
// Range(0, Shape(x)[1]) position ids, Reshape to a shape computed with
// Shape/Gather/Concat), so this re-runs ONNX shape inference on a copy of the
// model's structure (weights are not copied) with the graph inputs' symbols
// replaced by `symbols`, folding small int64 shape computations (Shape, Size,
// Gather, Cast, Unsqueeze, Squeeze, Concat, Slice, Range, Add/Sub/Mul/Div,
// Reshape, Identity, Constant) to constants between rounds until nothing
// new folds. Graphs without a source model (built by hand) get the shapes
// their values already have when fully known.
using BoundShapes = std::vector<std::optional<std::vector<std::int64_t>>>;
Result<BoundShapes> inferBoundShapes(const Graph &graph,
                                     const std::map<std::string, std::int64_t> &symbols);

} // namespace sb::graph
