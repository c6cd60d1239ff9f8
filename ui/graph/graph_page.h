// The centre page: the laid-out graph with search (Ctrl+F by name, op type or
// shape), expand/collapse of blocks, zoom, the minimap, and the device swim
// lanes beside the graph (drop targets that place nodes on a device). Layouts run on the
// TaskRunner; the page keeps showing the previous scene until the new one is
// ready, and ignores results of superseded layouts.
#pragma once

#include "ui/common/page.h"
#include "ui/common/task_runner.h"
#include "ui/graph/graph_scene.h"
#include "ui/graph/graph_view.h"
#include "ui/graph/placement_model.h"

#include <QLabel>
#include <QLineEdit>
#include <QWidget>

class QScrollArea;

#include <memory>

namespace sb::ui {

class DeviceLanes;
class DeviceListModel;

class GraphPage : public QWidget, public Page
{
    Q_OBJECT
public:
    // Page
    QString title() const override { return tr("&Graph"); }
    QWidget *widget() override { return this; }

    GraphPage(PlacementModel *placement, TaskRunner *tasks, QWidget *parent = nullptr);

    // Lays out the placement model's graph with every block collapsed.
    void reloadModel();
    void toggleGroup(int group);
    void setAllExpanded(bool expanded);
    bool isExpanded(int group) const;

    void showSearch();
    bool isSearchVisible() const;
    // Returns the number of matches and shows the first.
    int find(const QString &text);
    void findNext();
    void selectNodes(const QVector<graph::NodeId> &nodes);

    GraphView *view() const { return m_view; }
    GraphScene *scene() const { return m_scene.get(); }
    DeviceLanes *lanes() const { return m_lanes; }
    void setLanesVisible(bool visible);
    bool lanesVisible() const;
    bool isLayoutPending() const { return m_pendingLayout != 0; }

signals:
    void selectionChanged(const QVector<graph::NodeId> &nodes);
    void layoutFinished(double graphvizSeconds, int items);
    void errorOccurred(const QString &message);

private:
    void startLayout();
    void installScene(LayoutResult layout);
    void showMatch(int index);

    PlacementModel *m_placement;
    TaskRunner *m_tasks;
    GraphView *m_view;
    DeviceListModel *m_laneModel;
    DeviceLanes *m_lanes;
    QScrollArea *m_lanesArea;
    QWidget *m_searchBar;
    QLineEdit *m_searchEdit;
    QLabel *m_searchStatus;
    QLabel *m_hint;
    std::unique_ptr<GraphScene> m_scene;
    std::vector<bool> m_expanded;
    QVector<graph::NodeId> m_matches;
    int m_matchIndex = -1;
    int m_layoutGeneration = 0;
    int m_pendingLayout = 0;
    QVector<graph::NodeId> m_pendingSelection;
};

} // namespace sb::ui
