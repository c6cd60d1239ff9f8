// `shardbench-cli predict MODEL.onnx --data F.csv --features COLS|--feature-prefix P
//  [--plan PLAN.json] --out PRED.csv`: run a classifier over a CSV file on the
// CPU engine and write the input plus `prediction` and `proba_<label>` columns.
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/predict_cli.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <iostream>

namespace sb::cli {
namespace {

int runPredict(Args &args)
{
    ArgSpec spec("predict MODEL.onnx --data F.csv (--features COLS | --feature-prefix P) "
                 "--out PRED.csv [--plan PLAN.json] [--json]",
                 "Run a classifier over the rows of a CSV file on the CPU engine and write\n"
                 "every input column plus `prediction` (arg max) and `proba_<label>` columns.\n"
                 "The feature columns become one float32 [rows, features] input, run in\n"
                 "batches of --batch-rows rows.");
    spec.positional("MODEL.onnx", "ONNX model with one float32 [batch, features] input");
    spec.option("data", "F.csv", "CSV file with a header row (RFC 4180)");
    spec.option("out", "PRED.csv", "where to write the predictions");
    addPredictOptions(spec);
    spec.flag("json", "print {rows, features, output, labels, out, wall_ms}");
    spec.epilog(
        "Model output: the float32 [batch, C] output (one named like \"prob\" when several\n"
        "are; an [batch] or [batch, 1] output is P(label 1) of a binary model). Labels are\n"
        "0..C-1. With --plan the stages run pipelined on this machine's devices.\n"
        "Exit: 0 ok, 2 bad input (unknown or non-numeric feature column, missing value:\n"
        "file:line: column), 4 run failed, 130 cancelled.");
    spec.required("data").required("out");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto options = predictOptionsFromArgs(parsed);
    if (!options)
        return reportError(args.command, options.error());

    eval::CsvOptions csvOptions;
    // Only the features are converted; the other columns are copied verbatim.
    auto table = eval::readCsv(parsed.get("data"), csvOptions);
    if (!table)
        return reportError(args.command, table.error());
    // Resolve the columns before loading the model: a typo fails fast.
    auto features = eval::resolveFeatureColumns(*table, *options);
    if (!features)
        return reportError(args.command, features.error());

    auto model = openPredictionModel(parsed.positional[0], parsed);
    if (!model)
        return reportError(args.command, model.error());
    auto started = std::chrono::steady_clock::now();
    auto predictions = eval::predict(*table, (*model)->runner, *options);
    double wallMs =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    if (!predictions) {
        return reportRunError(args.command, predictions.error());
    }
    auto written = eval::writePredictionsCsv(parsed.get("data"), *predictions, parsed.get("out"));
    if (!written)
        return reportError(args.command, written.error());

    if (parsed.flag("json")) {
        nlohmann::json out{
            {"rows", predictions->rows},         {"features", predictions->featureColumns},
            {"output", predictions->outputName}, {"labels", predictions->labels},
            {"out", parsed.get("out")},          {"wall_ms", wallMs}};
        printJson(out);
    } else {
        std::cout << predictions->rows << " rows, " << predictions->featureColumns.size()
                  << " features, output '" << predictions->outputName << "' ("
                  << predictions->labels.size() << " classes) in " << wallMs << " ms -> "
                  << parsed.get("out") << "\n";
    }
    return kExitOk;
}

const CommandRegistrar reg{"predict", "Run a classifier over a CSV file, write predictions",
                           runPredict};

} // namespace
} // namespace sb::cli
