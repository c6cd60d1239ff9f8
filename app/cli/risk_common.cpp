#include "app/cli/risk_common.h"

#include "app/cli/args.h"

#include "core/store/store.h"

#include <cstdio>
#include <iostream>

namespace sb::cli {

Status storeRiskReport(const std::string &db, const std::string &modelFile, const std::string &kind,
                       const std::string &source, const nlohmann::json &report)
{
    SB_ASSIGN_OR_RETURN(auto store, store::Store::open(db));
    std::optional<store::Id> version;
    if (!modelFile.empty()) {
        SB_ASSIGN_OR_RETURN(auto found, store->findModelVersionByFile(modelFile));
        if (found)
            version = found->id;
        else
            std::cerr << "note: " << modelFile << " is not registered in " << db << "; the " << kind
                      << " report is stored without a model version\n";
    }
    store::EvaluationMeta meta;
    meta.kind = kind;
    meta.source = source;
    SB_ASSIGN_OR_RETURN(store::Id id, store->saveEvaluation(version, report, meta));
    std::cerr << "stored " << kind << " report " << id << " in " << db << "\n";
    return {};
}

ProgressFn terminalProgress(const std::string &what, bool quiet)
{
    if (quiet || !stderrIsTerminal())
        return {};
    return [what](double fraction, const std::string &) {
        std::fprintf(stderr, "\r%s: %3d%%", what.c_str(), static_cast<int>(fraction * 100));
        if (fraction >= 1.0)
            std::fprintf(stderr, "\n");
    };
}

} // namespace sb::cli
