// `shardbench-cli poisoning`: screen training data for planted or corrupted
// rows (see core/eval/poisoning.h). `quality --train` runs the same screen.
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/risk_common.h"
#include "core/common/json_text.h"

#include "core/eval/poisoning.h"

#include <fstream>
#include <iomanip>
#include <iostream>

namespace sb::cli {

void addPoisoningOptions(ArgSpec &spec)
{
    spec.option("features", "COLS",
                "comma-separated feature columns (default: every numerical column except the "
                "label and the probabilities)");
    spec.option("feature-prefix", "P", "or: every column whose name starts with P");
    spec.option("proba-prefix", "P",
                "out-of-fold predicted probabilities in columns P<label>: adds the "
                "confident-learning label-issue check");
    spec.option("k", "N", "neighbours for the kNN checks", "10");
    spec.option("min-disagreement", "X",
                "flag a row when more than this share of its neighbours has another label", "0.5");
    spec.option("near-distance", "D", "near duplicates: standardised Euclidean distance at most D",
                "0.001");
    spec.option("outlier-z", "Z", "outliers: modified z-score of the kNN distance above Z", "3.5");
}

Result<eval::PoisoningOptions> poisoningOptionsFromArgs(const ParsedArgs &parsed)
{
    eval::PoisoningOptions options;
    options.label = parsed.get("label");
    options.features = splitList(parsed.get("features"));
    options.featurePrefix = parsed.get("feature-prefix");
    options.probaPrefix = parsed.get("proba-prefix");
    SB_ASSIGN_OR_RETURN(long long k, parsed.getInt("k", 10));
    if (k < 1)
        return makeError(ErrorCode::InvalidInput, "--k must be at least 1");
    options.k = static_cast<int>(k);
    SB_ASSIGN_OR_RETURN(options.minDisagreement, parsed.getDouble("min-disagreement", 0.5));
    SB_ASSIGN_OR_RETURN(options.nearDistance, parsed.getDouble("near-distance", 1e-3));
    SB_ASSIGN_OR_RETURN(options.outlierZ, parsed.getDouble("outlier-z", 3.5));
    return options;
}

void printPoisoningText(std::ostream &out, const nlohmann::json &r, int maxRows)
{
    const auto &s = r["summary"];
    out << "poisoning screen of " << r["file"].get<std::string>() << ": " << s["rows"] << " rows, "
        << r["features"].size() << " features, k = " << r["k"] << "\n"
        << "  suspicious rows: " << s["suspicious_rows"]
        << "\n  kNN label disagreements: " << s["knn_label_disagreements"]
        << "\n  confident-learning label issues: " << jsonText(s["label_issues"])
        << "\n  label issue share: " << s["label_issue_share"].get<double>() << " (from "
        << s["label_issue_source"].get<std::string>() << ")"
        << "\n  duplicate groups with conflicting labels: " << s["exact_duplicate_conflict_groups"]
        << " exact, " << s["near_duplicate_conflict_groups"] << " near ("
        << s["duplicate_conflict_rows"] << " rows)\n  outliers: " << s["outliers"] << "\n";
    int shown = 0;
    for (const auto &row : r["rows"]) {
        if (shown++ == maxRows) {
            out << "  ... " << r["rows"].size() - static_cast<std::size_t>(maxRows)
                << " more (--json lists all)\n";
            break;
        }
        out << "  row " << std::setw(6) << row["row"].get<std::size_t>() << " (line " << row["line"]
            << ", label " << row["label"].get<std::string>() << ") score " << std::fixed
            << std::setprecision(3) << row["score"].get<double>() << std::defaultfloat << ":";
        for (const auto &reason : row["reasons"])
            out << " " << reason.get<std::string>() << ";";
        out << "\n";
    }
}

namespace {

int runPoisoning(Args &args)
{
    ArgSpec spec("poisoning --data TRAIN.csv --label COL [--features COLS | --feature-prefix P] "
                 "[--proba-prefix P] [--k 10] [--json]",
                 "Screen training data for poisoned or mislabelled rows: kNN label\n"
                 "disagreement on standardised features (as scikit-learn NearestNeighbors),\n"
                 "confident-learning label issues from out-of-fold probabilities (Northcutt et\n"
                 "al.), exact and near duplicates with conflicting labels, and kNN-distance\n"
                 "outliers. Every flagged row gets a score (higher = more suspicious) and its\n"
                 "reasons.");
    spec.option("data", "TRAIN.csv", "training data (CSV with a header row)");
    spec.option("label", "COL", "the label column");
    addPoisoningOptions(spec);
    spec.option("categorical", "COLS", "comma-separated columns to read as categorical");
    spec.option("out", "FILE.json", "also write the JSON report to this file");
    spec.option("db", "PATH",
                "store the report (kind 'poisoning') in this database as governance evidence");
    spec.option("model", "MODEL.onnx",
                "with --db: attach the report to this model file's registered version");
    spec.option("show", "N", "rows listed in the text output", "20");
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog("JSON keys: file, label, features, k, standardisation, imputed_values,\n"
                "skipped_rows_without_label, thresholds {min_disagreement, near_distance,\n"
                "outlier_z}, summary {rows, suspicious_rows, knn_label_disagreements,\n"
                "label_issues (null without --proba-prefix), label_issue_share,\n"
                "label_issue_source, exact_duplicate_conflict_groups,\n"
                "near_duplicate_conflict_groups, duplicate_conflict_rows, outliers},\n"
                "confident_learning {method, classes, thresholds, confident_joint, label_issues}\n"
                "or null, findings [{check, rows, labels?, score}], rows [{row (0-based data\n"
                "row), line, label, score (higher = more suspicious), knn_disagreement,\n"
                "self_confidence?, reasons [...]}] sorted by score.\n"
                "Exit codes: 0 ok, 2 bad input (file, line, column).");
    spec.required("data").required("label");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    auto options = poisoningOptionsFromArgs(parsed);
    if (!options)
        return reportError(args.command, options.error());
    auto show = parsed.getInt("show", 20);
    if (!show)
        return reportError(args.command, show.error());
    if (parsed.has("model") && !parsed.has("db"))
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput, "--model goes with --db"));
    eval::CsvOptions csvOptions;
    csvOptions.categorical = splitList(parsed.get("categorical"));
    auto table = eval::readCsv(parsed.get("data"), csvOptions, &interruptToken());
    if (!table)
        return reportError(args.command, table.error());
    auto report = eval::screenPoisoning(*table, *options, &interruptToken(),
                                        terminalProgress("poisoning", parsed.flag("json")));
    if (!report)
        return reportError(args.command, report.error());
    const nlohmann::json &r = report->json;
    if (parsed.has("out"))
        if (auto written = writeJsonFile(parsed.get("out"), r); !written)
            return reportError(args.command, written.error());
    if (parsed.has("db"))
        if (auto stored = storeRiskReport(parsed.get("db"), parsed.get("model"), "poisoning",
                                          "poisoning --data " + parsed.get("data"), r);
            !stored)
            return reportError(args.command, stored.error());
    if (parsed.flag("json"))
        printJson(r);
    else
        printPoisoningText(std::cout, r, static_cast<int>(*show));
    return kExitOk;
}

const CommandRegistrar registrar{
    "poisoning", "Screen training data: label disagreement, label issues, conflicts, outliers",
    runPoisoning};

} // namespace
} // namespace sb::cli
