// `shardbench-cli quality`: data quality report of a CSV (streamed), PII
// detection per column and train/test leakage.
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
#include "app/cli/risk_common.h"
#include "core/common/json_text.h"

#include "core/eval/drift_json.h"
#include "core/store/store.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace sb::cli {

namespace {

std::vector<std::string> splitList(const std::vector<std::string> &values)
{
    std::vector<std::string> out;
    for (const auto &value : values) {
        std::stringstream stream(value);
        std::string item;
        while (std::getline(stream, item, ','))
            if (!item.empty())
                out.push_back(item);
    }
    return out;
}

std::string formatValue(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.6g", v);
    return buffer;
}

void printText(const eval::QualityReport *report, const std::optional<eval::LeakageReport> &leakage,
               std::ostream &out)
{
    if (report) {
        out << report->fileName << ": " << report->rows << " rows, " << report->columns.size()
            << " columns, " << report->duplicateRows << " duplicate rows\n\n";
        char line[512];
        std::snprintf(line, sizeof(line), "%-28s %-12s %9s %8s %9s %12s %12s %12s  %s\n", "column",
                      "type", "missing", "share", "unique", "min", "max", "mean", "notes");
        out << line;
        for (const auto &c : report->columns) {
            std::string notes;
            if (c.constant)
                notes += "constant ";
            for (const auto &p : c.pii)
                notes += "PII:" + p.kind + "(" + formatValue(p.share) + ") ";
            if (!c.diagnostic.empty())
                notes += "[" + c.diagnosticKind + "] ";
            std::string min = c.min ? formatValue(*c.min) : c.minText;
            std::string max = c.max ? formatValue(*c.max) : c.maxText;
            std::string mean = c.mean ? formatValue(*c.mean) : "";
            std::snprintf(line, sizeof(line), "%-28s %-12s %9zu %8s %9zu%s %12s %12s %12s  %s\n",
                          c.name.c_str(), c.type.c_str(), c.missing,
                          formatValue(c.missingShare).c_str(), c.unique,
                          c.uniqueApproximate ? "~" : " ", min.c_str(), max.c_str(), mean.c_str(),
                          notes.c_str());
            out << line;
        }
        if (report->hasLabel) {
            out << "\nclass balance:";
            for (const auto &c : report->classBalance)
                out << "  " << c.label << ": " << c.count << " (" << formatValue(c.share) << ")";
            out << "\nlabel conflicts: " << report->labelConflictGroups << " feature groups, "
                << report->labelConflictRows << " rows\n";
        }
        for (const auto &c : report->columns)
            if (!c.diagnostic.empty())
                out << "diagnostic: " << c.diagnostic << "\n";
    }
    if (leakage)
        out << "leakage: " << leakage->testRowsInTrain << " of " << leakage->testRows
            << " test rows found in train (share " << formatValue(leakage->share) << ")\n";
}

int runQuality(Args &args)
{
    ArgSpec spec(
        "quality --data F.csv [--train T.csv [--test S.csv]] [--label COL] [options]",
        "Data quality of a CSV file, streamed (files larger than memory work): per column\n"
        "type, missing count/share, unique values, constant, min/max/mean and PII kinds\n"
        "(email, phone, credit_card, ipv4, ipv6, iban, us_ssn) with the share of matching\n"
        "values; duplicate rows; class balance and label conflicts (with --label);\n"
        "train/test leakage (test rows whose features also occur in train); with --train\n"
        "and --label, the poisoning screen of the training data (as `poisoning`).");
    spec.option("data", "F.csv", "data to profile");
    spec.option("train", "T.csv",
                "training data: leakage check with --test; poisoning screen with --label");
    spec.option("test", "S.csv", "test data (leakage check with --train)");
    spec.option("label", "COL",
                "label column (class balance, label conflicts; left out of leakage)");
    spec.option("pii-min-share", "S", "report a PII kind when at least this share of values match",
                "0.05");
    spec.multi("categorical", "A,B,...", "read these columns as categorical");
    spec.multi("datetime", "A,B,...", "read these columns as ISO 8601 datetimes");
    spec.option("out", "FILE.json", "also write the JSON report to FILE");
    spec.option("db", "PATH",
                "store the report (evaluation kind 'quality') in this Shardbench database");
    addPoisoningOptions(spec);
    addStreamingOptions(spec, true);
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog("Output: {rows, columns: [{name, type, missing, missing_share, unique, constant,\n"
                "min, max, mean, pii: [{kind, share, matches}]}], duplicate_rows, class_balance:\n"
                "[{label, count, share}], leakage: {test_rows_in_train, share}, label_conflicts:\n"
                "{groups, rows}, poisoning: {...as `poisoning --json`} with --train and\n"
                "--label}; a bad column (empty, all-NaN, mixed types) carries a\n"
                "'diagnostic' instead of aborting the report. Exit 2 on unreadable input.");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    bool leakageWanted = parsed.has("train") && parsed.has("test");
    const bool poisoningWanted = parsed.has("train") && parsed.has("label");
    if (parsed.has("test") && !parsed.has("train")) {
        std::cerr << "shardbench-cli quality: --test needs --train (leakage check)\n";
        return kExitBadInput;
    }
    if (parsed.has("train") && !leakageWanted && !poisoningWanted) {
        std::cerr << "shardbench-cli quality: --train needs --test (leakage check) or --label "
                     "(poisoning screen)\n";
        return kExitBadInput;
    }
    if (!parsed.has("data") && !leakageWanted && !poisoningWanted) {
        std::cerr << "shardbench-cli quality: --data (or --train with --test) is required\n"
                  << spec.help();
        return kExitBadInput;
    }
    eval::QualityOptions options;
    options.label = parsed.get("label");
    options.csv.categorical = splitList(parsed.all("categorical"));
    options.csv.datetime = splitList(parsed.all("datetime"));
    auto share = parsed.getDouble("pii-min-share", 0.05);
    if (!share)
        return reportError(args.command, share.error());
    options.piiMinShare = *share;
    auto limit = memoryLimitFromArgs(parsed);
    if (!limit)
        return reportError(args.command, limit.error());
    options.memoryLimit = *limit;

    std::optional<eval::QualityReport> report;
    if (parsed.has("data")) {
        auto result = eval::analyzeQuality(parsed.get("data"), options, &interruptToken(),
                                           evaluationProgress("quality", parsed));
        if (!result)
            return reportError(args.command, result.error());
        report = std::move(*result);
    }
    std::optional<eval::LeakageReport> leakage;
    if (leakageWanted) {
        auto result = eval::findLeakage(parsed.get("train"), parsed.get("test"), options);
        if (!result)
            return reportError(args.command, result.error());
        leakage = std::move(*result);
    }
    std::optional<nlohmann::json> poisoning;
    if (poisoningWanted) {
        auto poisoningOptions = poisoningOptionsFromArgs(parsed);
        if (!poisoningOptions)
            return reportError(args.command, poisoningOptions.error());
        auto train = eval::readCsv(parsed.get("train"), options.csv);
        if (!train)
            return reportError(args.command, train.error());
        auto screened = eval::screenPoisoning(*train, *poisoningOptions);
        if (!screened)
            return reportError(args.command, screened.error());
        poisoning = std::move(screened->json);
    }
    nlohmann::json json;
    if (report) {
        json = eval::qualityReportToJson(*report, leakage);
    } else {
        eval::QualityReport empty;
        json = eval::qualityReportToJson(empty, leakage);
        json["rows"] = nullptr;
        json["file"] = nullptr;
    }
    if (poisoning)
        json["poisoning"] = *poisoning;
    if (parsed.has("out")) {
        std::ofstream file(parsed.get("out"));
        file << jsonText(json, 1) << "\n";
        if (!file)
            return reportError(args.command,
                               makeError(ErrorCode::Io, "cannot write " + parsed.get("out")));
    }
    if (parsed.has("db")) {
        auto store = store::Store::open(parsed.get("db"));
        if (!store)
            return reportError(args.command, store.error());
        store::EvaluationMeta meta;
        meta.kind = "quality";
        meta.source = "quality " +
                      (parsed.has("data") ? "--data " + parsed.get("data") : std::string()) +
                      (parsed.has("train") ? " --train " + parsed.get("train") : std::string()) +
                      (parsed.has("test") ? " --test " + parsed.get("test") : std::string());
        auto id = (*store)->saveEvaluation(std::nullopt, json, meta);
        if (!id)
            return reportError(args.command, id.error());
        std::cerr << "quality report " << *id << " stored in " << parsed.get("db") << "\n";
    }
    if (parsed.flag("json"))
        printJson(json);
    else {
        printText(report ? &*report : nullptr, leakage, std::cout);
        if (poisoning)
            printPoisoningText(std::cout, *poisoning, 20);
    }
    return kExitOk;
}

const CommandRegistrar registrar{
    "quality", "Data quality, PII detection and train/test leakage of CSV data", runQuality};

} // namespace
} // namespace sb::cli
