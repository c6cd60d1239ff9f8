// The Runs page: configure and start a run of the current placement (inputs,
// batch, micro-batches, iterations), live progress, the stage table of the
// last run and the history of runs for side-by-side comparison. The timeline
// and metrics widgets live in bottom docks (takeTimelineWidget/...).
#pragma once

#include "ui/common/stall_probe.h"
#include "ui/common/task_runner.h"
#include "ui/graph/placement_model.h"
#include "ui/run/metrics_widget.h"
#include "ui/run/run_backend.h"
#include "ui/run/timeline_model.h"
#include "ui/run/timeline_view.h"

#include <QWidget>

class QComboBox;
class QLabel;
class QLineEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QStandardItemModel;
class QTableView;

namespace sb::ui {

class RunPage : public QWidget
{
    Q_OBJECT
public:
    RunPage(PlacementModel *placement, TaskRunner *tasks, StallProbe *probe,
            QWidget *parent = nullptr);

    QWidget *takeTimelineWidget() const { return m_timelineView; }
    QWidget *takeMetricsWidget() const { return m_metrics; }
    TimelineModel *timelineModel() const { return m_timeline; }
    MetricsWidget *metrics() const { return m_metrics; }
    QStandardItemModel *historyModel() const { return m_history; }

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

private:
    void finishRun(Result<RunOutcome> result);
    void addHistoryRow(const RunOutcome &outcome);
    void saveToStore(const RunOutcome &outcome);
    bool showEstimate();
    void showStages(const RunOutcome &outcome);

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
    QVector<RunOutcome> m_outcomes;
    bool m_running = false;
    int m_taskId = 0;
};

} // namespace sb::ui
