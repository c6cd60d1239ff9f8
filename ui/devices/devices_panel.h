// The devices dock: local devices and what-if catalogue devices, each with its
// memory ledger bar and estimated stage time; nodes dropped on a device are
// assigned to it. Remote MPI hosts (Hosts button) add their probed devices,
// grouped by host, which take drops like local ones.
#pragma once

#include "ui/devices/device_list_model.h"
#include "ui/devices/hosts_model.h"

#include <QListView>
#include <QWidget>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace sb::ui {

// The QSettings key under which the dims last entered for a model file are
// kept (the main window binds them again when that file is opened).
QString modelDimsSettingsKey(const QString &modelPath);

class DevicesPanel : public QWidget
{
    Q_OBJECT
public:
    DevicesPanel(PlacementModel *placement, QWidget *parent = nullptr);

    QListView *view() const { return m_view; }
    DeviceListModel *model() const { return m_model; }
    // "seq=64, heads=8": symbolic dims bound for the estimates (the plan's
    // "dims"); applied when editing finishes, errors shown below the field.
    QLineEdit *dimsEdit() const { return m_dims; }
    QString dimsStatus() const;
    // Where the bound dims came from ("Bound from the model's sample input
    // decoder_input.npy."), shown below the field; empty when unknown.
    QString dimsSource() const;

    // What-if devices: `count` devices of catalogue model `name` appended
    // (ids continue after the highest NAME:i present); returns how many.
    int addWhatIfDevices(const QString &name, int count);
    // Remote hosts (MPI): adds them (names "node1:2 node2", or a hostfile when
    // `hostfile` is set) and probes them off the GUI thread; their devices
    // join the list grouped by host when the probe answers. Returns the
    // parse error, or an empty string.
    QString addHosts(const QString &text, bool hostfile = false);
    HostsModel *hostsModel() const { return m_hosts; }
    QListView *hostsView() const { return m_hostsView; }

    // Removes a what-if or remote device (local ones follow the count box);
    // its nodes are left without a device, which the plan then reports.
    bool removeDevice(int row);

signals:
    void localDeviceCountChanged(int count);
    void message(const QString &text);

private:
    void updateSummary();
    void applyDimsText();
    void refreshDims();
    void showDeviceMenu(const QPoint &pos);
    void addProbedDevices(const QVector<DeviceInfo> &devices);

    PlacementModel *m_placement;
    DeviceListModel *m_model;
    QListView *m_view;
    QLabel *m_summary;
    QSpinBox *m_localCount;
    QWidget *m_dimsRow;
    QLineEdit *m_dims;
    QLabel *m_dimsStatus;
    QLabel *m_dimsSource;
    HostsModel *m_hosts;
    QListView *m_hostsView;
};

} // namespace sb::ui
