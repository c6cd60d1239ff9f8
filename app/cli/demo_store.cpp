// Demo step 50: the embedded store. Registers the demo classifier (once per
// file hash), stores its evaluation and data quality on the demo data and the
// drift snapshot step 45 stored, starts the evaluation-completeness checklist
// for that version and ends with where the database is and what it holds.
#include "app/cli/demo.h"
#include "core/common/paths.h"
#include "core/common/sha256.h"
#include "core/eval/csv.h"
#include "core/eval/drift_json.h"
#include "core/eval/evaluation.h"
#include "core/eval/quality.h"
#include "core/governance/checklist.h"
#include "core/graph/onnx_import.h"
#include "core/store/store.h"
#include "core/workflows/register_model.h"

#include <ostream>

namespace sb::cli {
namespace {

Result<store::ModelVersionRecord>
registerDemoModel(store::Store &store, const std::filesystem::path &model, std::ostream &out)
{
    SB_ASSIGN_OR_RETURN(auto existing, store.findModelVersionByFile(model));
    if (existing && existing->modelName == "demo-classifier") {
        out << "demo model already registered as " << existing->label() << " (sha256 "
            << existing->sha256.substr(0, 12) << "...)\n";
        return *existing;
    }
    SB_ASSIGN_OR_RETURN(auto version,
                        workflows::registerModelFile(store, model, "demo-classifier",
                                                     "bundled demo: breast-cancer classifier"));
    out << "registered " << version.label() << " (sha256 " << version.sha256.substr(0, 12)
        << "..., " << version.sizeBytes << " bytes, " << version.producer << ")\n";
    return version;
}

Status runStoreDemo(DemoContext &ctx)
{
    std::ostream &out = *ctx.out;
    SB_ASSIGN_OR_RETURN(auto store, store::Store::open(ctx.database));
    SB_ASSIGN_OR_RETURN(auto version,
                        registerDemoModel(*store, ctx.resources / "demo" / "classifier.onnx", out));
    const auto current = ctx.resources / "demo" / "current.csv";

    // The evaluation: step 40 stores it without a model version; record it for
    // this version. Without step 40, evaluate the stored scores here.
    std::optional<store::Id> evaluationId;
    SB_ASSIGN_OR_RETURN(auto evaluations, store->evaluations().evaluations(std::nullopt));
    for (auto it = evaluations.rbegin(); it != evaluations.rend(); ++it) {
        if (it->modelVersionId || it->kind != "eval" || it->source.rfind("demo:", 0) != 0)
            continue;
        SB_ASSIGN_OR_RETURN(
            evaluationId, store->saveEvaluation(
                              version.id, it->report,
                              {"eval", it->source + " (evaluation " + std::to_string(it->id) + ")",
                               std::nullopt}));
        break;
    }
    if (!evaluationId) {
        SB_ASSIGN_OR_RETURN(eval::Table table, eval::readCsv(current));
        eval::EvalSpec spec;
        spec.label = "label";
        spec.score = "score";
        spec.bootstrap = 200;
        spec.slices = {"north_general: site == north_general", "st_anne: site == st_anne",
                       "riverside: site == riverside", "lakeside_clinic: site == lakeside_clinic"};
        SB_ASSIGN_OR_RETURN(eval::EvalReport report, eval::evaluate(table, spec));
        SB_ASSIGN_OR_RETURN(evaluationId, store->saveEvaluation(
                                              version.id, report.json,
                                              {"eval", "demo: " + current.string(), std::nullopt}));
    }
    eval::QualityOptions qualityOptions;
    qualityOptions.label = "label";
    SB_ASSIGN_OR_RETURN(eval::QualityReport quality, eval::analyzeQuality(current, qualityOptions));
    SB_ASSIGN_OR_RETURN(
        store::Id qualityId,
        store->saveEvaluation(version.id, eval::qualityReportToJson(quality, std::nullopt),
                              {"quality", "demo: resources/demo/current.csv", std::nullopt}));
    out << "stored evaluation " << *evaluationId << " and quality report " << qualityId << " for "
        << version.label() << "\n";

    // Attach the drift snapshot of this run (step 45 stores it without a version).
    SB_ASSIGN_OR_RETURN(auto snapshots, store->evaluations().driftSnapshots(std::nullopt));
    for (auto it = snapshots.rbegin(); it != snapshots.rend(); ++it) {
        if (it->modelVersionId || it->source.rfind("demo:", 0) != 0)
            continue;
        SB_ASSIGN_OR_RETURN(store::Id driftId,
                            store->saveDriftSnapshot(
                                version.id, it->report,
                                {"drift", it->source + " (snapshot " + std::to_string(it->id) + ")",
                                 std::nullopt}));
        out << "drift snapshot " << it->id << " recorded for " << version.label() << " as "
            << driftId << "\n";
        break;
    }

    // The evaluation-completeness checklist: evidence items read the results above.
    governance::ChecklistService checklists(*store);
    SB_ASSIGN_OR_RETURN(auto existing,
                        store->checklists().find(version.id, "evaluation-completeness"));
    if (!existing) {
        SB_ASSIGN_OR_RETURN(auto checklistTemplate,
                            governance::findTemplate("evaluation-completeness"));
        SB_ASSIGN_OR_RETURN(auto started, checklists.start(version, checklistTemplate));
        out << "started checklist '" << started.templateId << "' for " << version.label() << "\n";
    }
    SB_ASSIGN_OR_RETURN(store::Json described, checklists.describe(version));
    for (const auto &checklist : described["checklists"]) {
        out << "  " << checklist["template"].get<std::string>() << ": "
            << checklist["items_satisfied"].get<std::size_t>() << "/"
            << checklist["items_total"].get<std::size_t>() << " satisfied\n";
        for (const auto &item : checklist["items"])
            out << "    [" << item["status"].get<std::string>() << "] "
                << item["id"].get<std::string>()
                << (item["rule"].get<std::string>().empty()
                        ? ""
                        : "  (" + item["rule"].get<std::string>() + ")")
                << "\n";
    }
    SB_ASSIGN_OR_RETURN(auto verification, store->audit().verify());
    SB_ASSIGN_OR_RETURN(auto counts, store->tableCounts());
    out << "database: " << store->path().string() << " (schema v" << store->schemaVersion() << ")\n"
        << "  holds:";
    for (const auto &[table, rows] : counts)
        out << " " << table << "=" << rows;
    out << "\n  audit chain: " << (verification.ok ? "intact" : "BROKEN: " + verification.problem)
        << " (" << verification.entries << " entries)\n"
        << "  next: shardbench-cli checklist show " << version.label()
        << " ; shardbench-cli report " << version.label() << " --format html --out report.html\n";
    return Status::success();
}

const DemoStepRegistrar registrar{50, "Store", runStoreDemo};

} // namespace
} // namespace sb::cli
