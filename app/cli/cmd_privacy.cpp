// `shardbench-cli privacy`: membership-inference risk and model-inversion
// exposure (see core/eval/privacy.h).
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/predict_cli.h"
#include "app/cli/risk_common.h"

#include "core/eval/privacy.h"

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
    out << "membership inference: " << r["members"] << " training rows (members) vs "
        << r["non_members"] << " held-out rows; scores from " << r["scores"].get<std::string>()
        << "\n";
    for (const json &a : r["attacks"]) {
        out << "  " << std::left << std::setw(22) << a["name"].get<std::string>() << " AUC "
            << fmt(a["auc"]);
        if (a["auc_ci"].is_array())
            out << " [" << fmt(a["auc_ci"][0]) << ", " << fmt(a["auc_ci"][1]) << "]";
        out << ", advantage " << fmt(a["advantage"]);
        if (a["advantage_ci"].is_array())
            out << " [" << fmt(a["advantage_ci"][0]) << ", " << fmt(a["advantage_ci"][1]) << "]";
        out << " (TPR " << fmt(a["tpr"]) << ", FPR " << fmt(a["fpr"]) << ")\n";
    }
    out << "  mia_auc " << fmt(r["mia_auc"]) << ", mia_advantage " << fmt(r["mia_advantage"])
        << "\n";
    for (const json &s : r["slices"])
        out << "  slice " << s["name"].get<std::string>() << " (" << s["members"] << " + "
            << s["non_members"] << " rows): mia_auc " << fmt(s["mia_auc"]) << ", mia_advantage "
            << fmt(s["mia_advantage"]) << "\n";
    out << "reading:\n";
    for (const json &line : r["reading"])
        out << "  " << line.get<std::string>() << "\n";
    out << "model inversion exposure:\n  " << r["model_inversion"]["reading"].get<std::string>()
        << "\n";
}

int runPrivacy(Args &args)
{
    ArgSpec spec(
        "privacy (--model MODEL.onnx --train TRAIN.csv --test HELDOUT.csv | --train-scores "
        "T.csv --test-scores H.csv --proba-prefix P) --label COL [--features COLS | "
        "--feature-prefix P] [--json]",
        "Membership-inference risk: given the model's class probabilities on training rows\n"
        "and on held-out rows, the loss-threshold attack (Yeom et al. 2018) and the\n"
        "confidence-threshold attack, each with ROC AUC and bootstrap CI, the attacker's\n"
        "advantage max(TPR - FPR), per slice, and a short reading. Model-inversion exposure\n"
        "is summarised from what callers receive (full/top-k probabilities, precision).");
    spec.option("model", "MODEL.onnx", "run this classifier on --train and --test (as `predict`)");
    spec.option("train", "TRAIN.csv", "the rows the model was trained on (with --model)");
    spec.option("test", "HELDOUT.csv", "rows the model never saw (with --model)");
    spec.option("train-scores", "T.csv",
                "or: training rows with probability columns (see --proba-prefix) and labels");
    spec.option("test-scores", "H.csv", "or: held-out rows with probability columns and labels");
    spec.option("proba-prefix", "P", "with --*-scores: probability columns P<class>", "proba_");
    spec.option("label", "COL", "the label column (in both files)");
    addPredictOptions(spec);
    spec.multi("slice", "\"NAME: EXPR\"", "also report the attacks on this slice of both files");
    spec.option("bootstrap", "N", "bootstrap resamples for the AUC/advantage intervals (0 = off)",
                "1000");
    spec.option("seed", "N", "bootstrap seed", "20240611");
    spec.option("categorical", "COLS", "comma-separated columns to read as categorical");
    spec.option("out", "FILE.json", "also write the JSON report to this file");
    spec.option("db", "PATH",
                "store the report (kind 'privacy') in this database as governance evidence "
                "(for --model's registered version)");
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog("JSON keys: members, non_members, member_source, non_member_source, scores,\n"
                "classes, attacks [{name (loss_threshold|confidence_threshold), score, reference,\n"
                "auc, auc_ci [lo, hi], advantage, advantage_ci, threshold, tpr, fpr, roc {fpr [],\n"
                "tpr []}}], mia_auc, mia_advantage (the larger of the two attacks), bootstrap\n"
                "{resamples, confidence, seed}, slices [{name, expr, members, non_members,\n"
                "attacks [{name, auc, advantage}], mia_auc, mia_advantage}], model_inversion\n"
                "{outputs (full_probabilities|top_k_probabilities|top_1_confidence), classes,\n"
                "values_per_row, rows_with_full_vector, rows_summing_to_one,\n"
                "distinct_top_confidences, rows, number_format, decimals, reading}, reading [].\n"
                "Exit codes: 0 ok, 2 bad input (file, line, column), 4 the model failed.");
    spec.required("label");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const bool withModel = parsed.has("model");
    const bool withScores = parsed.has("train-scores") || parsed.has("test-scores");
    auto usage = [&](const std::string &message) {
        return reportError(args.command, makeError(ErrorCode::InvalidInput, message));
    };
    if (withModel == withScores)
        return usage("give --model with --train and --test, or --train-scores and --test-scores");
    if (withModel && !(parsed.has("train") && parsed.has("test")))
        return usage("--model needs --train TRAIN.csv and --test HELDOUT.csv");
    if (withScores && !(parsed.has("train-scores") && parsed.has("test-scores")))
        return usage("--train-scores and --test-scores go together");
    if (withScores && (parsed.has("train") || parsed.has("test")))
        return usage(
            "--train/--test go with --model; with scores use --train-scores/--test-scores");

    eval::PrivacyOptions options;
    options.slices = parsed.all("slice");
    auto resamples = parsed.getInt("bootstrap", 1000);
    auto seed = parsed.getInt("seed", 20240611);
    if (!resamples)
        return reportError(args.command, resamples.error());
    if (!seed)
        return reportError(args.command, seed.error());
    options.bootstrap = static_cast<int>(*resamples);
    options.seed = static_cast<std::uint64_t>(*seed);
    const std::string label = parsed.get("label");
    eval::CsvOptions csvOptions;
    csvOptions.categorical = splitList(parsed.get("categorical"));
    const std::string trainPath = withModel ? parsed.get("train") : parsed.get("train-scores");
    const std::string testPath = withModel ? parsed.get("test") : parsed.get("test-scores");
    auto train = eval::readCsv(trainPath, csvOptions);
    if (!train)
        return reportError(args.command, train.error());
    auto test = eval::readCsv(testPath, csvOptions);
    if (!test)
        return reportError(args.command, test.error());

    Result<eval::MembershipScores> members = makeError(ErrorCode::Internal, "not run");
    Result<eval::MembershipScores> nonMembers = makeError(ErrorCode::Internal, "not run");
    std::unique_ptr<PredictionModel> model;
    if (withModel) {
        auto predictOptions = predictOptionsFromArgs(parsed);
        if (!predictOptions)
            return reportError(args.command, predictOptions.error());
        auto opened = openPredictionModel(parsed.get("model"), parsed);
        if (!opened)
            return reportError(args.command, opened.error());
        model = std::move(*opened);
        for (auto [table, out] : {std::pair{&*train, &members}, std::pair{&*test, &nonMembers}}) {
            auto predictions = eval::predict(*table, model->runner, *predictOptions);
            if (!predictions) {
                return reportRunError(args.command, predictions.error());
            }
            *out = eval::membershipFromPredictions(*table, *predictions, label);
        }
    } else {
        if (parsed.has("features") || parsed.has("feature-prefix"))
            return usage("--features/--feature-prefix go with --model");
        const std::string prefix = parsed.get("proba-prefix", "proba_");
        members = eval::membershipFromColumns(*train, prefix, label);
        if (members)
            nonMembers = eval::membershipFromColumns(*test, prefix, label);
    }
    if (!members)
        return reportError(args.command, members.error());
    if (!nonMembers)
        return reportError(args.command, nonMembers.error());
    auto report = eval::membershipInference(*members, *nonMembers, options, &interruptToken());
    if (!report)
        return reportError(args.command, report.error());
    json &r = *report;
    if (withModel)
        r["model"] = parsed.get("model");
    if (parsed.has("out"))
        if (auto written = writeJsonFile(parsed.get("out"), r); !written)
            return reportError(args.command, written.error());
    if (parsed.has("db"))
        if (auto stored =
                storeRiskReport(parsed.get("db"), parsed.get("model"), "privacy",
                                "privacy --train " + trainPath + " --test " + testPath, r);
            !stored)
            return reportError(args.command, stored.error());
    if (parsed.flag("json"))
        printJson(r);
    else
        printText(std::cout, r);
    return kExitOk;
}

const CommandRegistrar registrar{
    "privacy", "Membership-inference risk (loss/confidence attacks) and inversion exposure",
    runPrivacy};

} // namespace
} // namespace sb::cli
