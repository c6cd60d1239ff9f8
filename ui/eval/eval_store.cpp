#include "ui/eval/eval_store.h"

#include "core/workflows/record_evaluation.h"
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
    const fs::path modelFile = request.modelPath.toStdString();
    std::error_code ec;
    const bool isDemo = fs::equivalent(modelFile, demoClassifierPath(), ec);
    const std::string current = request.currentPath.toStdString();
    workflows::EvaluationRecord record;
    record.modelFile = modelFile;
    record.modelName = isDemo ? std::string("demo-classifier") : modelFile.stem().string();
    record.modelNotes = isDemo ? "bundled demo: breast-cancer classifier"
                               : "registered by the workbench's Evaluation page";
    record.source = "workbench: " + current;
    record.eval = reports.eval;
    record.quality = reports.quality;
    record.drift = reports.drift;
    record.driftSource = "workbench: " + request.referencePath.toStdString() + " vs " + current;
    SB_ASSIGN_OR_RETURN(auto recorded, workflows::recordEvaluation(store, record));
    StoredEvaluation stored;
    stored.version = *recorded.version;
    stored.registered = recorded.registered;
    stored.evaluationId = recorded.evaluationId;
    stored.qualityId = recorded.qualityId;
    stored.driftId = recorded.driftId;
    stored.checklistStarted = recorded.checklistStarted;
    return stored;
}

} // namespace sb::ui
