#include "core/serve/engine.h"

#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/plan_file.h"
#include "core/plan/validate.h"
#include "core/runtime/session.h"

#include <chrono>

namespace sb::serve {

Engine::~Engine() = default;

const IoInfo *Engine::findInput(const std::string &name) const
{
    for (const auto &io : m_inputs)
        if (io.name == name)
            return &io;
    return nullptr;
}

Result<std::shared_ptr<Engine>> Engine::load(const EngineSpec &spec,
                                             const runtime::KernelRegistry &registry)
{
    std::shared_ptr<Engine> engine(new Engine());
    engine->m_spec = spec;
    if (spec.plan.empty()) {
        SB_ASSIGN_OR_RETURN(runtime::Session session,
                            runtime::openSession(spec.model, registry, spec.threads));
        engine->m_graph = session.graph;
        engine->m_device = std::move(session.device);
        engine->m_executor = std::move(session.executor);
        engine->m_stageDevices = {"cpu"};
    } else {
        SB_ASSIGN_OR_RETURN(std::shared_ptr<graph::Graph> graph, graph::importOnnxFile(spec.model));
        engine->m_graph = graph;
        SB_ASSIGN_OR_RETURN(plan::Plan plan, plan::readPlanFile(spec.plan));
        SB_TRY(plan::checkPlanForRun(*graph, plan, spec.model, spec.plan.string()));
        engine->m_microbatches = std::max(1, plan.microbatches);
        SB_ASSIGN_OR_RETURN(engine->m_pipeline, plan::openLocalPipeline(graph, plan, registry));
        for (std::size_t s = 0; s < engine->m_pipeline->runner->stageCount(); ++s)
            engine->m_stageDevices.push_back(
                engine->m_pipeline->runner->stageExecutor(s).device().id());
    }
    const graph::Graph &g = *engine->m_graph;
    bool batchable = true;
    auto describe = [&](graph::ValueId id) {
        const auto &value = g.value(id);
        IoInfo io{value.name, value.info, false};
        io.batchAxis = value.info.shape.rankKnown && !value.info.shape.dims.empty() &&
                       value.info.shape.dims[0].value < 0;
        batchable = batchable && io.batchAxis;
        return io;
    };
    for (graph::ValueId id : g.inputs())
        engine->m_inputs.push_back(describe(id));
    for (graph::ValueId id : g.outputs())
        engine->m_outputs.push_back(describe(id));
    engine->m_batchable = batchable && !engine->m_inputs.empty();
    return engine;
}

Result<EngineResult> Engine::run(const runtime::TensorMap &inputs, const CancelToken *cancel) const
{
    EngineResult result;
    const auto started = std::chrono::steady_clock::now();
    if (m_executor) {
        runtime::RunOptions options;
        options.cancel = cancel;
        SB_ASSIGN_OR_RETURN(runtime::RunResult run, m_executor->run(inputs, options));
        result.outputs = std::move(run.outputs);
        result.computeMs =
            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
                .count();
        result.stageBusyMs = {result.computeMs};
        return result;
    }
    std::lock_guard lock(m_pipelineMutex);
    runtime::PipelineRunOptions options;
    options.microbatches = m_microbatches;
    options.cancel = cancel;
    SB_ASSIGN_OR_RETURN(runtime::PipelineResult run, m_pipeline->runner->run(inputs, options));
    result.outputs = std::move(run.outputs);
    for (const auto &stage : run.metrics.stages)
        result.stageBusyMs.push_back(stage.computeMs);
    result.computeMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return result;
}

} // namespace sb::serve
