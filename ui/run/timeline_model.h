// A run's timeline: one span per (stage, micro-batch) with start/end times,
// as the pipeline runtime reports them. Rows are spans (columns: stage,
// device, micro-batch, iteration, start ms, end ms). Derived figures: stage
// busy time, the bottleneck stage, the measured bubble fraction and the ideal
// (p-1)/(m+p-1).
#pragma once

#include <QAbstractTableModel>
#include <QColor>
#include <QStringList>
#include <QVector>

namespace sb::ui {

struct TimelineSpan
{
    int stage = 0;
    int microbatch = 0;
    int iteration = 0;
    double startMs = 0;
    double endMs = 0;
    // A tensor-parallel collective (all-reduce / all-gather) inside the
    // stage's compute: drawn over it, not counted as more busy time.
    bool collective = false;
};

class TimelineModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        StageColumn,
        DeviceColumn,
        MicrobatchColumn,
        IterationColumn,
        StartColumn,
        EndColumn,
        ColumnCount
    };

    explicit TimelineModel(QObject *parent = nullptr);

    // Starts a new run with these stages (device id and colour per stage).
    void reset(const QStringList &stageDevices, const QVector<QColor> &colours, int microbatches);
    void appendSpans(const QVector<TimelineSpan> &spans);
    void clear();

    const QVector<TimelineSpan> &spans() const { return m_spans; }
    int stageCount() const { return int(m_devices.size()); }
    int microbatches() const { return m_microbatches; }
    QString stageDevice(int stage) const { return m_devices.value(stage); }
    // Where each stage ran ("localhost · rank 1"), shown on its lane; set
    // after a run (kept until the next reset).
    void setStagePlaces(const QStringList &places);
    QString stagePlace(int stage) const { return m_places.value(stage); }
    static QString placeLabel(const QString &host, int rank);
    QColor stageColour(int stage) const { return m_colours.value(stage); }
    double endMs() const { return m_endMs; }
    QVector<double> busyMsPerStage() const;
    // The stage with the most busy time; -1 when empty.
    int bottleneckStage() const;
    // 1 - busy / (stages * makespan), over the whole run; 0 when empty.
    double measuredBubble() const;
    // (p-1)/(m+p-1) for p stages and m micro-batches.
    double idealBubble() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

signals:
    void changed();

private:
    QStringList m_devices;
    QStringList m_places;
    QVector<QColor> m_colours;
    QVector<TimelineSpan> m_spans;
    int m_microbatches = 1;
    double m_endMs = 0;
};

} // namespace sb::ui
