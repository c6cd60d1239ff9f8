// The drawn graph: one item per laid-out box (node or collapsed block), edges
// with shape labels, clusters for expanded blocks. Items read the placement
// model when painting, so placement changes only need a repaint: nodes take
// their device's colour, pinned nodes show a pin, nodes with problems get a
// red border and the reason as tooltip, cut edges are drawn thicker by bytes.
// Items paint less detail when zoomed out (level of detail).
#pragma once

#include "ui/graph/graph_layout.h"
#include "ui/graph/placement_model.h"

#include <QGraphicsItem>
#include <QGraphicsScene>

class QMenu;

namespace sb::ui {

class GraphScene;

class GraphBoxItem : public QGraphicsItem
{
public:
    GraphBoxItem(GraphScene *scene, int itemIndex);
    QRectF boundingRect() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;
    int itemIndex() const { return m_index; }
    const LayoutItem &layoutItem() const;
    QVector<graph::NodeId> nodes() const;

protected:
    void mousePressEvent(QGraphicsSceneMouseEvent *event) override;
    void mouseMoveEvent(QGraphicsSceneMouseEvent *event) override;
    void mouseDoubleClickEvent(QGraphicsSceneMouseEvent *event) override;
    void hoverEnterEvent(QGraphicsSceneHoverEvent *event) override;
    void contextMenuEvent(QGraphicsSceneContextMenuEvent *event) override;

private:
    GraphScene *m_scene;
    int m_index;
    QPointF m_pressPos;
};

class GraphEdgeItem : public QGraphicsItem
{
public:
    GraphEdgeItem(GraphScene *scene, int edgeIndex);
    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

private:
    GraphScene *m_scene;
    int m_index;
    QRectF m_bounds;
};

class GraphClusterItem : public QGraphicsItem
{
public:
    GraphClusterItem(GraphScene *scene, int clusterIndex);
    QRectF boundingRect() const override;
    void paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget) override;

protected:
    void mouseDoubleClickEvent(QGraphicsSceneMouseEvent *event) override;

private:
    GraphScene *m_scene;
    int m_index;
};

class GraphScene : public QGraphicsScene
{
    Q_OBJECT
public:
    GraphScene(LayoutResult layout, PlacementModel *placement, QObject *parent = nullptr);
    ~GraphScene() override;

    const LayoutResult &layout() const { return m_layout; }
    PlacementModel *placement() const { return m_placement; }
    GraphBoxItem *boxForNode(graph::NodeId node) const;
    // NodeIds of all selected boxes.
    QVector<graph::NodeId> selectedNodes() const;
    // Device colour (or grey) for a node; problems text.
    QColor nodeColour(graph::NodeId node) const;
    // The pin head of pinned nodes and the problem badge (at every zoom).
    static QColor pinColour();
    static QColor problemColour();
    // Per-edge "is cut" and drawn width, refreshed on placement changes.
    bool isCut(int edge) const { return m_cut[std::size_t(edge)]; }
    double edgeWidth(int edge) const;
    void setHighlighted(const QVector<int> &items);
    // The right-click menu for `nodes` (the selection, or the clicked box):
    // Assign to each device, Pin/Unpin, Expand/Collapse the block. Every entry
    // goes through the placement model's undoable commands.
    QMenu *makeContextMenu(const QVector<graph::NodeId> &nodes, int group, QWidget *parent);
    bool isHighlighted(int item) const;

signals:
    void toggleGroupRequested(int group);

private:
    void refreshPlacement();

    LayoutResult m_layout;
    PlacementModel *m_placement;
    std::vector<GraphBoxItem *> m_boxes;
    std::vector<bool> m_cut;
    std::vector<bool> m_highlighted;
    double m_maxCutBytes = 1;
};

} // namespace sb::ui
