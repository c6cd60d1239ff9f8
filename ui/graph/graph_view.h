// The graph canvas: zoom (Ctrl+wheel, +/-, fit), rubber-band selection, and a
// minimap in the bottom-right corner that shows and moves the visible area.
#pragma once

#include <QGraphicsView>

namespace sb::ui {

class MiniMap;

class GraphView : public QGraphicsView
{
    Q_OBJECT
public:
    explicit GraphView(QWidget *parent = nullptr);

    void setGraphScene(QGraphicsScene *scene);
    void zoomBy(double factor);
    void zoomToFit();
    double zoom() const { return transform().m11(); }
    MiniMap *miniMap() const { return m_miniMap; }

signals:
    void viewportMoved();

protected:
    void wheelEvent(QWheelEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void scrollContentsBy(int dx, int dy) override;

private:
    void placeMiniMap();
    MiniMap *m_miniMap;
};

class MiniMap : public QGraphicsView
{
    Q_OBJECT
public:
    explicit MiniMap(GraphView *main);
    void refit();

protected:
    void drawForeground(QPainter *painter, const QRectF &rect) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;

private:
    GraphView *m_main;
};

} // namespace sb::ui
