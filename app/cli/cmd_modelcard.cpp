// `shardbench-cli modelcard NAME:VERSION --out FILE.json|FILE.md`.
#include "app/cli/command.h"
#include "app/cli/store_cli.h"
#include "core/governance/report.h"

#include <fstream>
#include <iostream>

namespace sb::cli {
namespace {

int runModelCard(Args &args)
{
    ArgSpec spec("modelcard NAME:VERSION --out FILE.json|FILE.md [--db PATH]",
                 "Write a model card following Google's Model Card Toolkit schema v0.0.2:\n"
                 "model_details, model_parameters, quantitative_analysis (overall and\n"
                 "per-slice performance_metrics with bootstrap confidence intervals) and\n"
                 "considerations (weak slices, drift, governance checklist items). The\n"
                 "extension picks JSON or a Markdown rendering.");
    spec.positional("NAME:VERSION", "the model version (NAME = latest version)");
    spec.option("out", "FILE", "FILE.json or FILE.md");
    addStoreOptions(spec);
    auto parsed = spec.parse(args);
    if (!parsed)
        return parsed.exitCode;
    const std::string out = parsed.get("out");
    bool markdown = out.size() > 3 && out.substr(out.size() - 3) == ".md";
    bool json = out.size() > 5 && out.substr(out.size() - 5) == ".json";
    if (!markdown && !json)
        return reportError(args.command,
                           makeError(ErrorCode::InvalidInput, "--out must end in .json or .md"));
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
    store::Json card = governance::buildModelCard(*data);
    std::ofstream file(out, std::ios::binary | std::ios::trunc);
    if (markdown)
        file << governance::renderModelCardMarkdown(card);
    else
        file << card.dump(2, ' ', false, store::Json::error_handler_t::replace) << "\n";
    file.close();
    if (!file)
        return reportError(args.command, makeError(ErrorCode::Io, out + ": cannot write"));
    std::cout << "wrote model card for " << version->label() << " to " << out << "\n";
    return kExitOk;
}

const CommandRegistrar registrar{
    "modelcard", "Model card (Model Card Toolkit v0.0.2) as JSON or Markdown", runModelCard};

} // namespace
} // namespace sb::cli
