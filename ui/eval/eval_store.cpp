#include "ui/eval/eval_store.h"

#include "core/workflows/register_model.h"

#include "core/common/paths.h"
#include "core/common/sha256.h"
#include "core/governance/checklist.h"
#include "core/graph/onnx_import.h"

namespace sb::ui {

namespace fs = std::filesystem;

Result<store::ModelVersionRecord> findOrRegisterModel(store::Store &store,
                                                      const fs::path &modelFile, bool *registered)
{
    if (registered)
        *registered = false;
    std::error_code ec;
    const bool isDemo = fs::equivalent(modelFile, demoClassifierPath(), ec);
    SB_ASSIGN_OR_RETURN(auto found,
                        workflows::findOrRegisterModelFile(
                            store, modelFile,
                            isDemo ? std::string("demo-classifier") : modelFile.stem().string(),
                            isDemo ? "bundled demo: breast-cancer classifier"
                                   : "registered by the workbench's Evaluation page"));
    if (registered)
        *registered = found.registered;
    return found.version;
}

Result<StoredEvaluation> storeEvaluation(store::Store &store, const EvalRequest &request,
                                         const EvalReports &reports)
{
    if (request.modelPath.isEmpty())
        return makeError(ErrorCode::InvalidInput,
                         "choose the model the scores come from to store the evaluation");
    StoredEvaluation stored;
    SB_ASSIGN_OR_RETURN(stored.version, findOrRegisterModel(store, request.modelPath.toStdString(),
                                                            &stored.registered));
    const std::string current = request.currentPath.toStdString();
    const std::string source = "workbench: " + current;
    if (reports.eval.is_object()) {
        SB_ASSIGN_OR_RETURN(
            stored.evaluationId,
            store.saveEvaluation(stored.version.id, reports.eval, {"eval", source, std::nullopt}));
    }
    if (reports.quality.is_object()) {
        SB_ASSIGN_OR_RETURN(stored.qualityId,
                            store.saveEvaluation(stored.version.id, reports.quality,
                                                 {"quality", source, std::nullopt}));
    }
    if (reports.drift.is_object()) {
        SB_ASSIGN_OR_RETURN(
            stored.driftId,
            store.saveDriftSnapshot(
                stored.version.id, reports.drift,
                {"drift", "workbench: " + request.referencePath.toStdString() + " vs " + current,
                 std::nullopt}));
    }
    governance::ChecklistService checklists(store);
    SB_ASSIGN_OR_RETURN(auto existing, store.checklists().forVersion(stored.version.id));
    if (existing.empty()) {
        SB_ASSIGN_OR_RETURN(auto checklistTemplate,
                            governance::findTemplate("evaluation-completeness"));
        SB_ASSIGN_OR_RETURN(auto started, checklists.start(stored.version, checklistTemplate));
        stored.checklistStarted = started.templateId;
    }
    SB_TRY(checklists.refreshEvidence(stored.version));
    return stored;
}

} // namespace sb::ui
