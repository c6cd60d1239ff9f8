// Demo step 45: drift of the demo current data against the reference (with
// weekly windows over the timestamp) and the quality of the current data.
#include "app/cli/demo.h"

#include "core/eval/drift_json.h"
#include "core/store/store.h"

#include <cstdio>
#include <ostream>

namespace sb::cli {

namespace {

std::string fixed(double v, int digits = 3)
{
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
    return buffer;
}

Status runDriftDemo(DemoContext &ctx)
{
    std::ostream &out = *ctx.out;
    const auto reference = ctx.resources / "demo" / "reference.csv";
    const auto current = ctx.resources / "demo" / "current.csv";

    eval::DriftDatasetOptions options;
    options.windowColumn = "timestamp";
    options.window = "7d";
    SB_ASSIGN_OR_RETURN(eval::DriftReport drift, eval::runDrift(reference, current, options));
    out << "drift: " << drift.currentRows << " current rows vs " << drift.referenceRows
        << " reference rows, " << drift.summary.driftedColumns << " of "
        << drift.summary.testedColumns << " columns drifted (share "
        << fixed(drift.summary.shareDrifted) << "), dataset drift "
        << (drift.summary.datasetDrift ? "YES" : "no") << "\n";
    int shown = 0;
    for (const auto &c : drift.columns) {
        if (!c.error.empty() || !c.drifted || shown >= 6)
            continue;
        out << "  " << c.name << ": " << eval::driftMethodName(c.method)
            << (c.pValue ? " p=" + fixed(*c.pValue, 4) : " stat=" + fixed(c.statistic, 4)) << "\n";
        ++shown;
    }
    out << "weekly windows over 'timestamp':\n";
    for (const auto &w : drift.windows)
        out << "  " << w.start.substr(0, 10) << " .. " << w.end.substr(0, 10) << "  rows " << w.rows
            << "  share drifted " << fixed(w.summary.shareDrifted) << "\n";

    eval::QualityOptions quality;
    quality.label = "label";
    SB_ASSIGN_OR_RETURN(eval::QualityReport report, eval::analyzeQuality(current, quality));
    std::size_t missing = 0, constant = 0, pii = 0, diagnosed = 0;
    for (const auto &c : report.columns) {
        missing += c.missing;
        constant += c.constant;
        pii += !c.pii.empty();
        diagnosed += !c.diagnostic.empty();
    }
    out << "quality of current.csv: " << report.rows << " rows, " << report.columns.size()
        << " columns, " << missing << " missing cells, " << constant << " constant columns, "
        << report.duplicateRows << " duplicate rows, " << report.labelConflictRows
        << " rows with conflicting labels, " << pii << " columns with PII, " << diagnosed
        << " diagnosed columns\n  class balance:";
    for (const auto &c : report.classBalance)
        out << " " << c.label << "=" << c.count << " (" << fixed(c.share) << ")";
    out << "\n";

    if (!ctx.database.empty()) {
        SB_ASSIGN_OR_RETURN(auto store, store::Store::open(ctx.database));
        store::EvaluationMeta meta;
        meta.kind = "drift";
        meta.source = "demo: drift of resources/demo/current.csv vs reference.csv";
        SB_ASSIGN_OR_RETURN(store::Id id, store->saveDriftSnapshot(
                                              std::nullopt, eval::driftReportToJson(drift), meta));
        out << "drift snapshot " << id << " stored in " << ctx.database.string() << "\n";
    }
    return Status::success();
}

const DemoStepRegistrar registrar{45, "Drift and data quality", runDriftDemo};

} // namespace
} // namespace sb::cli
