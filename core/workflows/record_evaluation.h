// Recording an evaluation in the store: the one definition the Evaluation
// page and `eval --db` use, so the registry, the checklists' evidence and the
// report see the same thing whichever front end stored it.
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"

#include <filesystem>
#include <optional>
#include <string>

namespace sb::workflows {

struct EvaluationRecord
{
    // The model the scores came from. Empty: the reports are stored without
    // a model version (no registry entry, no checklist).
    std::filesystem::path modelFile;
    std::string modelName;  // when the file is registered by this call
    std::string modelNotes; // likewise
    std::string source;     // what was evaluated (data file, ...)
    store::Json eval;       // each report is stored when it is an object
    store::Json quality;
    store::Json drift;
    std::string driftSource; // "reference vs current"
};

struct RecordedEvaluation
{
    std::optional<store::ModelVersionRecord> version;
    bool registered = false; // the model file was registered by this call
    store::Id evaluationId = 0, qualityId = 0, driftId = 0; // 0: not stored
    std::string checklistStarted;                           // template id; empty when one existed
};

// With a model file: its registered version (registered now when absent, as
// registerModelFile does), the reports attached to it (kinds "eval",
// "quality" and a drift snapshot), the "evaluation-completeness" checklist
// started when the version has none, then every evidence item refreshed.
// Each write is its own transaction with its audit entry.
[[nodiscard]] Result<RecordedEvaluation> recordEvaluation(store::Store &store,
                                                          const EvaluationRecord &record);

} // namespace sb::workflows
