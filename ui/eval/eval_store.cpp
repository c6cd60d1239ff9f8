#include "ui/eval/eval_store.h"

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
    if (!fs::is_regular_file(modelFile, ec))
        return makeError(ErrorCode::NotFound, modelFile.string() + ": no such model file");
    SB_ASSIGN_OR_RETURN(auto existing, store.findModelVersionByFile(modelFile));
    if (existing)
        return *existing;
    // Import first: a file that is not a valid ONNX model is not registered.
    graph::ImportOptions options;
    options.runShapeInference = false;
    options.groupBlocks = false;
    SB_ASSIGN_OR_RETURN(auto graph, graph::importOnnxFile(modelFile, options));
    const bool isDemo = fs::equivalent(modelFile, demoClassifierPath(), ec);
    store::NewModelVersion input;
    input.modelName = isDemo ? std::string("demo-classifier") : modelFile.stem().string();
    input.filePath = fs::absolute(modelFile, ec).lexically_normal().string();
    SB_ASSIGN_OR_RETURN(input.sha256, sha256File(modelFile));
    input.sizeBytes = static_cast<std::int64_t>(fs::file_size(modelFile, ec));
    input.producer =
        graph->producerName + (graph->producerVersion.empty() ? "" : " " + graph->producerVersion);
    for (const auto &[domain, version] : graph->opsets)
        input.opsets[domain.empty() ? "ai.onnx" : domain] = version;
    input.notes = isDemo ? "bundled demo: breast-cancer classifier"
                         : "registered by the workbench's Evaluation page";
    SB_ASSIGN_OR_RETURN(auto version, store.registerModelVersion(input));
    if (registered)
        *registered = true;
    return version;
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
