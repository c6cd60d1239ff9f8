// Loading the tensors a run needs: "NAME=FILE" specs, .npy or ONNX TensorProto
// .pb files, checked against the executor's declared inputs. Shared by the
// run / bench commands and the pipeline runner.
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"
#include "core/runtime/tensor.h"

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sb::runtime {

// .npy by its magic bytes, otherwise an ONNX TensorProto (.pb).
Result<Tensor> readTensorFile(const std::filesystem::path &path);

// Parses "NAME=FILE" (the CLI's --input); errors name the bad text.
Result<std::pair<std::string, std::filesystem::path>> parseInputSpec(const std::string &text);

// Loads every spec and checks them against the graph's inputs: each input
// given exactly once, no unknown names, element type equal, rank equal and
// every known (non-symbolic) dim equal. Errors name the input and the file.
Result<std::map<std::string, Tensor>> loadInputs(const graph::Graph &graph,
                                                 const std::vector<std::string> &specs);

// Checks a tensor against a declared input (used by loadInputs and Executor).
Status checkInput(const std::string &name, const graph::TensorInfo &declared, const Tensor &tensor);

// Zero-filled inputs for every graph input; symbolic dims named in `dims`
// take that value, other symbolic dim-0 axes take `batch`, other unknown dims 1.
Result<std::map<std::string, Tensor>>
syntheticInputs(const graph::Graph &graph, std::int64_t batch,
                const std::map<std::string, std::int64_t> &dims = {});

// A file name for a value name: every character outside [A-Za-z0-9._-] becomes
// '_' ("/blocks.0/Add_output_0" -> "_blocks.0_Add_output_0"); empty -> "output".
std::string sanitizeFileName(const std::string &valueName);

} // namespace sb::runtime

namespace sb::runtime {

struct WrittenOutput
{
    std::string name; // the graph's output name
    std::filesystem::path file;
    ElementType type = ElementType::Undefined;
    Shape shape;
};

// Writes DIR/<sanitizeFileName(name)>.npy per tensor, in `order` (creating
// DIR). Two names that sanitise to the same file get "_1", "_2" suffixes.
Result<std::vector<WrittenOutput>> writeOutputs(const std::filesystem::path &dir,
                                                const std::vector<std::string> &order,
                                                const std::map<std::string, Tensor> &tensors);

} // namespace sb::runtime
