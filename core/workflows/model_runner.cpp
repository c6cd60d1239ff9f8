#include "core/workflows/model_runner.h"

#include <algorithm>
#include <utility>

namespace sb::workflows {

namespace {

runtime::Tensor inputTensor(const eval::FloatArray &input)
{
    return runtime::Tensor::view(graph::ElementType::Float32, input.shape,
                                 const_cast<float *>(input.values.data()));
}

eval::FloatOutputs floatOutputs(const runtime::TensorMap &outputs)
{
    eval::FloatOutputs out;
    for (const auto &[name, tensor] : outputs) {
        if (tensor.type() != graph::ElementType::Float32)
            continue;
        eval::FloatArray array;
        array.shape = tensor.shape();
        const float *values = tensor.as<float>();
        array.values.assign(values, values + tensor.elementCount());
        out.emplace(name, std::move(array));
    }
    return out;
}

} // namespace

Result<eval::ModelRunner> executorRunner(const runtime::Executor &executor,
                                         const CancelToken *cancel)
{
    if (executor.inputNames().size() != 1)
        return makeError(ErrorCode::InvalidInput,
                         "the model has " + std::to_string(executor.inputNames().size()) +
                             " inputs; predict needs exactly one (a float32 [batch, features] "
                             "tensor)");
    eval::ModelRunner model;
    model.inputName = executor.inputNames().front();
    model.inputInfo = executor.valueInfo(model.inputName);
    model.outputNames = executor.outputNames();
    model.run = [&executor, cancel, name = model.inputName](
                    const eval::FloatArray &input) -> Result<eval::FloatOutputs> {
        runtime::RunOptions options;
        options.cancel = cancel;
        SB_ASSIGN_OR_RETURN(runtime::RunResult result,
                            executor.run({{name, inputTensor(input)}}, options));
        return floatOutputs(result.outputs);
    };
    return model;
}

Result<eval::ModelRunner> pipelineRunner(const graph::Graph &graph,
                                         const runtime::PipelineRunner &pipeline, int microbatches,
                                         const std::string &modelName, const CancelToken *cancel)
{
    if (graph.inputs().size() != 1)
        return makeError(ErrorCode::InvalidInput,
                         modelName + " has " + std::to_string(graph.inputs().size()) +
                             " inputs; predict needs exactly one (float32 [batch, features])");
    const graph::Value &input = graph.value(graph.inputs().front());
    eval::ModelRunner model;
    model.inputName = input.name;
    model.inputInfo = input.info;
    for (graph::ValueId id : graph.outputs())
        model.outputNames.push_back(graph.value(id).name);
    const int m = std::max(microbatches, 1);
    model.run = [&pipeline, m, cancel, name = model.inputName](
                    const eval::FloatArray &input) -> Result<eval::FloatOutputs> {
        runtime::PipelineRunOptions options;
        options.microbatches = m;
        options.cancel = cancel;
        SB_ASSIGN_OR_RETURN(runtime::PipelineResult result,
                            pipeline.run({{name, inputTensor(input)}}, options));
        return floatOutputs(result.outputs);
    };
    return model;
}

Result<eval::FloatArray> floatImages(const runtime::Tensor &tensor, const std::string &source)
{
    if (tensor.type() != graph::ElementType::Float32)
        return makeError(ErrorCode::InvalidInput, source +
                                                      ": images must be float32 [N, ...] (got " +
                                                      graph::elementTypeName(tensor.type()) + " " +
                                                      runtime::shapeToString(tensor.shape()) + ")");
    eval::FloatArray array;
    array.shape = tensor.shape();
    const float *values = tensor.as<float>();
    array.values.assign(values, values + tensor.elementCount());
    return array;
}

} // namespace sb::workflows
