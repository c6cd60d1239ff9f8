#include "core/workflows/record_evaluation.h"

#include "core/governance/checklist.h"
#include "core/workflows/register_model.h"

namespace sb::workflows {

Result<RecordedEvaluation> recordEvaluation(store::Store &store, const EvaluationRecord &record)
{
    RecordedEvaluation recorded;
    std::optional<store::Id> versionId;
    if (!record.modelFile.empty()) {
        SB_ASSIGN_OR_RETURN(
            auto found,
            findOrRegisterModelFile(store, record.modelFile, record.modelName, record.modelNotes));
        recorded.registered = found.registered;
        recorded.version = found.version;
        versionId = found.version.id;
    }
    if (record.eval.is_object())
        SB_ASSIGN_OR_RETURN(
            recorded.evaluationId,
            store.saveEvaluation(versionId, record.eval, {"eval", record.source, std::nullopt}));
    if (record.quality.is_object())
        SB_ASSIGN_OR_RETURN(recorded.qualityId,
                            store.saveEvaluation(versionId, record.quality,
                                                 {"quality", record.source, std::nullopt}));
    if (record.drift.is_object())
        SB_ASSIGN_OR_RETURN(recorded.driftId,
                            store.saveDriftSnapshot(versionId, record.drift,
                                                    {"drift", record.driftSource, std::nullopt}));
    if (!recorded.version)
        return recorded;
    governance::ChecklistService checklists(store);
    SB_ASSIGN_OR_RETURN(auto existing, store.checklists().forVersion(recorded.version->id));
    if (existing.empty()) {
        SB_ASSIGN_OR_RETURN(auto checklistTemplate,
                            governance::findTemplate("evaluation-completeness"));
        SB_ASSIGN_OR_RETURN(auto started, checklists.start(*recorded.version, checklistTemplate));
        recorded.checklistStarted = started.templateId;
    }
    SB_TRY(checklists.refreshEvidence(*recorded.version));
    return recorded;
}

} // namespace sb::workflows
