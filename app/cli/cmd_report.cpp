// `shardbench-cli report NAME:VERSION --format html|pdf --out FILE`.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/governance/report.h"

#ifdef SHARDBENCH_HAVE_QT
#include "ui/report/pdf_export.h"
#endif

#include <fstream>
#include <iostream>

namespace sb::cli {
namespace {

int runReport(Args &args)
{
    ArgSpec spec("report NAME:VERSION --format html|pdf --out FILE [--db PATH]",
                 "Write the evaluation report of a model version: metrics with confidence\n"
                 "intervals, slice table, charts (reliability diagram, slice bars, confusion\n"
                 "matrix heatmap, drift bars), data quality, drift, checklist status and the\n"
                 "latest run/plan/hardware. HTML is one self-contained file (inline CSS and\n"
                 "SVG, no network); PDF is rendered with Qt's PDF writer.");
    spec.positional("NAME:VERSION", "the model version (NAME = latest version)");
    spec.option("format", "FMT", "html or pdf", "html");
    spec.option("out", "FILE", "output file");
    addStoreOptions(spec);
    spec.required("out");
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const std::string format = parsed.get("format");
    if (format != "html" && format != "pdf")
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput,
                                     "--format must be html or pdf, not '" + format + "'"));
#ifndef SHARDBENCH_HAVE_QT
    if (format == "pdf")
        return reportError(
            args.command,
            makeError(ErrorCode::Unsupported,
                      "PDF needs the Qt build (SHARDBENCH_GUI=ON); use --format html"));
#endif
    int exitCode = 0;
    auto store = openStoreOrReport(parsed, args.command, &exitCode);
    if (!store)
        return exitCode;
    auto version = store->resolveVersion(parsed.positional.front());
    if (!version.ok())
        return reportError(args.command, version.error());
    auto data = governance::gatherReport(*store, *version);
    if (!data.ok())
        return reportError(args.command, data.error());
    const std::string out = parsed.get("out");
    if (format == "html") {
        std::ofstream file(out, std::ios::binary | std::ios::trunc);
        file << governance::renderReportHtml(*data, governance::HtmlFlavor::Standalone);
        file.close();
        if (!file)
            return reportError(args.command, makeError(ErrorCode::Io, out + ": cannot write"));
    } else {
#ifdef SHARDBENCH_HAVE_QT
        Status written = ui::exportReportPdf(*data, out);
        if (!written.ok())
            return reportError(args.command, written.error());
#endif
    }
    auto audited = store->audit().append("report.export", version->label(),
                                         {{"format", format}, {"out", out}});
    if (!audited.ok())
        return reportError(args.command, audited.error());
    std::cout << "wrote " << format << " report for " << version->label() << " to " << out << "\n";
    return kExitOk;
}

const CommandRegistrar registrar{"report", "Evaluation report of a model version (HTML or PDF)",
                                 runReport};

} // namespace
} // namespace sb::cli
