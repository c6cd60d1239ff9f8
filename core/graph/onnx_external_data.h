// External data of ONNX initializers (TensorProto.data_location EXTERNAL):
// resolving `location` against the model's folder and borrowing the bytes
// from a read-only map of the file. Private to the importer.
//
// Contract of loadExternal:
//  - Keys: `location` (required), `offset` and `length` (non-negative decimal
//    integers; default 0 and "to the end of the file"); other keys ignored.
//  - Safe by default: a location that is absolute, contains "..", a NUL byte,
//    or resolves (through symlinks) outside the model's folder is refused
//    (InvalidInput); so is a model given as bytes without a folder.
//  - A missing file is NotFound; offset/length outside the file, or a size
//    other than `expectedBytes` (from the tensor's shape and type), is
//    InvalidInput; string tensors are Unsupported.
//  - Each file is mapped once per import (ctx.mappings, keyed by canonical
//    path); the returned TensorData borrows the mapping and keeps it alive.
// Every message starts with ctx.source and names the tensor.
#pragma once

#include "core/graph/onnx_import_context.h"

#include <cstdint>
#include <memory>
#include <vector>

namespace sb::graph::detail {

Result<std::shared_ptr<const TensorData>>
loadExternal(ImportContext &ctx, const onnx::TensorProto &tensor, ElementType type,
             std::vector<std::int64_t> dims, std::uint64_t expectedBytes);

} // namespace sb::graph::detail
