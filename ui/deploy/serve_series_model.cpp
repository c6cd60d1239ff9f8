#include "ui/deploy/serve_series_model.h"

namespace sb::ui {

ServeSeriesModel::ServeSeriesModel(QObject *parent) : QAbstractTableModel(parent) {}

int ServeSeriesModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_samples.size());
}

int ServeSeriesModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

double ServeSeriesModel::value(int row, Column column) const
{
    const Sample &s = m_samples[static_cast<std::size_t>(row)];
    switch (column) {
    case Time:
        return s.time;
    case RequestsPerSecond:
        return s.snap.requestsPerSecond;
    case LatencyP50:
        return s.snap.latencyP50Ms;
    case LatencyP99:
        return s.snap.latencyP99Ms;
    case QueueDepth:
        return s.snap.queueDepth;
    case BatchSize:
        return s.snap.meanBatchSize;
    default:
        return 0;
    }
}

QVariant ServeSeriesModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount)
        return {};
    const double v = value(index.row(), static_cast<Column>(index.column()));
    if (role == Qt::DisplayRole)
        return index.column() == QueueDepth ? QString::number(v, 'f', 0)
                                            : QString::number(v, 'f', 2);
    if (role == Qt::UserRole)
        return v;
    if (role == Qt::TextAlignmentRole)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant ServeSeriesModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Time:
        return tr("Time (s)");
    case RequestsPerSecond:
        return tr("Requests/s");
    case LatencyP50:
        return tr("p50 (ms)");
    case LatencyP99:
        return tr("p99 (ms)");
    case QueueDepth:
        return tr("Queue");
    case BatchSize:
        return tr("Batch size");
    default:
        return {};
    }
}

void ServeSeriesModel::append(const serve::MetricsSnapshot &snapshot)
{
    if (static_cast<int>(m_samples.size()) >= m_capacity) {
        beginRemoveRows({}, 0, 0);
        m_samples.erase(m_samples.begin());
        endRemoveRows();
    }
    const int row = static_cast<int>(m_samples.size());
    beginInsertRows({}, row, row);
    m_samples.push_back({snapshot.uptimeSeconds, snapshot});
    endInsertRows();
}

void ServeSeriesModel::clear()
{
    beginResetModel();
    m_samples.clear();
    endResetModel();
}

MonitorWindowModel::MonitorWindowModel(QObject *parent) : QAbstractTableModel(parent) {}

int MonitorWindowModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : static_cast<int>(m_windows.size());
}

int MonitorWindowModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant MonitorWindowModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount() || index.column() >= ColumnCount)
        return {};
    const auto &w = m_windows[static_cast<std::size_t>(index.row())];
    auto optional = [&](const std::optional<double> &v) -> QVariant {
        if (role == Qt::UserRole)
            return v ? QVariant(*v) : QVariant();
        return v ? QString::number(*v, 'f', 3) : QStringLiteral("–");
    };
    if (role != Qt::DisplayRole && role != Qt::UserRole)
        return {};
    switch (index.column()) {
    case Window:
        return QVariant::fromValue<qlonglong>(w.id);
    case Version:
        return QString::fromStdString(w.version);
    case Rows:
        return QVariant::fromValue<qlonglong>(w.rows);
    case ShareDrifted:
        return optional(w.shareDrifted);
    case DatasetDrift:
        return w.datasetDrift ? tr("yes") : tr("no");
    case Estimated:
        return optional(w.estimatedAccuracy);
    case Realized:
        return optional(w.realizedAccuracy);
    default:
        return {};
    }
}

QVariant MonitorWindowModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case Window:
        return tr("Window");
    case Version:
        return tr("Version");
    case Rows:
        return tr("Rows");
    case ShareDrifted:
        return tr("Drift share");
    case DatasetDrift:
        return tr("Dataset drift");
    case Estimated:
        return tr("Est. accuracy (CBPE)");
    case Realized:
        return tr("Realized accuracy");
    default:
        return {};
    }
}

void MonitorWindowModel::setWindows(std::vector<store::MonitorWindowRecord> windows)
{
    beginResetModel();
    m_windows = std::move(windows);
    endResetModel();
}

} // namespace sb::ui
