// The Runs page: configure and start a run of the current placement (inputs,
// batch, micro-batches, iterations), live progress, the stage table of the
// last run and the history of runs for side-by-side comparison. The timeline
// and metrics widgets live in bottom docks (takeTimelineWidget/...).
#pragma once

#include "ui/common/page.h"
#include "ui/common/stall_probe.h"
#include "ui/common/task_runner.h"
#include "ui/graph/placement_model.h"
#include "ui/run/metrics_widget.h"
#include "ui/run/run_backend.h"
#include "ui/run/run_comparison.h"
#include "ui/run/timeline_model.h"
#include "ui/run/timeline_view.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStandardItem;
class QStandardItemModel;
class QTableView;
class QTabWidget;

namespace sb::ui {

class RunPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("R&uns"); }
    QWidget *widget() override { return this; }

    RunPage(PlacementModel *placement, TaskRunner *tasks, StallProbe *probe,
            QWidget *parent = nullptr);

    QWidget *takeTimelineWidget() const { return m_timelineView; }
    QWidget *takeMetricsWidget() const { return m_metrics; }
    TimelineModel *timelineModel() const { return m_timeline; }
    MetricsWidget *metrics() const { return m_metrics; }
    QStandardItemModel *historyModel() const { return m_history; }
    QTableView *historyView() const { return m_historyView; }
    RunComparisonModel *comparisonModel() const { return m_comparison; }
    RunComparisonView *comparisonView() const { return m_comparisonView; }

    // Loads the runs stored earlier (RunRecords) into the history, on a
    // worker; emits historyLoaded. Runs of this session stay after them.
    void loadHistory();
    // Where run traces are written (default: <user data dir>/traces).
    void setTraceDirectory(const QString &directory) { m_traceDirectory = directory; }

    RunConfig config() const;
    void setConfig(const RunConfig &config);
    int microbatches() const;
    int batch() const;
    void setMicrobatches(int microbatches);

    // Starts a run of the current placement; false (with errorOccurred) when
    // the placement is invalid or a run is already going.
    bool startRun();
    bool isRunning() const { return m_running; }
    const QVector<RunOutcome> &outcomes() const { return m_outcomes; }
    // Builds the stage list for the current placement (exposed for tests).
    RunRequest makeRequest() const;

signals:
    void runStarted();
    void runFinished(bool ok);
    void logMessage(const QString &text);
    void errorOccurred(const QString &message);
    void historyLoaded(int storedRuns);
    // The run at history row `row` has been written to the store.
    void runSaved(int row, qint64 runId);

private:
    void finishRun(Result<RunOutcome> result);
    void addHistoryRow(const RunOutcome &outcome);
    void saveToStore(const RunOutcome &outcome);
    bool showEstimate();
    void showStages(const RunOutcome &outcome);
    void selectionChanged();
    QList<QStandardItem *> historyRow(const RunOutcome &outcome) const;

    PlacementModel *m_placement;
    TaskRunner *m_tasks;
    StallProbe *m_probe;
    TimelineModel *m_timeline;
    TimelineView *m_timelineView;
    MetricsWidget *m_metrics;
    QComboBox *m_inputs;
    QLineEdit *m_inputPath;
    QSpinBox *m_batch;
    QSpinBox *m_microbatches;
    QSpinBox *m_iterations;
    QPushButton *m_runButton;
    QPushButton *m_cancelButton;
    QProgressBar *m_progress;
    QLabel *m_status;
    QTableView *m_stagesView;
    QStandardItemModel *m_stages;
    QTableView *m_historyView;
    QStandardItemModel *m_history;
    QTabWidget *m_details;
    RunComparisonModel *m_comparison;
    RunComparisonView *m_comparisonView;
    QString m_traceDirectory;
    QString m_runStartedAt;
    QVector<RunOutcome> m_outcomes; // parallel to the history rows
    bool m_running = false;
    int m_taskId = 0;
};

} // namespace sb::ui
