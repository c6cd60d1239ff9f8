// The Deployments page's data: live serving samples (one row per refresh:
// requests/s, latency p50/p99, queue depth, mean batch size) and the
// monitoring windows from the store (drift share, estimated and realized
// accuracy). Plain table models: the charts and tables are views of them.
#pragma once

#include "core/serve/metrics.h"
#include "core/store/store.h"

#include <QAbstractTableModel>

#include <vector>

namespace sb::ui {

class ServeSeriesModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Time,
        RequestsPerSecond,
        LatencyP50,
        LatencyP99,
        QueueDepth,
        BatchSize,
        ColumnCount
    };
    explicit ServeSeriesModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    // Appends a sample (keeps the last `capacity` samples).
    void append(const serve::MetricsSnapshot &snapshot);
    void clear();
    double value(int row, Column column) const;
    int capacity() const { return m_capacity; }

private:
    struct Sample
    {
        double time = 0;
        serve::MetricsSnapshot snap;
    };
    std::vector<Sample> m_samples;
    int m_capacity = 300;
};

class MonitorWindowModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        Window,
        Version,
        Rows,
        ShareDrifted,
        DatasetDrift,
        Estimated,
        Realized,
        ColumnCount
    };
    explicit MonitorWindowModel(QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation,
                        int role = Qt::DisplayRole) const override;

    void setWindows(std::vector<store::MonitorWindowRecord> windows);
    const std::vector<store::MonitorWindowRecord> &windows() const { return m_windows; }

private:
    std::vector<store::MonitorWindowRecord> m_windows;
};

} // namespace sb::ui
