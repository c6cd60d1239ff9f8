#include "ui/run/timeline_model.h"

#include "core/runtime/run_summary.h"

#include <algorithm>

namespace sb::ui {

TimelineModel::TimelineModel(QObject *parent) : QAbstractTableModel(parent) {}

void TimelineModel::reset(const QStringList &stageDevices, const QVector<QColor> &colours,
                          int microbatches)
{
    beginResetModel();
    m_devices = stageDevices;
    m_places.clear();
    m_colours = colours;
    m_microbatches = std::max(1, microbatches);
    m_spans.clear();
    m_endMs = 0;
    endResetModel();
    emit changed();
}

void TimelineModel::setStagePlaces(const QStringList &places)
{
    m_places = places;
    emit changed();
}

QString TimelineModel::placeLabel(const QString &host, int rank)
{
    if (host.isEmpty())
        return {};
    return tr("%1 · rank %2").arg(host).arg(rank);
}

void TimelineModel::clear()
{
    reset({}, {}, 1);
}

void TimelineModel::appendSpans(const QVector<TimelineSpan> &spans)
{
    if (spans.isEmpty())
        return;
    beginInsertRows({}, int(m_spans.size()), int(m_spans.size() + spans.size() - 1));
    for (const TimelineSpan &span : spans) {
        m_spans.push_back(span);
        m_endMs = std::max(m_endMs, span.endMs);
    }
    endInsertRows();
    emit changed();
}

QVector<double> TimelineModel::busyMsPerStage() const
{
    QVector<double> busy(stageCount(), 0.0);
    for (const TimelineSpan &span : m_spans)
        if (span.stage >= 0 && span.stage < busy.size() && !span.collective)
            busy[span.stage] += span.endMs - span.startMs;
    return busy;
}

int TimelineModel::bottleneckStage() const
{
    const QVector<double> busy = busyMsPerStage();
    if (busy.isEmpty() || m_spans.isEmpty())
        return -1;
    return int(std::max_element(busy.begin(), busy.end()) - busy.begin());
}

double TimelineModel::measuredBubble() const
{
    if (m_spans.isEmpty() || stageCount() == 0)
        return 0;
    double start = m_spans.front().startMs;
    for (const TimelineSpan &span : m_spans)
        start = std::min(start, span.startMs);
    const double makespan = m_endMs - start;
    if (makespan <= 0)
        return 0;
    const QVector<double> busy = busyMsPerStage();
    return runtime::bubbleFraction(std::vector<double>(busy.begin(), busy.end()), makespan);
}

double TimelineModel::idealBubble() const
{
    return runtime::idealBubbleFraction(stageCount(), m_microbatches);
}

int TimelineModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_spans.size());
}

int TimelineModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant TimelineModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || role != Qt::DisplayRole)
        return {};
    const TimelineSpan &span = m_spans[index.row()];
    switch (index.column()) {
    case StageColumn:
        return span.stage;
    case DeviceColumn:
        return m_devices.value(span.stage);
    case MicrobatchColumn:
        return span.microbatch;
    case IterationColumn:
        return span.iteration;
    case StartColumn:
        return span.startMs;
    case EndColumn:
        return span.endMs;
    }
    return {};
}

QVariant TimelineModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char *names[] = {"Stage",     "Device",     "Micro-batch",
                                  "Iteration", "Start (ms)", "End (ms)"};
    return section >= 0 && section < ColumnCount ? tr(names[section]) : QVariant();
}

} // namespace sb::ui
