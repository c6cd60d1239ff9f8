// Stores what the Evaluation page computed, for the model version the scores
// come from, so the governance checklist's evidence items, the registry and
// the report read it: the evaluation (kind "eval"), the data quality report
// (kind "quality") and the drift snapshot, each attached to the version.
//
// The version is the registered one whose file has the model's sha256; an
// unregistered model file is registered first (name: "demo-classifier" for
// the bundled demo classifier, as `shardbench-cli demo` does, else the file's
// base name). A version without any checklist gets the
// "evaluation-completeness" checklist, then every evidence item is refreshed.
// Called on a worker thread with a store opened there.
#pragma once

#include "core/common/result.h"
#include "core/store/store.h"
#include "ui/eval/eval_backend.h"

#include <filesystem>
#include <string>

namespace sb::ui {

struct StoredEvaluation
{
    store::ModelVersionRecord version;
    bool registered = false; // the version was registered by this call
    store::Id evaluationId = 0;
    store::Id qualityId = 0;
    store::Id driftId = 0;        // 0 when there was no drift report
    std::string checklistStarted; // template id, empty when one existed
};

// The registered version of `modelFile`, registering it when absent.
Result<store::ModelVersionRecord> findOrRegisterModel(store::Store &store,
                                                      const std::filesystem::path &modelFile,
                                                      bool *registered = nullptr);

Result<StoredEvaluation> storeEvaluation(store::Store &store, const EvalRequest &request,
                                         const EvalReports &reports);

} // namespace sb::ui
