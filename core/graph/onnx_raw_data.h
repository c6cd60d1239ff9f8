// Where each top-level initializer's raw_data lies in the serialized model,
// so that initializers borrow the model file's mapped pages instead of the
// parsed proto's copy. Private to the importer.
//
// Contract:
//  - locateRawData walks the protobuf wire format of a ModelProto
//    (ModelProto.graph = field 7, GraphProto.initializer = 5,
//    TensorProto.raw_data = 9; the last raw_data of a tensor wins, as in
//    parsing) and returns (offset, size) per initializer in file order, with
//    offset size_t(-1) for one without raw_data. Malformed input gives an
//    empty vector; it never reads outside [data, data + size).
//  - mapRawDataToFile fills ctx.rawInFile only when ctx.file is set and the
//    walk agrees one-to-one with what protobuf parsed (same count, same bytes
//    at each offset); otherwise it leaves it empty and tensors copy from the
//    proto. Behaviour never depends on it, only memory use.
#pragma once

#include "core/graph/onnx_import_context.h"

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace sb::graph::detail {

std::vector<std::pair<std::size_t, std::size_t>> locateRawData(const std::uint8_t *data,
                                                               std::size_t size);

void mapRawDataToFile(ImportContext &ctx, std::string_view bytes);

} // namespace sb::graph::detail
