// `shardbench-cli drift`: column and dataset drift of a current CSV against a
// reference CSV (Evidently-compatible default profile), optionally per window.
#include "app/cli/command.h"
#include "app/cli/eval_common.h"
#include "app/cli/pipeline_cli.h"
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

// "COL=VALUE" -> (COL, VALUE); "VALUE" -> ("*", VALUE)
std::pair<std::string, std::string> splitAssignment(const std::string &text)
{
    auto eq = text.rfind('=');
    if (eq == std::string::npos)
        return {"*", text};
    return {text.substr(0, eq), text.substr(eq + 1)};
}

std::string formatValue(double v)
{
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.6g", v);
    return buffer;
}

void printText(const eval::DriftReport &report, std::ostream &out)
{
    out << "reference: " << report.referenceFile << " (" << report.referenceRows << " rows)\n"
        << "current:   " << report.currentFile << " (" << report.currentRows << " rows)\n\n";
    char line[512];
    std::snprintf(line, sizeof(line), "%-28s %-12s %-14s %12s %12s %9s  %s\n", "column", "type",
                  "method", "statistic", "p_value", "threshold", "drifted");
    out << line;
    for (const auto &c : report.columns) {
        if (!c.error.empty()) {
            out << "  " << c.name << ": not tested: " << c.error << "\n";
            continue;
        }
        std::snprintf(line, sizeof(line), "%-28s %-12s %-14s %12s %12s %9s  %s\n", c.name.c_str(),
                      c.type.c_str(), eval::driftMethodName(c.method),
                      formatValue(c.statistic).c_str(),
                      c.pValue ? formatValue(*c.pValue).c_str() : "-",
                      formatValue(c.threshold).c_str(), c.drifted ? "DRIFT" : "no");
        out << line;
    }
    out << "\n"
        << report.summary.driftedColumns << " of " << report.summary.testedColumns
        << " columns drifted (share " << formatValue(report.summary.shareDrifted)
        << "): dataset drift " << (report.summary.datasetDrift ? "YES" : "no") << "\n";
    if (!report.windows.empty()) {
        out << "\nwindows (" << report.windowKind << "):\n";
        for (const auto &w : report.windows) {
            out << "  " << w.start << " .. " << w.end << "  rows " << w.rows << "  drifted "
                << w.summary.driftedColumns << "/" << w.summary.testedColumns << " (share "
                << formatValue(w.summary.shareDrifted) << ")"
                << (w.summary.datasetDrift ? "  DRIFT" : "") << "\n";
        }
    }
    for (const auto &d : report.diagnostics)
        out << "diagnostic: " << d.message << "\n";
}

int runDrift(Args &args)
{
    ArgSpec spec("drift --reference R.csv --current C.csv [options]",
                 "Column and dataset drift of the current data against the reference, with the\n"
                 "Evidently-compatible default profile (NaN/inf dropped; reference <= 1000 rows:\n"
                 "ks for numerical columns with > 5 unique values, chisquare for 3+ values or\n"
                 "categories, z for <= 2; larger reference: wasserstein (normed by the reference\n"
                 "std) for numerical columns with > 5 unique values, jensenshannon otherwise).\n"
                 "The dataset drifts when the share of drifted columns >= --dataset-share.");
    spec.option("reference", "R.csv", "reference data");
    spec.option("current", "C.csv", "current data");
    spec.multi("columns", "A,B,...",
               "test only these columns (default: all shared non-datetime columns)");
    spec.multi(
        "method", "[COL=]METHOD",
        "method for a column (or all): ks, chisquare, z, wasserstein, jensenshannon, psi, kl_div");
    spec.multi("threshold", "[COL=]VALUE",
               "drift threshold for a column (or all); p-value methods drift when p < VALUE\n"
               "(ks: p <= VALUE), distance methods when statistic >= VALUE.\n"
               "Defaults: ks/chisquare/z 0.05, the others 0.1");
    spec.option("dataset-share", "S", "share of drifted columns for dataset drift", "0.5");
    spec.option("window-column", "COL", "column of the current data ordering the windows");
    spec.option("window", "W", "window size: N rows (1000) or a duration (7d, 12h, 30m, 2w)");
    spec.multi("categorical", "A,B,...", "read these columns as categorical");
    spec.multi("datetime", "A,B,...", "read these columns as ISO 8601 datetimes");
    spec.option("out", "FILE.json", "also write the JSON report to FILE");
    spec.option("db", "PATH", "store the report as a drift snapshot in this Shardbench database");
    spec.option("model", "NAME[:VERSION]",
                "with --db: attach the snapshot to this registered model version");
    addStreamingOptions(spec, true);
    spec.flag("json", "print one JSON object on stdout");
    spec.epilog(
        "Output: {columns: [{name, type, method, rule, statistic, p_value, threshold,\n"
        "drifted, bins}], drifted_columns, share_drifted, dataset_drift, windows: [{start,\n"
        "end, rows, share_drifted, columns}]}. 'rule' says why the method was chosen;\n"
        "'bins' holds the histogram (sturges edges or one bin per value) and the shares\n"
        "or counts compared. Exit 0 also when drift is found; 2 on bad input.\n"
        "Example: drift --reference ref.csv --current cur.csv --method age=psi \\\n"
        "         --threshold age=0.2 --window-column timestamp --window 7d --json");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    if (!parsed.has("reference") || !parsed.has("current")) {
        std::cerr << "shardbench-cli drift: --reference and --current are required\n"
                  << spec.help();
        return kExitBadInput;
    }
    eval::DriftDatasetOptions options;
    options.columns = splitList(parsed.all("columns"));
    options.csv.categorical = splitList(parsed.all("categorical"));
    options.csv.datetime = splitList(parsed.all("datetime"));
    for (const auto &text : parsed.all("method")) {
        auto [column, name] = splitAssignment(text);
        auto method = eval::parseDriftMethod(name);
        if (!method)
            return reportError(args.command,
                               makeError(ErrorCode::InvalidInput,
                                         "--method " + text + ": unknown method '" + name + "'"));
        options.methods[column] = *method;
    }
    for (const auto &text : parsed.all("threshold")) {
        auto [column, value] = splitAssignment(text);
        char *end = nullptr;
        double threshold = std::strtod(value.c_str(), &end);
        if (value.empty() || *end != '\0' || !std::isfinite(threshold))
            return reportError(args.command, makeError(ErrorCode::InvalidInput,
                                                       "--threshold " + text + ": not a number"));
        options.thresholds[column] = threshold;
    }
    auto share = parsed.getDouble("dataset-share", 0.5);
    if (!share)
        return reportError(args.command, share.error());
    options.datasetShare = *share;
    options.windowColumn = parsed.get("window-column");
    options.window = parsed.get("window");
    if (!options.windowColumn.empty() && options.window.empty())
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput,
                                     "--window-column needs --window (rows or duration)"));

    auto limit = memoryLimitFromArgs(parsed);
    if (!limit)
        return reportError(args.command, limit.error());
    options.memoryLimit = *limit;
    auto report = eval::runDrift(parsed.get("reference"), parsed.get("current"), options,
                                 &interruptToken(), evaluationProgress("drift", parsed));
    if (!report)
        return reportError(args.command, report.error());
    nlohmann::json json = eval::driftReportToJson(*report);
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
        std::optional<store::Id> versionId;
        if (parsed.has("model")) {
            auto version = (*store)->resolveVersion(parsed.get("model"));
            if (!version)
                return reportError(args.command, version.error());
            versionId = version->id;
        }
        store::EvaluationMeta meta;
        meta.kind = "drift";
        meta.source =
            "drift --reference " + parsed.get("reference") + " --current " + parsed.get("current");
        auto id = (*store)->saveDriftSnapshot(versionId, json, meta);
        if (!id)
            return reportError(args.command, id.error());
        std::cerr << "drift snapshot " << *id << " stored in " << parsed.get("db") << "\n";
    }
    if (parsed.flag("json"))
        printJson(json);
    else
        printText(*report, std::cout);
    return kExitOk;
}

const CommandRegistrar registrar{
    "drift", "Column and dataset drift of current vs reference data (also per window)", runDrift};

} // namespace
} // namespace sb::cli
