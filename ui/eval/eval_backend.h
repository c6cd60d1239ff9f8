// Computes the evaluation page's reports on a worker thread: metrics and
// calibration on the current data, drift of current against reference, data
// quality, in issue 5's JSON format, plus the rows for click-to-list.
#pragma once

#include "core/common/cancel.h"
#include "core/common/result.h"

#include <nlohmann/json.hpp>

#include <QString>
#include <QStringList>
#include <QVector>

namespace sb::ui {

struct EvalRequest
{
    QString referencePath;
    QString currentPath;
    QString labelColumn;
    QString scoreColumn;  // P(positive) for a two-label column, else hard predictions
    QString windowColumn; // drift over time: a datetime column ("" = none)
    QString window;       // "7d", "1000"...
    QString modelPath;    // the model the scores come from; results are stored for its version
};

struct EvalReports
{
    nlohmann::json eval, drift, quality;
    QStringList header;
    QVector<QStringList> rows; // current data, for click-to-list
    QString predictionColumn;  // the column holding hard predictions
};

Result<EvalReports> runEvaluation(const EvalRequest &request, const ProgressFn &progress,
                                  const CancelToken &cancel);

// The header row of a CSV file (empty when unreadable).
QStringList readCsvHeader(const QString &path);

} // namespace sb::ui
