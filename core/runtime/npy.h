// NumPy .npy files (format versions 1.0-3.0): read and write Tensors.
// Supported dtypes: <f2 <f4 <f8 <i1 <i2 <i4 <i8 |u1 <u2 <u4 <u8 |b1, C order
// only. Errors name the file and what is wrong (magic, header, dtype, size).
#pragma once

#include "core/common/result.h"
#include "core/runtime/tensor.h"

#include <filesystem>
#include <string>

namespace sb::runtime {

Result<Tensor> readNpy(const std::filesystem::path &path);
Result<Tensor> parseNpy(const std::string &bytes, const std::string &sourceName);
Status writeNpy(const std::filesystem::path &path, const Tensor &tensor);

} // namespace sb::runtime
