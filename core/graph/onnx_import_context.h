// Private to core/graph's ONNX importer (onnx_import.cpp and the files split
// from it: onnx_external_data, onnx_raw_data, onnx_shape_inference). It
// includes protobuf/ONNX headers, so no public header may include it.
//
// ImportContext is the state of one import: the parsed proto, where external
// data resolves, the files mapped so far, the opsets, the custom ops seen,
// and the converted (sub)graphs with the protos they came from.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/graph/mapped_file.h"

#include <onnx/onnx_pb.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace sb::graph::detail {

namespace fs = std::filesystem;

struct ImportContext
{
    std::string source; // file name (or "<memory>") prefixing every message
    fs::path baseDir;   // folder that external data locations resolve against
    std::shared_ptr<onnx::ModelProto> model;
    std::map<std::string, std::shared_ptr<MappedFile>> mappings; // canonical path -> map
    std::map<std::string, std::int64_t> opsets;
    std::map<std::string, int> customOps; // "domain::op" -> node count
    // The model file's mapping and where each top-level initializer's raw_data
    // lies in it: such tensors borrow the file's pages instead of the proto's copy.
    std::shared_ptr<MappedFile> file;
    std::unordered_map<const onnx::TensorProto *, std::pair<std::size_t, std::size_t>> rawInFile;
    // Converted (sub)graphs with the proto they came from, for the value_info merge.
    std::vector<std::pair<const onnx::GraphProto *, Graph *>> graphs;

    Error invalid(const std::string &message) const
    {
        return makeError(ErrorCode::InvalidInput, source + ": " + message);
    }
    Error unsupported(const std::string &message) const
    {
        return makeError(ErrorCode::Unsupported, source + ": " + message);
    }
};

// `text` (a name from an untrusted file) quoted for a message: control bytes
// become '?', at most 200 bytes are kept ("..." marks the cut).
std::string quoteName(const std::string &text);

// The IR's TensorInfo for an ONNX TypeProto (Undefined type, unknown rank
// where the proto says nothing).
TensorInfo convertType(const onnx::TypeProto &type);

// Fills what `into` does not know from `from`: type, rank, unknown dims.
// Known values win over symbols, symbols over unknown.
void mergeInfo(TensorInfo &into, const TensorInfo &from);

// Kahn's topological order of nodes 0..n-1 given each node's successors and
// in-degrees, stable (ties keep the lower index first). Nodes on a cycle are
// left out and keep a non-zero in-degree in `indegree` (which is consumed).
std::vector<int> stableTopologicalOrder(const std::vector<std::vector<int>> &succs,
                                        std::vector<int> &indegree);

} // namespace sb::graph::detail
