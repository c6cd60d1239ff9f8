// Run metrics: throughput and latency over iterations (Qt Charts), measured
// peak memory per device against the ledger's estimate, and the summary.
#pragma once

#include "ui/run/run_types.h"

#include <QWidget>

class QChartView;
class QLabel;
class QLineSeries;
class QBarSeries;

namespace sb::ui {

class MetricsWidget : public QWidget
{
    Q_OBJECT
public:
    explicit MetricsWidget(QWidget *parent = nullptr);
    void startRun(const QStringList &devices);
    void addIteration(const RunIteration &iteration);
    // Appends several iterations and refits the axes once: live updates
    // arrive in bursts (an MPI run reports all its iterations at its end), and
    // one axis relayout per point would hold the GUI thread for minutes.
    void addIterations(const QVector<RunIteration> &iterations);
    void showOutcome(const RunOutcome &outcome);
    int pointCount() const;
    QChartView *throughputChart() const { return m_throughputView; }
    QChartView *memoryChart() const { return m_memoryView; }

private:
    QChartView *m_throughputView;
    QChartView *m_memoryView;
    QLabel *m_summary;
    QLineSeries *m_throughput;
    QLineSeries *m_latency;
    double m_maxThroughput = 0;
    double m_maxLatency = 0;
};

} // namespace sb::ui
