#include "ui/eval/eval_backend.h"

#include "core/eval/csv.h"
#include "core/eval/drift_dataset.h"
#include "core/eval/drift_json.h"
#include "core/eval/evaluation.h"
#include "core/eval/quality.h"

#include <algorithm>
#include <set>

namespace sb::ui {

namespace {

// progress(fraction, what) over [from, to) of the whole evaluation.
ProgressFn subRange(const ProgressFn &progress, double from, double to)
{
    if (!progress)
        return {};
    return [progress, from, to](double fraction, const std::string &what) {
        progress(from + (to - from) * std::clamp(fraction, 0.0, 1.0), what);
    };
}

Result<void *> readRows(const QString &path, EvalReports &reports, const CancelToken &cancel,
                        const ProgressFn &progress)
{
    SB_ASSIGN_OR_RETURN(auto reader, eval::CsvReader::open(path.toStdString()));
    for (const auto &name : reader.header())
        reports.header << QString::fromStdString(name);
    eval::CsvBatch batch;
    while (true) {
        if (cancel.isCancelled())
            return makeError(ErrorCode::Cancelled, "evaluation cancelled");
        SB_ASSIGN_OR_RETURN(bool more, reader.next(batch));
        if (!more)
            break;
        for (std::size_t r = 0; r < batch.rows; ++r) {
            QStringList row;
            row.reserve(qsizetype(batch.columns));
            for (std::size_t c = 0; c < batch.columns; ++c) {
                const auto field = batch.field(r, c);
                row << QString::fromUtf8(field.data(), qsizetype(field.size()));
            }
            reports.rows.push_back(std::move(row));
        }
        if (progress && reader.fileSize() > 0)
            progress(static_cast<double>(reader.bytesConsumed()) /
                         static_cast<double>(reader.fileSize()),
                     "reading " + reader.fileName() + ": " + std::to_string(reports.rows.size()) +
                         " rows");
    }
    return nullptr;
}

// At most two distinct labels (missing values aside).
bool binaryLabel(const eval::Table &table, const std::string &name)
{
    const eval::Column *column = table.column(name);
    if (!column)
        return true; // evaluate() names the missing column
    std::set<std::string> labels;
    for (std::size_t row = 0; row < column->size() && labels.size() <= 2; ++row)
        if (!column->isMissing(row))
            labels.insert(column->text(row));
    return labels.size() <= 2;
}

} // namespace

Result<EvalReports> runEvaluation(const EvalRequest &request, const ProgressFn &progress,
                                  const CancelToken &cancel)
{
    EvalReports reports;
    if (request.currentPath.isEmpty())
        return makeError(ErrorCode::InvalidInput, "choose the current data (a CSV file)");
    if (progress)
        progress(0.1, "Reading " + request.currentPath.toStdString());
    SB_TRY(readRows(request.currentPath, reports, cancel, subRange(progress, 0.1, 0.3)));
    if (!reports.header.contains(request.labelColumn))
        return makeError(ErrorCode::InvalidInput, request.currentPath.toStdString() +
                                                      ": no column '" +
                                                      request.labelColumn.toStdString() + "'");
    reports.predictionColumn = request.scoreColumn;

    // Drift of current against reference (with windows over time when asked).
    if (!request.referencePath.isEmpty()) {
        if (progress)
            progress(0.3, "Drift");
        eval::DriftDatasetOptions options;
        if (!request.windowColumn.isEmpty() && reports.header.contains(request.windowColumn)) {
            options.windowColumn = request.windowColumn.toStdString();
            options.window =
                request.window.isEmpty() ? std::string("7d") : request.window.toStdString();
        }
        SB_ASSIGN_OR_RETURN(auto drift, eval::runDrift(request.referencePath.toStdString(),
                                                       request.currentPath.toStdString(), options,
                                                       &cancel, subRange(progress, 0.3, 0.7)));
        reports.drift = eval::driftReportToJson(drift);
    }
    // Data quality and PII of the current data.
    if (progress)
        progress(0.7, "Quality");
    eval::QualityOptions quality;
    quality.label = request.labelColumn.toStdString();
    SB_ASSIGN_OR_RETURN(auto qualityReport,
                        eval::analyzeQuality(request.currentPath.toStdString(), quality, &cancel,
                                             subRange(progress, 0.7, 0.8)));
    reports.quality = eval::qualityReportToJson(qualityReport, std::nullopt);
    // Metrics, calibration, slices (one per category of a "site"-like
    // categorical column) and the weak-slice search.
    if (progress)
        progress(0.8, "Metrics");
    SB_ASSIGN_OR_RETURN(eval::Table table, eval::readCsv(request.currentPath.toStdString(), {},
                                                         &cancel, subRange(progress, 0.8, 0.9)));
    eval::EvalSpec spec;
    spec.label = request.labelColumn.toStdString();
    // The predictions column is P(positive) for a two-label column, else hard
    // predictions (more classes, or a regression target): `eval --score`
    // or `eval --pred`.
    (binaryLabel(table, spec.label) ? spec.score : spec.pred) = request.scoreColumn.toStdString();
    spec.bootstrap = 1000;
    spec.autoSlices = true;
    for (const char *name : {"site", "region", "segment", "group"})
        if (const eval::Column *column = table.column(name); column && column->categories)
            for (const auto &category : *column->categories)
                spec.slices.push_back(category + ": " + name + " == " + category);
    SB_ASSIGN_OR_RETURN(auto evaluation, eval::evaluate(table, spec, &cancel));
    reports.eval = evaluation.json;
    // Hard predictions for click-to-list: a "pred"/"prediction" column when
    // present, else the score thresholded like the evaluation does.
    for (const QString &name : {QStringLiteral("pred"), QStringLiteral("prediction")})
        if (reports.header.contains(name)) {
            reports.predictionColumn = name;
            break;
        }
    if (progress)
        progress(1.0, "Done");
    return reports;
}

QStringList readCsvHeader(const QString &path)
{
    auto reader = eval::CsvReader::open(path.toStdString());
    QStringList header;
    if (reader.ok())
        for (const auto &name : reader->header())
            header << QString::fromStdString(name);
    return header;
}

} // namespace sb::ui
