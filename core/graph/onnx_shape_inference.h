// ONNX shape inference at import. Private to the importer.
//
// Contract of inferShapesOnImport: puts the proto's top-level nodes in the
// IR's topological order (shape inference walks file order), runs ONNX shape
// inference with data propagation on ctx.model (types are not checked; the
// ONNX checker ran before), and merges each inferred value_info and output
// into the converted graphs (ctx.graphs) with mergeInfo: what the IR already
// knows is kept. When inference throws, what it recorded until then is
// still merged and graph.diagnostics gets "shape inference stopped early:
// <message>" (cut at 300 characters); it never fails the import.
#pragma once

#include "core/graph/onnx_import_context.h"

namespace sb::graph::detail {

void inferShapesOnImport(ImportContext &ctx, Graph &graph);

} // namespace sb::graph::detail
