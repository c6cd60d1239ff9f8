// `shardbench-cli robustness`: metrics against perturbation strength, run
// through the engine (see core/eval/robustness.h).
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/predict_cli.h"
#include "app/cli/risk_common.h"
#include "core/common/json_text.h"

#include "core/eval/robustness.h"
#include "core/runtime/npy.h"
#include "core/workflows/model_runner.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace sb::cli {
namespace {

using nlohmann::json;

std::string fmt(const json &v)
{
    return formatJsonNumber(v);
}

void printText(std::ostream &out, const json &r)
{
    out << r["file"].get<std::string>() << ": " << r["rows"] << " rows, model output '"
        << r["model_output"].get<std::string>() << "', seed " << r["seed"] << "\n";
    out << "baseline: accuracy " << fmt(r["baseline"]["metrics"]["accuracy"]) << ", roc_auc "
        << fmt(r["baseline"]["metrics"]["roc_auc"]) << ", log_loss "
        << fmt(r["baseline"]["metrics"]["log_loss"]) << "\n";
    for (const json &p : r["perturbations"]) {
        if (!p["supported"].get<bool>()) {
            out << p["name"].get<std::string>() << ": not run: " << p["reason"].get<std::string>()
                << "\n";
            continue;
        }
        if (p["name"] == "shift")
            continue;
        out << p["name"].get<std::string>() << " (" << p["description"].get<std::string>()
            << "):\n";
        for (const json &c : r["curves"])
            if (c["perturbation"] == p["name"])
                out << "  S=" << std::left << std::setw(6) << jsonText(c["strength"])
                    << " accuracy " << fmt(c["metrics"]["accuracy"]) << " (drop "
                    << fmt(c["drop"]["accuracy"]) << "), roc_auc " << fmt(c["metrics"]["roc_auc"])
                    << ", mean proba change " << fmt(c["mean_proba_change"]) << "\n";
    }
    if (!r["sensitivity"].empty()) {
        out << "sensitivity (one feature shifted at a time, ranked by mean probability "
               "change):\n";
        int shown = 0;
        for (const json &s : r["sensitivity"]) {
            if (shown++ == 10)
                break;
            out << "  " << std::right << std::setw(3) << s["rank"].get<int>() << ". " << std::left
                << std::setw(28) << s["feature"].get<std::string>() << " mean proba change "
                << fmt(s["mean_proba_change"]) << ", worst accuracy drop "
                << fmt(s["accuracy_drop"]) << "\n";
        }
    }
    for (const json &g : r["gates"])
        out << "gate " << g["expr"].get<std::string>() << ": " << fmt(g["value"]) << " -> "
            << (g["passed"].get<bool>() ? "passed" : "FAILED") << "\n";
}

Result<std::vector<double>> readImageLabels(const std::string &path)
{
    SB_ASSIGN_OR_RETURN(runtime::Tensor t, runtime::readNpy(path));
    std::vector<double> labels;
    for (std::int64_t i = 0; i < t.elementCount(); ++i)
        labels.push_back(t.scalarAsDouble(i));
    return labels;
}

int runRobustness(Args &args)
{
    ArgSpec spec(
        "robustness MODEL.onnx --data FILE.csv --label COL [--features COLS | --feature-prefix P] "
        "[--perturb SPEC]... [--slice \"NAME: EXPR\"]... [--slices \"A: EXPR; B: EXPR\"] [--json] "
        "[--gate RULE]",
        "Robustness of a classifier: runs the model through the engine (as `eval --model`)\n"
        "on perturbed copies of the data and reports every metric against perturbation\n"
        "strength, overall and per slice, plus a one-feature-at-a-time sensitivity\n"
        "ranking. Strength 0 is the unperturbed data: it equals `eval --model` exactly.\n"
        "Deterministic for a given --seed.");
    spec.positional("MODEL.onnx", "the classifier (float32 [batch, features] -> probabilities)");
    spec.option("data", "FILE.csv|IMAGES.npy",
                "evaluation data: CSV with a header, or float32 images [N, ...] in .npy");
    spec.option("label", "COL|LABELS.npy",
                "label column (CSV), or a .npy with one class index per image");
    addPredictOptions(spec);
    spec.multi("perturb", "SPEC",
               "NAME:S1,S2,... (repeatable). Tabular: noise (sigma = S x feature std), dropout "
               "(probability S of the feature mean/mode), missing (probability S of a missing "
               "value; only when the model handles them), shift (one feature at a time by +-S "
               "std). Images: image_noise, brightness (+S x range), contrast (x (1-S)), "
               "translate (S pixels). Default: noise:0.05,0.1,0.2,0.5 dropout:0.1,0.25,0.5 "
               "missing:0.1,0.25 shift:0.5,1 (images: image_noise:0.05,0.1,0.2 "
               "brightness:0.1,0.2 contrast:0.25,0.5 translate:1,2)");
    spec.multi("slice", "\"NAME: EXPR\"", "also report each point on this slice (as `eval`)");
    spec.multi("slices", "\"NAME: EXPR; ...\"",
               "several slices at once, separated by ';' (the same as one --slice each)");
    spec.option("positive", "L", "binary: the positive label, 0 or 1", "1");
    spec.option("seed", "N", "seed of the random perturbations", "20240611");
    spec.multi("gate", "RULE",
               "fail (exit 3) unless e.g. \"accuracy_drop@noise0.1 <= 0.02\" or "
               "\"roc_auc@dropout0.25 >= 0.9\" holds (METRIC[_drop]@NAME STRENGTH OP VALUE; "
               "drop = strength-0 value minus the value; shift: worst feature); "
               "comparisons join with and/or/not as in checklist rules");
    spec.option("categorical", "COLS", "comma-separated columns to read as categorical");
    spec.option("out", "FILE.json", "also write the JSON report to this file");
    spec.option("db", "PATH",
                "store the report (kind 'robustness') in this database, for the model's "
                "registered version (governance evidence)");
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog(
        "JSON keys: file, kind (tabular|images), rows, label, features, model_output,\n"
        "classes, seed, missing_values {supported, reason}, baseline {metrics},\n"
        "perturbations [{name, strengths, description, supported, reason?}],\n"
        "curves [{perturbation, strength, metrics {accuracy, roc_auc, ...}, drop {...},\n"
        "mean_proba_change, slices? [{name, rows, metrics}]}] (strength 0 included),\n"
        "sensitivity [{rank, feature, std, mean_proba_change, accuracy_drop, points\n"
        "[{strength, metrics, mean_proba_change}]}], summary {METRIC_drop_NAME_S: ...,\n"
        "e.g. accuracy_drop_noise_0_1}, gates [{expr, value, passed, values}].\n"
        "Exit codes: 0 ok, 2 bad input (file, column), 3 a gate failed, 4 the model failed.");
    spec.required("data").required("label");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const std::string modelPath = parsed.positional.at(0);
    const std::string data = parsed.get("data");
    const bool images = data.size() > 4 && data.substr(data.size() - 4) == ".npy";

    eval::RobustnessOptions options;
    options.perturbations = parsed.all("perturb");
    options.gates = parsed.all("gate");
    options.eval.label = parsed.get("label");
    options.eval.positive = parsed.get("positive", "1");
    options.eval.slices = parsed.all("slice");
    for (const std::string &group : parsed.all("slices"))
        for (std::size_t start = 0; start <= group.size();) {
            const std::size_t end = std::min(group.find(';', start), group.size());
            std::string one = group.substr(start, end - start);
            one.erase(0, one.find_first_not_of(" \t"));
            one.erase(one.find_last_not_of(" \t") + 1);
            if (!one.empty())
                options.eval.slices.push_back(std::move(one));
            start = end + 1;
        }
    auto seed = parsed.getInt("seed", 20240611);
    if (!seed)
        return reportError(args.command, seed.error());
    options.seed = static_cast<std::uint64_t>(*seed);
    // Validate specs before loading anything.
    if (auto p = eval::parsePerturbations(options.perturbations, images); !p)
        return reportError(args.command, p.error());

    auto model = openPredictionModel(modelPath, parsed);
    if (!model)
        return reportError(args.command, model.error());
    const graph::Graph *graph =
        (*model)->graph ? (*model)->graph.get() : (*model)->session.graph.get();
    if (graph)
        options.modelHandlesMissing = eval::graphHandlesMissing(*graph, &options.missingReason);

    Result<eval::RobustnessReport> report = makeError(ErrorCode::Internal, "not run");
    const ProgressFn progress = terminalProgress("robustness", parsed.flag("json"));
    if (images) {
        if (parsed.has("features") || parsed.has("feature-prefix"))
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--features/--feature-prefix apply to CSV data; "
                                         "images feed the model whole"));
        auto tensor = runtime::readNpy(data);
        if (!tensor)
            return reportError(args.command, tensor.error());
        const std::string labelPath = parsed.get("label");
        if (labelPath.size() < 4 || labelPath.substr(labelPath.size() - 4) != ".npy")
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--label: with .npy images give the labels as a .npy "
                                         "file (one class index per image), not '" +
                                             labelPath + "'"));
        auto labels = readImageLabels(labelPath);
        if (!labels)
            return reportError(args.command, labels.error());
        eval::PredictOptions predictOptions;
        auto rows = parsed.getInt("batch-rows", 4096);
        if (!rows)
            return reportError(args.command, rows.error());
        predictOptions.batchRows = static_cast<std::size_t>(std::max<long long>(*rows, 1));
        options.predict = predictOptions;
        options.eval.label = "label";
        auto images = workflows::floatImages(*tensor, data);
        if (!images)
            return reportError(args.command, images.error());
        report = eval::runImageRobustness(std::move(*images), *labels, data, (*model)->runner,
                                          options, &interruptToken(), progress);
    } else {
        auto predictOptions = predictOptionsFromArgs(parsed);
        if (!predictOptions)
            return reportError(args.command, predictOptions.error());
        options.predict = *predictOptions;
        eval::CsvOptions csvOptions;
        csvOptions.categorical = splitList(parsed.get("categorical"));
        auto table = eval::readCsv(data, csvOptions);
        if (!table)
            return reportError(args.command, table.error());
        report =
            eval::runRobustness(*table, (*model)->runner, options, &interruptToken(), progress);
    }
    if (!report) {
        return reportRunError(args.command, report.error());
    }
    json &r = report->json;
    r["model"] = modelPath;
    if (parsed.has("out"))
        if (auto written = writeJsonFile(parsed.get("out"), r); !written)
            return reportError(args.command, written.error());
    if (parsed.has("db"))
        if (auto stored = storeRiskReport(parsed.get("db"), modelPath, "robustness",
                                          "robustness " + modelPath + " --data " + data, r);
            !stored)
            return reportError(args.command, stored.error());
    if (parsed.flag("json"))
        printJson(r);
    else
        printText(std::cout, r);
    return reportGates(args.command, report->gates);
}

const CommandRegistrar registrar{
    "robustness", "Metrics under perturbed inputs (noise, dropout, shifts), sensitivity, gates",
    runRobustness};

} // namespace
} // namespace sb::cli
