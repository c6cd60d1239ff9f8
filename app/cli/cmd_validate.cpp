// `shardbench-cli validate`: check a plan against a model before launch.
#include "app/cli/command.h"
#include "app/cli/pipeline_cli.h"

#include "core/plan/validate.h"

#include <iostream>

namespace sb::cli {
namespace {

int runValidate(Args &args)
{
    ArgSpec spec("validate MODEL.onnx PLAN.json [--json]",
                 "Check a plan before launch and list EVERY problem, each naming its nodes:\n"
                 "unassigned nodes, unknown devices, cycles between devices, memory over\n"
                 "capacity (weights + activations of one micro-batch + transfer buffers +\n"
                 "workspace), model hash mismatch, micro-batches that do not divide the batch.\n"
                 "A batch baked into the model is a warning (runs with 1 micro-batch).\n"
                 "Prints the memory ledger and estimated stage times. Exit 2 when invalid.");
    spec.positional("MODEL.onnx", "model file");
    spec.positional("PLAN.json", "plan file");
    spec.flag("json", "print one JSON object");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto model = loadModel(parsed.positional[0]);
    if (!model)
        return reportError(args.command, model.error());
    auto plan = plan::readPlanFile(parsed.positional[1]);
    if (!plan)
        return reportError(args.command, plan.error());
    plan::ValidateOptions options;
    options.modelSha256 = model->sha256;
    plan::ValidationReport report = plan::validatePlan(*model->graph, *plan, options);
    if (parsed.flag("json")) {
        nlohmann::json doc = plan::reportToJson(report);
        doc["model"] = parsed.positional[0];
        doc["plan"] = parsed.positional[1];
        printJson(doc);
    } else {
        for (const plan::Problem &problem : report.problems)
            std::cerr << parsed.positional[1] << ": " << (problem.warning ? "warning" : "error")
                      << " [" << problem.code << "] " << problem.message << "\n";
        if (report.estimate)
            std::cout << plan::formatEstimate(*report.estimate);
        std::cout << (report.ok() ? "plan is valid" : "plan is INVALID") << " ("
                  << report.problems.size() << " problem(s) listed)\n";
    }
    return report.ok() ? kExitOk : kExitBadInput;
}

const CommandRegistrar registrar{"validate", "Check a plan against a model; list every problem",
                                 runValidate};

} // namespace
} // namespace sb::cli
