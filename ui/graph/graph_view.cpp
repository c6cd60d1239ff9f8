#include "ui/graph/graph_view.h"

#include <QMouseEvent>
#include <QScrollBar>
#include <QWheelEvent>

namespace sb::ui {

GraphView::GraphView(QWidget *parent) : QGraphicsView(parent)
{
    setDragMode(QGraphicsView::RubberBandDrag);
    setRenderHint(QPainter::Antialiasing);
    setViewportUpdateMode(QGraphicsView::SmartViewportUpdate);
    setOptimizationFlags(QGraphicsView::DontSavePainterState);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setResizeAnchor(QGraphicsView::AnchorViewCenter);
    setBackgroundRole(QPalette::Base);
    m_miniMap = new MiniMap(this);
    placeMiniMap();
}

void GraphView::setGraphScene(QGraphicsScene *scene)
{
    setScene(scene);
    m_miniMap->setScene(scene);
    m_miniMap->setVisible(scene != nullptr);
    m_miniMap->refit();
}

void GraphView::zoomBy(double factor)
{
    const double next = std::clamp(zoom() * factor, 0.02, 4.0);
    const double applied = next / zoom();
    scale(applied, applied);
    m_miniMap->viewport()->update();
}

void GraphView::zoomToFit()
{
    if (!scene())
        return;
    QRectF rect = scene()->itemsBoundingRect();
    // Keep tall graphs readable: fit the width, at most 1:1, then go to the top.
    resetTransform();
    const double sx = viewport()->width() / std::max(1.0, rect.width() + 40);
    const double sy = viewport()->height() / std::max(1.0, rect.height() + 40);
    double s = std::min(1.0, std::max(std::min(sx, sy), std::min(sx, 1.0) * 0.999));
    s = std::max(s, 0.05);
    scale(s, s);
    centerOn(rect.center().x(), rect.top() + viewport()->height() / (2 * s) - 20);
    m_miniMap->viewport()->update();
}

void GraphView::wheelEvent(QWheelEvent *event)
{
    if (event->modifiers() & Qt::ControlModifier) {
        zoomBy(std::pow(1.0015, event->angleDelta().y()));
        event->accept();
        return;
    }
    QGraphicsView::wheelEvent(event);
}

void GraphView::resizeEvent(QResizeEvent *event)
{
    QGraphicsView::resizeEvent(event);
    placeMiniMap();
}

void GraphView::scrollContentsBy(int dx, int dy)
{
    QGraphicsView::scrollContentsBy(dx, dy);
    m_miniMap->viewport()->update();
    emit viewportMoved();
}

void GraphView::placeMiniMap()
{
    const QSize size(180, 220);
    m_miniMap->resize(size);
    m_miniMap->move(viewport()->width() - size.width() - 12,
                    viewport()->height() - size.height() - 12);
    m_miniMap->refit();
}

MiniMap::MiniMap(GraphView *main) : QGraphicsView(main->viewport()), m_main(main)
{
    setInteractive(false);
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    setFrameShape(QFrame::Box);
    setBackgroundRole(QPalette::Window);
    setRenderHint(QPainter::Antialiasing, false);
    setToolTip(tr("Minimap: click or drag to move the view"));
    setVisible(false);
}

void MiniMap::refit()
{
    if (scene())
        fitInView(scene()->sceneRect(), Qt::KeepAspectRatio);
}

void MiniMap::drawForeground(QPainter *painter, const QRectF &)
{
    const QRectF visible = m_main->mapToScene(m_main->viewport()->rect()).boundingRect();
    QColor fill = palette().color(QPalette::Highlight);
    fill.setAlpha(50);
    painter->setBrush(fill);
    painter->setPen(QPen(palette().color(QPalette::Highlight), 0));
    painter->drawRect(visible);
}

void MiniMap::mousePressEvent(QMouseEvent *event)
{
    m_main->centerOn(mapToScene(event->position().toPoint()));
    viewport()->update();
}

void MiniMap::mouseMoveEvent(QMouseEvent *event)
{
    if (event->buttons() & Qt::LeftButton) {
        m_main->centerOn(mapToScene(event->position().toPoint()));
        viewport()->update();
    }
}

void MiniMap::wheelEvent(QWheelEvent *event)
{
    event->accept();
}

} // namespace sb::ui
