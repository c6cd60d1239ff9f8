// The devices dock: local devices and what-if catalogue devices, each with its
// memory ledger bar and estimated stage time; nodes dropped on a device are
// assigned to it. Remote MPI hosts will be listed here as a third origin.
#pragma once

#include "ui/devices/device_list_model.h"

#include <QListView>
#include <QWidget>

class QLabel;
class QLineEdit;
class QSpinBox;

namespace sb::ui {

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

    // What-if devices: `count` devices of catalogue model `name` appended
    // (ids continue after the highest NAME:i present); returns how many.
    int addWhatIfDevices(const QString &name, int count);
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

    PlacementModel *m_placement;
    DeviceListModel *m_model;
    QListView *m_view;
    QLabel *m_summary;
    QSpinBox *m_localCount;
    QWidget *m_dimsRow;
    QLineEdit *m_dims;
    QLabel *m_dimsStatus;
};

} // namespace sb::ui
