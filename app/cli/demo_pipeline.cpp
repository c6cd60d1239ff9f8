// Demo step 30: auto-split the demo decoder over the local CPU devices, run it
// pipelined, check it against a single-device run and print the stage table.
#include "app/cli/demo.h"
#include "app/cli/planned_run.h"

#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/plan/local_run.h"
#include "core/plan/planner.h"
#include "core/plan/validate.h"
#include "core/runtime/executor.h"
#include "core/runtime/pipeline.h"
#include "core/runtime/tensor_io.h"
#include "kernels/registry.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ostream>

namespace sb::cli {
namespace {

Status demoPipeline(DemoContext &context)
{
    std::ostream &out = *context.out;
    const auto modelPath = context.resources / "demo" / "decoder.onnx";
    const auto inputPath = context.resources / "demo" / "decoder_input.npy";
    SB_ASSIGN_OR_RETURN(auto graph, graph::importOnnxFile(modelPath));
    SB_ASSIGN_OR_RETURN(runtime::Tensor input, runtime::readTensorFile(inputPath));
    SB_ASSIGN_OR_RETURN(std::string sha, sha256File(modelPath));
    const std::string inputName = graph->value(graph->inputs().front()).name;
    runtime::TensorMap inputs{{inputName, input}};
    const std::int64_t batch = input.dim(0);

    plan::LocalDeviceOptions localOptions;
    localOptions.cpuDevices = context.cpuDevices;
    SB_ASSIGN_OR_RETURN(plan::DeviceSet devices, plan::discoverLocalDevices(localOptions));
    plan::PlannerOptions options;
    options.objective = plan::Objective::Throughput;
    options.batch = batch;
    options.microbatches = static_cast<int>(std::min<std::int64_t>(batch, 8));
    while (batch % options.microbatches != 0)
        --options.microbatches;
    options.modelSha256 = sha;
    options.dims = plan::symbolicDimsFromInputs(*graph, inputs);
    SB_ASSIGN_OR_RETURN(plan::PlannerResult planned, plan::autoPlan(*graph, devices, options));
    const auto planPath = context.workDir / "decoder.plan.json";
    SB_TRY(plan::writePlanFile(planned.plan, planPath));
    plan::ValidateOptions validateOptions;
    validateOptions.modelSha256 = sha;
    plan::ValidationReport report = plan::validatePlan(*graph, planned.plan, validateOptions);
    if (!report.ok())
        return makeError(ErrorCode::Internal, "the planner's own plan did not validate: " +
                                                  report.problems.front().message);
    char line[256];
    std::snprintf(line, sizeof line,
                  "decoder.onnx: %zu nodes, %zu planning units -> %zu stage(s) over %zu CPU "
                  "devices in %.1f ms; plan %s\n",
                  graph->nodes().size(), planned.unitCount, planned.split.stages.size(),
                  devices.devices.size(), planned.planSeconds * 1e3, planPath.string().c_str());
    out << line << "estimate:\n" << plan::formatEstimate(*report.estimate);

    const auto &registry = kernels::defaultRegistry();
    workflows::PlanRunRequest request;
    request.graph = graph;
    request.modelPath = modelPath;
    request.planLabel = planPath.string();
    request.plan = planned.plan;
    request.inputs = inputs;
    request.iterations = 3;
    request.kernels = &registry;
    request.tracePath = context.workDir / "decoder.trace.json";
    SB_ASSIGN_OR_RETURN(PlannedRun run, workflows::runPlan(request));
    out << "pipelined run (3 runs):\n" << formatPlannedRun(run);

    // The same batch on one device: the pipelined outputs must match.
    runtime::CpuDevice single("cpu:0", 0, 0, registry);
    SB_ASSIGN_OR_RETURN(auto executor, runtime::Executor::create(graph, single));
    SB_ASSIGN_OR_RETURN(runtime::RunResult reference, executor->run(inputs));
    double worst = 0;
    for (const auto &[name, expected] : reference.outputs) {
        const runtime::Tensor &actual = run.lastOutputs.at(name);
        auto compared = runtime::compareTensors(actual, expected, 1e-5, 0);
        double maxRef = 0;
        if (expected.type() == graph::ElementType::Float32)
            for (std::int64_t i = 0; i < expected.elementCount(); ++i)
                maxRef = std::max(maxRef, std::fabs(double(expected.as<float>()[i])));
        worst = std::max(worst, maxRef > 0 ? compared.maxAbsError / maxRef : compared.maxAbsError);
    }
    std::snprintf(line, sizeof line,
                  "max relative error vs single-device run: %.2e (limit 1e-5)\ntrace: %s (open in "
                  "Perfetto), GUI timeline next to it\n",
                  worst, request.tracePath.string().c_str());
    out << line;
    if (worst > 1e-5)
        return makeError(ErrorCode::Runtime, "pipelined outputs differ from the single-device run");
    return {};
}

const DemoStepRegistrar registrar{30, "Plan and pipelined run", demoPipeline};

} // namespace
} // namespace sb::cli
