#include "ui/eval/eval_store.h"

#include "core/workflows/record_evaluation.h"
#include "core/workflows/register_model.h"

#include "core/common/paths.h"

#include <tuple>
#include <utility>

namespace sb::ui {

namespace fs = std::filesystem;

namespace {

// Name and notes a model file gets when the Evaluation page registers it: the
// bundled demo classifier as `shardbench-cli demo` names it, else the file's
// base name.
std::pair<std::string, std::string> registrationNaming(const fs::path &modelFile)
{
    std::error_code ec;
    if (fs::equivalent(modelFile, demoClassifierPath(), ec))
        return {"demo-classifier", "bundled demo: breast-cancer classifier"};
    return {modelFile.stem().string(), "registered by the workbench's Evaluation page"};
}

} // namespace

Result<store::ModelVersionRecord> findOrRegisterModel(store::Store &store,
                                                      const fs::path &modelFile, bool *registered)
{
    if (registered)
        *registered = false;
    const auto [name, notes] = registrationNaming(modelFile);
    SB_ASSIGN_OR_RETURN(auto found,
                        workflows::findOrRegisterModelFile(store, modelFile, name, notes));
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
    const std::string current = request.currentPath.toStdString();
    workflows::EvaluationRecord record;
    record.modelFile = modelFile;
    std::tie(record.modelName, record.modelNotes) = registrationNaming(modelFile);
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
