// Shapes under a concrete binding of a graph's symbolic dims.
// No ONNX/protobuf types appear in this header.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::graph {

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
