// Tensors in the Open Inference Protocol's JSON form (KServe v2 / Triton):
//   {"name": "x", "shape": [2, 30], "datatype": "FP32", "data": [...]}
// `data` is row-major, flat or nested (nested arrays are flattened); BOOL
// takes true/false (or 0/1). Datatypes: BOOL, UINT8, UINT16, UINT32, UINT64,
// INT8, INT16, INT32, INT64, FP16, BF16, FP32, FP64 (BYTES is not supported).
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/tensor.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace sb::serve {

// "FP32" <-> Float32 ...; nullopt for a name the protocol does not define or
// a type it cannot carry.
std::optional<graph::ElementType> elementTypeFromDatatype(const std::string &datatype);
const char *datatypeName(graph::ElementType type); // "" when not representable

// Declared shape of a model input/output: -1 for a symbolic or unknown dim.
std::vector<std::int64_t> protocolShape(const graph::Shape &shape);

// Checks `input` (one element of the request's "inputs") against the model's
// declared TensorInfo before any data is converted: datatype equal, rank and
// every fixed dim equal, symbolic dims >= 1, element count <= maxElements and
// equal to the number of values in "data". Errors are InvalidInput naming
// the input (and the first bad value).
Result<runtime::Tensor> tensorFromJson(const nlohmann::json &input,
                                       const graph::TensorInfo &declared, std::int64_t maxElements);

// {"name", "datatype", "shape", "data"} of a tensor (FP16/BF16 as numbers).
nlohmann::json tensorToJson(const std::string &name, const runtime::Tensor &tensor);

// Element i of a numeric tensor as a double (for monitoring).
double elementAsDouble(const runtime::Tensor &tensor, std::int64_t index);

} // namespace sb::serve
