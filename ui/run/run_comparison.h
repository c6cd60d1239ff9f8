// Side-by-side comparison of runs (this session's and past ones from the
// store): a table model with one column per run and one row per figure, and a
// view that charts the same figures next to each other with Qt Charts.
//
// Rows, in order: throughput (samples/s), latency p50 and p90 (ms), measured
// bubble and the formula (p-1)/(m+p-1) (%), batch, micro-batches, then one
// "stage time" row per device (compute ms of the stage on that device, last
// iteration) and one "peak memory" row per device (MB). Devices are the union
// over the compared runs, in first-seen order; a run without a figure shows
// an empty cell (NaN in ValueRole), never 0.
#pragma once

#include "ui/run/run_types.h"

#include <QAbstractTableModel>
#include <QWidget>

class QChartView;
class QTableView;
class QLabel;

namespace sb::ui {

class RunComparisonModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum class Figure
    {
        Throughput,
        LatencyP50,
        LatencyP90,
        Bubble,
        IdealBubble,
        Batch,
        Microbatches,
        StageTime,  // per device
        PeakMemory, // per device
    };
    static constexpr int ValueRole = Qt::UserRole + 1; // double, NaN when unknown

    explicit RunComparisonModel(QObject *parent = nullptr);

    void setRuns(const QVector<RunOutcome> &runs);
    const QVector<RunOutcome> &runs() const { return m_runs; }
    const QStringList &devices() const { return m_devices; }

    // The row of a figure (device = "" for run-wide figures); -1 when absent.
    int rowOf(Figure figure, const QString &device = {}) const;
    // The value of a figure for run `column`; NaN when unknown.
    double value(Figure figure, int column, const QString &device = {}) const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

private:
    struct Row
    {
        Figure figure;
        QString device;
    };
    double valueFor(const Row &row, const RunOutcome &run) const;

    QVector<RunOutcome> m_runs;
    QStringList m_devices;
    QVector<Row> m_rows;
};

// Charts of a RunComparisonModel: throughput, latency p50/p90, bubble
// (measured vs formula), per-stage time and peak memory per device, each a
// grouped bar chart with the runs as categories, plus the table.
class RunComparisonView : public QWidget
{
    Q_OBJECT
public:
    explicit RunComparisonView(RunComparisonModel *model, QWidget *parent = nullptr);
    QList<QChartView *> charts() const { return m_charts; }

private:
    void rebuild();

    RunComparisonModel *m_model;
    QLabel *m_hint;
    QTableView *m_table;
    QList<QChartView *> m_charts;
};

} // namespace sb::ui
