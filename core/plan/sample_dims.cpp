#include "core/plan/sample_dims.h"

#include "core/cost/cost_model.h"
#include "core/runtime/npy.h"

#include <algorithm>
#include <system_error>

namespace sb::plan {

Result<std::map<std::string, std::int64_t>>
dimsFromSampleShapes(const graph::Graph &graph,
                     const std::vector<std::vector<std::int64_t>> &shapes)
{
    const std::vector<std::string> batch = cost::batchSymbols(graph);
    std::map<std::string, std::int64_t> dims;
    const auto &inputs = graph.inputs();
    for (std::size_t i = 0; i < inputs.size() && i < shapes.size(); ++i) {
        const graph::Value &value = graph.value(inputs[i]);
        const graph::Shape &shape = value.info.shape;
        if (!shape.rankKnown)
            continue;
        if (shape.dims.size() != shapes[i].size())
            return makeError(ErrorCode::InvalidInput, "input '" + value.name + "' has rank " +
                                                          std::to_string(shape.dims.size()) +
                                                          ", the sample rank " +
                                                          std::to_string(shapes[i].size()));
        for (std::size_t d = 0; d < shape.dims.size(); ++d) {
            const graph::Dim &dim = shape.dims[d];
            if (!dim.isSymbolic() ||
                std::find(batch.begin(), batch.end(), dim.symbol) != batch.end())
                continue;
            const std::int64_t size = shapes[i][d];
            auto [it, inserted] = dims.emplace(dim.symbol, size);
            if (!inserted && it->second != size)
                return makeError(ErrorCode::InvalidInput,
                                 "input '" + value.name + "' dimension " + std::to_string(d) +
                                     ": '" + dim.symbol + "' is " + std::to_string(size) +
                                     " here but " + std::to_string(it->second) +
                                     " in an earlier input");
        }
    }
    return dims;
}

Result<SampleDims> dimsFromSampleInput(const graph::Graph &graph,
                                       const std::filesystem::path &model)
{
    SampleDims sample;
    const std::size_t inputs = graph.inputs().size();
    if (inputs == 0)
        return sample;
    const std::filesystem::path dir = model.parent_path();
    const std::string stem = model.stem().string();
    std::error_code error;
    if (inputs == 1 && std::filesystem::is_regular_file(dir / (stem + "_input.npy"), error)) {
        sample.files.push_back(dir / (stem + "_input.npy"));
    } else {
        for (std::size_t i = 0; i < inputs; ++i) {
            const auto file = dir / (stem + ".in" + std::to_string(i) + ".npy");
            if (!std::filesystem::is_regular_file(file, error)) {
                sample.files.clear();
                break;
            }
            sample.files.push_back(file);
        }
    }
    std::vector<std::vector<std::int64_t>> shapes;
    for (const auto &file : sample.files) {
        SB_ASSIGN_OR_RETURN(runtime::Tensor tensor, runtime::readNpy(file));
        shapes.push_back(tensor.shape());
    }
    auto dims = dimsFromSampleShapes(graph, shapes);
    if (!dims)
        return dims.error().withContext(sample.files.front().string());
    sample.dims = std::move(*dims);
    return sample;
}

} // namespace sb::plan
