#include "app/cli/predict_cli.h"

#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"

#include "core/plan/plan_file.h"
#include "core/workflows/model_runner.h"
#include "kernels/registry.h"

namespace sb::cli {

void addPredictOptions(ArgSpec &spec)
{
    spec.option("features", "COLS", "comma-separated feature columns, in the model's input order");
    spec.option("feature-prefix", "P", "or: every column whose name starts with P, in file order");
    spec.option("plan", "PLAN.json",
                "run pipelined across this machine's devices as the plan says");
    spec.option("microbatches", "M", "micro-batches per batch with --plan (default: the plan's)");
    spec.option("batch-rows", "N", "rows per model run", "4096");
    spec.option("threads", "N", "threads of the CPU device without --plan (0 = all cores)", "0");
}

Result<eval::PredictOptions> predictOptionsFromArgs(const ParsedArgs &parsed)
{
    eval::PredictOptions options;
    options.features = splitList(parsed.get("features"));
    options.featurePrefix = parsed.get("feature-prefix");
    if (options.features.empty() && options.featurePrefix.empty())
        return makeError(ErrorCode::InvalidInput,
                         "--features COLS or --feature-prefix P is required");
    if (!options.features.empty() && !options.featurePrefix.empty())
        return makeError(ErrorCode::InvalidInput,
                         "--features and --feature-prefix are alternatives; give one");
    SB_ASSIGN_OR_RETURN(long long rows, parsed.getInt("batch-rows", 4096));
    if (rows < 1)
        return makeError(ErrorCode::InvalidInput, "--batch-rows must be at least 1");
    options.batchRows = static_cast<std::size_t>(rows);
    options.cancel = &interruptToken();
    return options;
}

Result<std::unique_ptr<PredictionModel>> openPredictionModel(const std::string &modelPath,
                                                             const ParsedArgs &parsed)
{
    auto model = std::make_unique<PredictionModel>();
    const runtime::KernelRegistry &registry = kernels::defaultRegistry();
    const CancelToken *cancel = &interruptToken();
    if (!parsed.has("plan")) {
        SB_ASSIGN_OR_RETURN(long long threads, parsed.getInt("threads", 0));
        SB_ASSIGN_OR_RETURN(model->session,
                            runtime::openSession(modelPath, registry, static_cast<int>(threads)));
        SB_ASSIGN_OR_RETURN(model->runner,
                            workflows::executorRunner(*model->session.executor, cancel));
        return model;
    }
    SB_ASSIGN_OR_RETURN(LoadedModel loaded, loadModel(modelPath));
    model->graph = loaded.graph;
    SB_ASSIGN_OR_RETURN(plan::Plan planFile, plan::readPlanFile(parsed.get("plan")));
    if (!planFile.modelSha256.empty() && planFile.modelSha256 != loaded.sha256)
        return makeError(ErrorCode::InvalidInput, parsed.get("plan") +
                                                      ": made for another model (sha256 " +
                                                      planFile.modelSha256 + ", " + modelPath +
                                                      " is " + loaded.sha256 + ")");
    SB_ASSIGN_OR_RETURN(long long microbatches,
                        parsed.getInt("microbatches", planFile.microbatches));
    SB_ASSIGN_OR_RETURN(model->devices,
                        plan::createLocalDevices(planFile.devices.devices, registry));
    SB_ASSIGN_OR_RETURN(auto stages, plan::pipelineStages(*model->graph, planFile, model->devices));
    SB_ASSIGN_OR_RETURN(model->pipeline, runtime::PipelineRunner::create(model->graph, stages));
    SB_ASSIGN_OR_RETURN(model->runner, workflows::pipelineRunner(
                                           *model->graph, *model->pipeline,
                                           static_cast<int>(std::max<long long>(microbatches, 1)),
                                           modelPath, cancel));
    return model;
}

} // namespace sb::cli
