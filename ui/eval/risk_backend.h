// The Evaluation page's robustness and risk checks, on a worker thread: the
// model through the engine on perturbed copies of the evaluated data
// (core/eval/robustness.h), the poisoning screen of the training data (or of
// the evaluated data without one, core/eval/poisoning.h), and membership
// inference of training rows against the evaluated rows (core/eval/privacy.h,
// only with training data). Results in the CLI's JSON formats; stored for the
// model's registered version when a database path is given.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"

#include <nlohmann/json.hpp>

#include <QString>
#include <QStringList>

#include <filesystem>

namespace sb::ui {

struct RiskRequest
{
    QString modelPath;
    QString dataPath;  // evaluated (held-out) rows
    QString trainPath; // training rows ("" = no membership inference)
    QString labelColumn;
    QStringList features;           // empty = every numerical column but label/score/pred/proba_*
    std::filesystem::path database; // "" = do not store
};

struct RiskReports
{
    nlohmann::json robustness, poisoning, privacy; // privacy null without training data
    QString storedFor;                             // version label, "" when not stored
};

Result<RiskReports> runRiskChecks(const RiskRequest &request, const ProgressFn &progress,
                                  const CancelToken &cancel);

} // namespace sb::ui
