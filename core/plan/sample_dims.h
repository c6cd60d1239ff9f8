// Dims of a model's symbolic inputs read from the sample input it ships, so a
// model opens with its estimates complete instead of "bind seq above".
#pragma once

#include "core/common/result.h"
#include "core/graph/graph.h"

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace sb::plan {

struct SampleDims
{
    std::map<std::string, std::int64_t> dims; // symbol -> size (batch symbols excluded)
    std::vector<std::filesystem::path> files; // the sample files they came from
};

// Binds every symbolic dim of the graph inputs except the batch symbols
// (cost::batchSymbols: the plan's batch binds those) to its size in the
// sample shapes, one shape per graph input in the graph's input order.
// Errors name the input and dimension when a shape's rank differs or one
// symbol gets two sizes.
[[nodiscard]] Result<std::map<std::string, std::int64_t>>
dimsFromSampleShapes(const graph::Graph &graph,
                     const std::vector<std::vector<std::int64_t>> &shapes);

// The sample input beside `model`, by the conventions the project's files
// use: `<stem>_input.npy` for a one-input model (resources/demo), or
// `<stem>.in0.npy`, `<stem>.in1.npy`, ... one per input (tests/data/models).
// No sample there: empty dims and files. A sample that does not fit the
// model: an error naming the file.
[[nodiscard]] Result<SampleDims> dimsFromSampleInput(const graph::Graph &graph,
                                                     const std::filesystem::path &model);

} // namespace sb::plan
