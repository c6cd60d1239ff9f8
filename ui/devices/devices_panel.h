// The devices dock: local devices and what-if catalogue devices, each with its
// memory ledger bar and estimated stage time; nodes dropped on a device are
// assigned to it. Remote MPI hosts will be listed here as a third origin.
#pragma once

#include "ui/devices/device_list_model.h"

#include <QListView>
#include <QWidget>

class QLabel;
class QSpinBox;

namespace sb::ui {

class DevicesPanel : public QWidget
{
    Q_OBJECT
public:
    DevicesPanel(PlacementModel *placement, QWidget *parent = nullptr);

    QListView *view() const { return m_view; }
    DeviceListModel *model() const { return m_model; }

signals:
    void localDeviceCountChanged(int count);

private:
    void updateSummary();

    PlacementModel *m_placement;
    DeviceListModel *m_model;
    QListView *m_view;
    QLabel *m_summary;
    QSpinBox *m_localCount;
};

} // namespace sb::ui
