// Device swim lanes beside the graph: one lane per device of the plan, in the
// device's colour, with its id, node count, estimated stage time, memory used
// against capacity and its problems. Nodes, a selection or whole blocks dragged
// from the graph or the outline (the node mime type, ui/graph/node_mime.h) can
// be dropped on a lane to place them on that device.
//
// A thin view over the devices model (DeviceListModel): a drop goes through
// its dropMimeData, i.e. the same undoable placement command as a drop on the
// devices panel, and the lanes repaint whenever the model reports a change, so
// they follow every placement edit, undo and redo live.
#pragma once

#include <QAbstractItemModel>
#include <QPointer>
#include <QWidget>

namespace sb::ui {

class DeviceLanes : public QWidget
{
    Q_OBJECT
public:
    explicit DeviceLanes(QAbstractItemModel *devices, QWidget *parent = nullptr);

    int laneCount() const;
    // The lane under `pos` (widget coordinates), -1 when none.
    int laneAt(const QPoint &pos) const;
    QRect laneRect(int lane) const;
    // The lane a drag is hovering over (highlighted), -1 when none.
    int hoveredLane() const { return m_hovered; }
    // The text lines a lane shows (id, nodes and stage time, memory), for
    // tooltips and tests.
    QStringList laneLines(int lane) const;

    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

signals:
    // A drop placed nodes on lane `lane` (emitted after the model took them).
    void nodesDropped(int lane, int nodeCount);

protected:
    bool event(QEvent *event) override;
    void paintEvent(QPaintEvent *event) override;
    void dragEnterEvent(QDragEnterEvent *event) override;
    void dragMoveEvent(QDragMoveEvent *event) override;
    void dragLeaveEvent(QDragLeaveEvent *event) override;
    void dropEvent(QDropEvent *event) override;

private:
    int minimumLaneHeight() const;
    bool canDropOn(int lane, const QMimeData *data, Qt::DropAction action) const;
    void setHovered(int lane);
    void modelChanged();

    QPointer<QAbstractItemModel> m_model;
    int m_hovered = -1;
};

} // namespace sb::ui
