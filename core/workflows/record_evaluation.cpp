#include "core/workflows/record_evaluation.h"

#include "core/governance/checklist.h"
#include "core/workflows/register_model.h"

namespace sb::workflows {

Result<RecordedEvaluation> recordEvaluation(store::Store &store, const EvaluationRecord &record)
{
    RecordedEvaluation recorded;
    std::optional<store::Id> versionId;
    if (!record.modelFile.empty()) {
        auto found =
            findOrRegisterModelFile(store, record.modelFile, record.modelName, record.modelNotes);
        if (!found)
            return found.error();
        recorded.registered = found->registered;
        recorded.version = found->version;
        versionId = found->version.id;
    }
    // Each report that was computed, attached to the version (or to none).
    auto save = [&](const store::Json &report, const char *kind, const std::string &source,
                    store::Id &id) -> Status {
        if (!report.is_object())
            return {};
        auto saved = std::string(kind) == "drift"
                         ? store.saveDriftSnapshot(versionId, report, {kind, source, std::nullopt})
                         : store.saveEvaluation(versionId, report, {kind, source, std::nullopt});
        if (!saved)
            return saved.error();
        id = *saved;
        return {};
    };
    SB_TRY(save(record.eval, "eval", record.source, recorded.evaluationId));
    SB_TRY(save(record.quality, "quality", record.source, recorded.qualityId));
    SB_TRY(save(record.drift, "drift", record.driftSource, recorded.driftId));
    if (!recorded.version)
        return recorded;
    governance::ChecklistService checklists(store);
    SB_ASSIGN_OR_RETURN(auto existing, store.checklists().forVersion(recorded.version->id));
    if (existing.empty()) {
        SB_ASSIGN_OR_RETURN(auto evaluationTemplate,
                            governance::findTemplate("evaluation-completeness"));
        SB_ASSIGN_OR_RETURN(auto started, checklists.start(*recorded.version, evaluationTemplate));
        recorded.checklistStarted = started.templateId;
    }
    SB_TRY(checklists.refreshEvidence(*recorded.version));
    return recorded;
}

} // namespace sb::workflows
