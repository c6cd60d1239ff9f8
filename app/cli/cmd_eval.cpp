// `shardbench-cli eval`: metrics, slices, calibration, bootstrap and gates for
// predictions held in a CSV file (see core/eval/evaluation.h).
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/predict_cli.h"
#include "core/common/json_text.h"

#include "core/eval/csv.h"
#include "core/eval/evaluation.h"
#include "core/eval/metric_definitions.h"
#include "core/eval/slices.h"
#include "core/store/store.h"
#include "core/workflows/record_evaluation.h"

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <sstream>

namespace sb::cli {
namespace {

using nlohmann::json;

std::string fmt(const json &v, int precision = 4)
{
    return formatJsonNumber(v, precision);
}

void printSummary(std::ostream &out, const json &r)
{
    out << "rows: " << r["rows"].get<std::size_t>() << " (dropped " << r["dropped_rows"] << ")"
        << ", task: " << r["task"].get<std::string>() << "\n";
    const json &ci = r["ci"];
    out << "overall:\n";
    for (const auto &[key, value] : r["overall"].items()) {
        out << "  " << std::left << std::setw(18) << key << fmt(value);
        if (ci.is_object() && ci.contains(key))
            out << "  [" << fmt(ci[key][0]) << ", " << fmt(ci[key][1]) << "]";
        out << "\n";
    }
    if (r.contains("per_class")) {
        out << "per class (label: precision recall f1 support):\n";
        for (const auto &c : r["per_class"])
            out << "  " << jsonText(c["label"]) << ": " << fmt(c["precision"]) << " "
                << fmt(c["recall"]) << " " << fmt(c["f1"]) << " " << c["support"] << "\n";
        out << "confusion matrix (rows = true " << jsonText(r["confusion_matrix"]["labels"])
            << "): " << jsonText(r["confusion_matrix"]["matrix"]) << "\n";
    }
    if (r.contains("calibration") && r["calibration"].is_object()) {
        const json &c = r["calibration"];
        out << "calibration (" << c["binning"].get<std::string>() << ", " << c["n_bins"]
            << " bins, " << c["bins"].size() << " non-empty): ECE " << fmt(c["ece"]) << ", MCE "
            << fmt(c["mce"]) << ", adaptive ECE " << fmt(c["adaptive_ece"]) << ", temperature "
            << fmt(c["temperature"]) << " -> ECE " << fmt(c["ece_after_temperature"]) << "\n";
    }
    const std::string main(
        eval::primaryMetric(
            eval::parseTask(r["task"].get<std::string>()).value_or(eval::Task::Classification))
            .name);
    for (const auto &s : r["slices"]) {
        out << "slice " << s["name"].get<std::string>() << " (" << s["expr"].get<std::string>()
            << "): " << s["rows"] << " rows, " << main << " " << fmt(s["metrics"][main]);
        if (s["ci"].is_object())
            out << " [" << fmt(s["ci"][main][0]) << ", " << fmt(s["ci"][main][1]) << "]";
        out << "\n";
    }
    if (r.contains("auto_slice_search")) {
        const json &a = r["auto_slice_search"];
        out << "automatic slice search: " << a["candidates_tested"] << " candidates (min support "
            << a["min_support"] << "), " << a["test"].get<std::string>() << ", "
            << a["correction"].get<std::string>() << "; " << r["auto_slices"].size()
            << " worse than overall by > " << a["threshold"] << "\n";
        int shown = 0;
        for (const auto &s : r["auto_slices"]) {
            if (shown++ == 10)
                break;
            out << "  " << s["expr"].get<std::string>() << ": " << s["rows"] << " rows, "
                << s["metric"].get<std::string>() << " " << fmt(s["value"]) << " (effect "
                << fmt(s["effect"]) << ", q " << fmt(s["q_value"], 4)
                << (s["significant"].get<bool>() ? ", significant" : "") << ")\n";
        }
    }
    for (const auto &g : r["gates"])
        out << "gate " << g["expr"].get<std::string>() << ": " << fmt(g["value"]) << " -> "
            << (g["passed"].get<bool>() ? "passed" : "FAILED") << "\n";
    for (const auto &d : r["diagnostics"])
        out << "warning: " << d["message"].get<std::string>() << "\n";
}

int runEval(Args &args)
{
    ArgSpec spec("eval --data F.csv --label COL (--score COL [--threshold 0.5] [--positive L] | "
                 "--proba-prefix P | --pred COL | --model M.onnx --features COLS) [options]",
                 "Evaluate predictions against labels: metrics (scikit-learn definitions),\n"
                 "per-class scores, confusion matrix, calibration with temperature scaling,\n"
                 "bootstrap confidence intervals, user slices, automatic weak-slice search\n"
                 "and CI gates. Predictions come from columns of the CSV, or from running\n"
                 "a classifier on the CPU engine (--model with --features/--feature-prefix).");
    spec.option("data", "F.csv", "CSV file with a header row (RFC 4180)");
    spec.option("label", "COL", "column with the true label (or target, for regression)");
    spec.option("score", "COL", "binary: column with P(positive)");
    spec.option("threshold", "T", "binary: predicted positive when score >= T", "0.5");
    spec.option("positive", "L", "binary: the positive label (default: the greater label)");
    spec.option("proba-prefix", "P", "multiclass: columns P<label> hold the probabilities");
    spec.option("pred", "COL", "column with hard predictions (regression: the prediction)");
    spec.option("model", "MODEL.onnx",
                "or: predict with this classifier first (as `predict`; binary score = "
                "proba_<positive>, multiclass: the proba_ columns)");
    addPredictOptions(spec);
    spec.option("task", "T", "classification or regression (default: inferred)");
    spec.multi("slice", "\"NAME: EXPR\"", "a slice, e.g. \"old: age >= 65 and site in [a, b]\"");
    spec.flag("auto-slices", "search single features and pairs for weak slices");
    spec.option("auto-threshold", "X",
                "report auto slices worse than overall by more than X (accuracy points; "
                "relative MAE for regression)",
                "0.05");
    spec.option("min-support", "N", "auto slices: minimum rows (default max(1% of rows, 30))");
    spec.option("bootstrap", "N", "bootstrap resamples for confidence intervals (0 = off)", "1000");
    spec.option("seed", "N", "bootstrap seed", "20240611");
    spec.option("bins", "N", "calibration bins", "15");
    spec.option("binning", "uniform|quantile", "calibration bin edges", "uniform");
    spec.multi("gate", "RULE",
               "fail (exit 3) unless e.g. \"accuracy >= 0.9\", \"ece < 0.05\" or "
               "\"SLICE.recall_macro >= 0.8\" holds; the checklist rule language: "
               "METRIC OP NUMBER joined by and/or/not, e.g. "
               "\"accuracy >= 0.9 and ece < 0.05\"; an undefined metric fails");
    spec.option("categorical", "COLS", "comma-separated columns to read as categorical");
    spec.option("datetime", "COLS", "comma-separated columns to read as ISO 8601 datetimes");
    spec.option("out", "FILE.json", "also write the JSON report to this file");
    spec.option("db", "PATH", "store the evaluation in this Shardbench database");
    addStreamingOptions(spec, false);
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog("Exit codes: 0 ok, 2 bad input (file:line: column), 3 a gate failed, 130 "
                "cancelled (Ctrl-C).");
    spec.required("data").required("label");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;

    eval::EvalSpec evalSpec;
    evalSpec.label = parsed.get("label");
    evalSpec.score = parsed.get("score");
    evalSpec.positive = parsed.get("positive");
    evalSpec.probaPrefix = parsed.get("proba-prefix");
    evalSpec.pred = parsed.get("pred");
    evalSpec.task = parsed.get("task");
    evalSpec.slices = parsed.all("slice");
    evalSpec.gates = parsed.all("gate");
    evalSpec.autoSlices = parsed.flag("auto-slices");
    auto threshold = parsed.getDouble("threshold", 0.5);
    auto autoThreshold = parsed.getDouble("auto-threshold", 0.05);
    auto minSupport = parsed.getInt("min-support", 0);
    auto resamples = parsed.getInt("bootstrap", 1000);
    auto seed = parsed.getInt("seed", 20240611);
    auto bins = parsed.getInt("bins", 15);
    for (const Error *e :
         {threshold.ok() ? nullptr : &threshold.error(),
          autoThreshold.ok() ? nullptr : &autoThreshold.error(),
          minSupport.ok() ? nullptr : &minSupport.error(),
          resamples.ok() ? nullptr : &resamples.error(), seed.ok() ? nullptr : &seed.error(),
          bins.ok() ? nullptr : &bins.error()})
        if (e)
            return reportError(args.command, *e);
    evalSpec.threshold = *threshold;
    evalSpec.autoThreshold = *autoThreshold;
    evalSpec.minSupport = static_cast<std::size_t>(std::max<long long>(*minSupport, 0));
    evalSpec.bootstrap = static_cast<int>(*resamples);
    evalSpec.seed = static_cast<std::uint64_t>(*seed);
    evalSpec.bins = static_cast<int>(*bins);
    const std::string binning = parsed.get("binning", "uniform");
    if (binning != "uniform" && binning != "quantile")
        return reportError(args.command, makeError(ErrorCode::InvalidInput,
                                                   "--binning must be uniform or quantile"));
    evalSpec.binning = binning == "uniform" ? eval::Binning::Uniform : eval::Binning::Quantile;

    eval::CsvOptions csvOptions;
    csvOptions.categorical = splitList(parsed.get("categorical"));
    csvOptions.datetime = splitList(parsed.get("datetime"));
    if (!parsed.has("model") && !evalSpec.autoSlices) {
        // Keep only the columns the evaluation reads (the others are still
        // converted, for their diagnostics): the table is most of the memory.
        auto header = eval::CsvReader::open(parsed.get("data"), csvOptions);
        if (!header)
            return reportError(args.command, header.error());
        csvOptions.keep = {evalSpec.label, evalSpec.score, evalSpec.pred};
        for (const std::string &name : header->header())
            if (!evalSpec.probaPrefix.empty() && name.rfind(evalSpec.probaPrefix, 0) == 0)
                csvOptions.keep.push_back(name);
        for (const std::string &text : evalSpec.slices)
            if (auto slice = eval::parseSlice(text))
                for (const auto &condition : slice->conditions)
                    csvOptions.keep.push_back(condition.column);
        csvOptions.rowLines = false;
    }
    std::optional<eval::EvalReport> report;
    if (!parsed.has("model")) {
        auto evaluated = eval::evaluateCsv(parsed.get("data"), evalSpec, csvOptions,
                                           &interruptToken(), evaluationProgress("eval", parsed));
        if (!evaluated)
            return reportError(args.command, evaluated.error());
        report = std::move(*evaluated);
    }
    auto table = report ? Result<eval::Table>(eval::Table{})
                        : eval::readCsv(parsed.get("data"), csvOptions, &interruptToken(),
                                        evaluationProgress("eval", parsed));
    if (!table)
        return reportError(args.command, table.error());
    if (parsed.has("model")) {
        if (!evalSpec.score.empty() || !evalSpec.probaPrefix.empty() || !evalSpec.pred.empty())
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--model makes the predictions: drop --score, "
                                         "--proba-prefix and --pred"));
        auto predictOptions = predictOptionsFromArgs(parsed);
        if (!predictOptions)
            return reportError(args.command, predictOptions.error());
        auto features = eval::resolveFeatureColumns(*table, *predictOptions);
        if (!features)
            return reportError(args.command, features.error());
        auto model = openPredictionModel(parsed.get("model"), parsed);
        if (!model)
            return reportError(args.command, model.error());
        auto predictions = eval::predict(*table, (*model)->runner, *predictOptions);
        if (!predictions) {
            return reportRunError(args.command, predictions.error());
        }
        // Only the columns the evaluation reads: the other class's probability
        // or the arg max would show up as (tautological) auto-slice features.
        std::vector<std::string> added;
        if (predictions->labels.size() == 2) {
            const std::string positive = evalSpec.positive.empty() ? "1" : evalSpec.positive;
            if (positive != "0" && positive != "1")
                return reportError(args.command, makeError(ErrorCode::InvalidInput,
                                                           "--positive " + positive +
                                                               ": the model's labels are 0 and 1"));
            evalSpec.score = "proba_" + positive;
            added.push_back(evalSpec.score);
        } else {
            evalSpec.probaPrefix = "proba_";
            for (const std::string &label : predictions->labels)
                added.push_back("proba_" + label);
        }
        auto appended = eval::appendPredictionColumns(*table, *predictions, added);
        if (!appended)
            return reportError(args.command, appended.error());
    }

    if (!report) {
        auto evaluated = eval::evaluate(*table, evalSpec, &interruptToken());
        if (!evaluated)
            return reportError(args.command, evaluated.error());
        report = std::move(*evaluated);
    }
    const json &r = report->json;

    if (parsed.has("out"))
        if (auto written = writeJsonFile(parsed.get("out"), r); !written)
            return reportError(args.command, written.error());
    if (parsed.has("db")) {
        auto store = store::Store::open(parsed.get("db"));
        if (!store)
            return reportError(args.command, store.error());
        // As the Evaluation page does (workflows::recordEvaluation): with
        // --model, its version (registered now when absent, named after the
        // file) gets the evaluation, a checklist when it has none, and fresh
        // evidence.
        workflows::EvaluationRecord record;
        if (parsed.has("model")) {
            record.modelFile = parsed.get("model");
            record.modelName = record.modelFile.stem().string();
            record.modelNotes = "registered by eval --db";
        }
        record.source = parsed.get("data");
        record.eval = r;
        auto recorded = workflows::recordEvaluation(**store, record);
        if (!recorded)
            return reportError(args.command, recorded.error());
        if (recorded->registered)
            std::cerr << "registered " << recorded->version->label() << " from "
                      << parsed.get("model") << "\n";
        if (!recorded->checklistStarted.empty())
            std::cerr << "started checklist " << recorded->checklistStarted << " for "
                      << recorded->version->label() << "\n";
        std::cerr << "stored evaluation " << recorded->evaluationId << " in " << parsed.get("db")
                  << "\n";
    }
    if (parsed.flag("json"))
        printJson(r);
    else
        printSummary(std::cout, r);
    return reportGates(args.command, report->gates);
}

const CommandRegistrar registrar{
    "eval", "Evaluate predictions: metrics, slices, calibration, gates", runEval};

} // namespace

// Shared with the demo step.
void printEvalSummary(std::ostream &out, const nlohmann::json &report)
{
    printSummary(out, report);
}

} // namespace sb::cli
