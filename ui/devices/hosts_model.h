// Hosts for remote devices (MPI): names typed by the user or read from an Open
// MPI hostfile, each probed through mpirun (shardbench-worker --probe) on a
// worker thread. Probed devices ("HOST/cpu:0") are handed to the devices
// panel grouped by host; runs that use them go through the MPI launcher.
#pragma once

#include "core/plan/mpi_run.h"
#include "ui/common/task_runner.h"
#include "ui/devices/device_info.h"

#include <QAbstractListModel>
#include <QVector>

#include <memory>

namespace sb::ui {

class HostsModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role
    {
        HostRole = Qt::UserRole + 1,
        SlotsRole,
        StateRole, // "new", "probing", "probed", "failed"
        DeviceCountRole,
        ErrorRole,
    };

    explicit HostsModel(QObject *parent = nullptr);
    ~HostsModel() override;

    // "node1:2, node2" (commas, spaces or new lines). Returns an error text
    // (the model is then unchanged) or an empty string. Known hosts are skipped.
    QString addHosts(const QString &text);
    QString addHostfile(const QString &path);
    bool removeHost(int row);
    void setWorkerPath(const QString &path) { m_worker = path; }
    void setCpuDevicesPerHost(int count) { m_cpuDevices = count; }

    // Probes the hosts not probed yet, off the GUI thread; probed() or
    // probeFailed() follow (queued to this object's thread).
    void probe();
    bool isProbing() const { return m_probing; }
    // Every probed device, grouped by host in host order.
    QVector<DeviceInfo> devices() const;

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;

signals:
    void probed(const QVector<sb::ui::DeviceInfo> &devices);
    void probeFailed(const QString &message);

private:
    struct Host
    {
        QString name;
        int slotCount = 1;
        QString state = QStringLiteral("new");
        QString error;
        QVector<DeviceInfo> devices;
    };
    QString addParsed(const std::vector<plan::HostSlots> &hosts);
    void finishProbe(const QStringList &names, const Result<std::vector<plan::HostProbe>> &result);

    QVector<Host> m_hosts;
    QString m_worker;
    int m_cpuDevices = 2;
    bool m_probing = false;
    // Last member: destroyed first, it cancels a running probe (its mpirun)
    // and waits for it.
    TaskRunner m_tasks;
};

} // namespace sb::ui
