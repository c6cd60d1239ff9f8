// Evaluation: pick a dataset and its label/prediction columns, then read the
// report: overall metrics with confidence intervals, per-class table,
// confusion-matrix heatmap (click a cell to list its rows), slice metrics with
// error bars, weak slices, reliability diagram with ECE before/after
// temperature scaling, drift per feature and over time (click a window to
// drill into its columns), data quality and PII, robustness (metric vs
// perturbation strength, sensitivity ranking) and risks (label issues of the
// training data, membership-inference ROC). The page renders the JSON
// reports of `eval`, `drift` and `quality` (issue 5's public format), whether
// computed here or loaded from the store; the evaluation report is parsed by
// parseEvalReport (eval_results.h) into the table models the views show.
#pragma once

#include "ui/common/page.h"
#include "ui/common/task_runner.h"
#include "ui/eval/eval_backend.h"
#include "ui/eval/eval_results.h"

#include <nlohmann/json.hpp>

#include <QWidget>

class QComboBox;
class QLabel;
class QProgressBar;
class QPushButton;
class QLineEdit;
class QTableView;
class QTabWidget;
class QChartView;

namespace sb::ui {

class ConfusionHeatmap;
class BarChartWidget;
class RiskPanel;

class EvalPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("&Evaluation"); }
    QWidget *widget() override { return this; }

    explicit EvalPage(TaskRunner *tasks, QWidget *parent = nullptr);

    // Fills every view from reports in issue 5's JSON format (any may be null).
    void showReports(const nlohmann::json &eval, const nlohmann::json &drift,
                     const nlohmann::json &quality);
    const nlohmann::json &evalReport() const { return m_eval; }
    const nlohmann::json &driftReport() const { return m_drift; }
    const nlohmann::json &qualityReport() const { return m_quality; }

    // Rows of the loaded dataset whose label is `actual` and prediction
    // `predicted` (what a heatmap click lists).
    void listConfusionRows(int actualIndex, int predictedIndex);
    void drillIntoWindow(int window);

    // What the last report says, parsed (parseEvalReport).
    const EvalResults &evalResults() const { return m_results; }
    MetricsTableModel *overallModel() const { return m_overall; }
    PerClassModel *perClassModel() const { return m_perClass; }
    SliceTableModel *slicesModel() const { return m_slices; }
    ConfusionRowsModel *rowsModel() const { return m_rows; }
    KeyedTextModel *weakSlicesModel() const { return m_weakSlices; }
    QualityTableModel *qualityModel() const { return m_qualityTable; }
    DriftColumnsModel *windowColumnsModel() const { return m_windowColumns; }
    ConfusionHeatmap *heatmap() const { return m_heatmap; }
    BarChartWidget *sliceChart() const { return m_sliceChart; }
    BarChartWidget *driftChart() const { return m_driftChart; }
    QChartView *reliabilityChart() const { return m_reliability; }
    QChartView *driftOverTimeChart() const { return m_driftTime; }
    // The Robustness and Risks sections (issue 18).
    RiskPanel *riskPanel() const { return m_risk; }
    // Every chart widget, for export and screenshots.
    QList<QWidget *> charts() const;

    // The dataset used for click-to-list (rows as strings, header names).
    void setDatasetRows(const QStringList &header, const QVector<QStringList> &rows,
                        const QString &labelColumn, const QString &predictionColumn);

    // The store note under the inputs ("Stored for demo-classifier:1 ...").
    QString storeStatus() const;

signals:
    void errorOccurred(const QString &message);
    void reportsShown();
    // The evaluation, quality and drift reports were stored for this version.
    void resultsStored(const QString &versionLabel);
    // The running evaluation stopped at the user's Cancel.
    void evaluationCancelled();

private:
    struct EvalOutcome; // the reports, and where they were stored

    QWidget *buildInputs();
    void fillColumns();
    void startEvaluation(const EvalRequest &request);
    void finishEvaluation(const EvalRequest &request, const Result<EvalOutcome> &result);
    void loadReportFiles(const QStringList &files);
    void buildReliability();
    void buildDriftOverTime();

    TaskRunner *m_tasks;
    // The inputs.
    QLineEdit *m_reference;
    QLineEdit *m_current;
    QComboBox *m_labelBox;
    QComboBox *m_predictionBox;
    QLineEdit *m_model;
    int m_evalTask = 0;              // the running evaluation's task id (0: none)
    QProgressBar *m_evalProgress;    // rows read, rate and ETA of the running evaluation
    QPushButton *m_cancelEvaluation; // cancels it (the work runs off the GUI thread)
    nlohmann::json m_eval, m_drift, m_quality;
    EvalResults m_results;
    QLabel *m_headline;
    QLabel *m_storeStatus;
    MetricsTableModel *m_overall;
    PerClassModel *m_perClass;
    SliceTableModel *m_slices;
    ConfusionRowsModel *m_rows;
    KeyedTextModel *m_weakSlices;
    QualityTableModel *m_qualityTable;
    DriftColumnsModel *m_windowColumns;
    ConfusionHeatmap *m_heatmap;
    BarChartWidget *m_sliceChart;
    BarChartWidget *m_driftChart;
    QChartView *m_reliability;
    QChartView *m_driftTime;
    RiskPanel *m_risk;
    QLabel *m_rowsLabel;
    QLabel *m_windowLabel;
};

} // namespace sb::ui
