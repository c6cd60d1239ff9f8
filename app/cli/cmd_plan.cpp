// `shardbench-cli plan`: auto-split a model across devices and write the plan.
#include "app/cli/command.h"
#include "app/cli/pipeline_cli.h"
#include "core/plan/mpi_run.h"

#include "core/cost/cost_model.h"
#include "core/plan/planner.h"
#include "core/plan/predict.h"
#include "core/plan/validate.h"
#include "kernels/registry.h"

#include <cstdio>
#include <iostream>

namespace sb::cli {
namespace {

int runPlan(Args &args)
{
    ArgSpec spec(
        "plan MODEL.onnx --devices SPEC --objective throughput|latency [--batch N]\n"
        "       [--microbatches M] [--pin NODE=DEV]... [--dim NAME=V]... --out PLAN.json [--json]",
        "Split a model into pipeline stages over devices with the exact planner\n"
        "(contiguous splits of the topological order at block granularity; stages\n"
        "follow the --devices order, a device may stay unused). Prints the memory\n"
        "ledger, estimated stage times, bottleneck, throughput, latency, bubble\n"
        "fraction, the lower bound and the gap to it.");
    spec.positional("MODEL.onnx", "model file");
    spec.option("devices", "SPEC",
                "comma-separated: local ids (cpu:0,cpu:1) and/or what-if catalogue devices\n"
                "catalog:NAME[*COUNT] (e.g. catalog:A100-80GB*4); see `devices --catalog`");
    spec.option("objective", "NAME", "throughput (slowest stage) or latency (sum of stages)",
                "throughput");
    spec.option("batch", "N", "whole batch size", "1");
    spec.option("microbatches", "M", "micro-batches per batch (must divide N)", "1");
    spec.multi("pin", "NODE=DEV", "keep a node on a device (repeatable)");
    spec.multi("dim", "NAME=V", "bind a symbolic dim for the estimates, e.g. seq=64 (repeatable)");
    spec.option("out", "PLAN.json", "where to write the plan");
    addLocalDeviceOptions(spec);
    spec.option("hosts", "HOST[:SLOTS],...",
                "also offer the devices of these hosts (probed through mpirun) as HOST/cpu:N, "
                "linked by the measured host links of `calibrate --hosts` when present");
    spec.option("worker", "PATH", "with --hosts: shardbench-worker on every host");
    spec.flag("json", "print one JSON object");
    spec.required("devices").required("out");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto fail = [&](const Error &error) { return reportError(args.command, error); };

    auto model = loadModel(parsed.positional[0]);
    if (!model)
        return fail(model.error());
    auto local = localDevicesFromArgs(parsed);
    if (!local)
        return fail(local.error());
    auto catalog = plan::loadCatalog();
    if (!catalog)
        return fail(catalog.error());
    std::vector<plan::HostLink> hostLinks;
    if (parsed.has("hosts")) {
        auto hosts = plan::parseHostList(parsed.get("hosts"));
        if (!hosts)
            return fail(hosts.error());
        auto probes = plan::probeHosts(
            *hosts, parsed.get("worker"), 2,
            [](const std::string &line) { std::cerr << line << "\n"; }, &interruptToken());
        if (!probes)
            return fail(probes.error());
        for (const plan::DeviceSpec &device : plan::remoteDeviceSet(*probes, {}).devices)
            local->devices.push_back(device);
        if (auto loaded = plan::loadHostLinks(plan::defaultHostLinksPath()))
            hostLinks = std::move(*loaded);
    }
    auto devices = plan::parseDeviceList(parsed.get("devices"), *local, *catalog);
    if (!devices)
        return fail(devices.error());
    plan::addHostLinks(*devices, hostLinks);

    plan::PlannerOptions options;
    auto objective = plan::parseObjective(parsed.get("objective", "throughput"));
    if (!objective)
        return fail(objective.error());
    options.objective = *objective;
    auto batch = parsed.getInt("batch", 1);
    auto microbatches = parsed.getInt("microbatches", 1);
    if (!batch)
        return fail(batch.error());
    if (!microbatches)
        return fail(microbatches.error());
    if (*batch < 1 || *microbatches < 1)
        return fail(makeError(ErrorCode::InvalidInput, "--batch and --microbatches must be >= 1"));
    options.batch = *batch;
    options.microbatches = static_cast<int>(*microbatches);
    std::vector<std::string> warnings;
    std::string reason;
    if (options.microbatches > 1 && !cost::batchIsSymbolicThroughout(*model->graph, &reason)) {
        warnings.push_back("micro-batching is impossible: the batch size is baked into the "
                           "model (" +
                           reason + "); planning 1 micro-batch");
        options.microbatches = 1;
    }
    for (const std::string &text : parsed.all("pin")) {
        auto eq = text.rfind('=');
        if (eq == std::string::npos || eq == 0 || eq + 1 == text.size())
            return fail(
                makeError(ErrorCode::InvalidInput, "--pin \"" + text + "\": expected NODE=DEVICE"));
        options.pins[text.substr(0, eq)] = text.substr(eq + 1);
    }
    for (const std::string &text : parsed.all("dim")) {
        auto binding = cost::parseDimBinding(text);
        if (!binding)
            return fail(binding.error());
        options.dims[binding->first] = binding->second;
    }
    options.modelSha256 = model->sha256;
    options.cancel = &interruptToken();

    // Calibrated kernel rates price the nodes the engine will run (after
    // fusion) on local CPU devices; other device sets plan by FLOPs / rate.
    const plan::KernelRates rates = plan::storedKernelRates();
    (void)plan::usePredictedCosts(options, model->graph, *devices, kernels::defaultRegistry(),
                                  rates);
    auto result = plan::autoPlan(*model->graph, *devices, options);
    if (!result)
        return fail(result.error());
    Status written = plan::writePlanFile(result->plan, parsed.get("out"));
    if (!written.ok())
        return fail(written.error());
    plan::ValidateOptions validateOptions;
    validateOptions.modelSha256 = model->sha256;
    plan::ValidationReport report =
        plan::validatePlan(*model->graph, result->plan, validateOptions);
    for (const plan::Problem &problem : report.problems)
        warnings.push_back(problem.code + ": " + problem.message);
    for (const std::string &warning : warnings)
        std::cerr << "shardbench-cli plan: warning: " << warning << "\n";

    if (parsed.flag("json")) {
        nlohmann::json doc;
        doc["plan_file"] = parsed.get("out");
        doc["objective"] = plan::objectiveName(options.objective);
        doc["batch"] = options.batch;
        doc["microbatches"] = options.microbatches;
        doc["planning_units"] = result->unitCount;
        doc["planning_ms"] = result->planSeconds * 1e3;
        doc["objective_ms"] = result->objectiveValue * 1e3;
        doc["lower_bound_ms"] = result->lowerBound * 1e3;
        doc["gap"] = result->gap;
        doc["valid"] = report.ok();
        doc["warnings"] = warnings;
        nlohmann::json estimate =
            report.estimate ? plan::estimateToJson(*report.estimate) : nlohmann::json(nullptr);
        doc["estimate"] = estimate;
        // The headline figures also at the top level.
        if (report.estimate) {
            for (const char *key : {"ledger", "stages", "bottleneck", "throughput", "latency_ms",
                                    "bubble_fraction", "cost_per_1000_inferences"})
                doc[key] = estimate[key];
        }
        // The cost model's prediction of running the plan here (null when a
        // device is not local), beside which `run --json` puts `measured`.
        auto predicted =
            plan::predictPlan(model->graph, result->plan, kernels::defaultRegistry(), rates,
                              options.batch, options.microbatches, options.dims);
        doc["predicted"] = predicted ? *predicted : nlohmann::json(nullptr);
        printJson(doc);
        return kExitOk;
    }
    std::cout << "plan written to " << parsed.get("out") << " (" << result->plan.assignment.size()
              << " nodes, " << result->unitCount << " planning units, "
              << result->split.stages.size() << " stage(s), planned in "
              << result->planSeconds * 1e3 << " ms)\n";
    if (report.estimate)
        std::cout << plan::formatEstimate(*report.estimate);
    std::printf("objective (%s): %.3f ms per micro-batch; lower bound %.3f ms; gap %.1f%%\n",
                plan::objectiveName(options.objective), result->objectiveValue * 1e3,
                result->lowerBound * 1e3, result->gap * 100);
    return kExitOk;
}

const CommandRegistrar registrar{"plan", "Auto-split a model into pipeline stages over devices",
                                 runPlan};

} // namespace
} // namespace sb::cli
