#include "ui/graph/graph_scene.h"

#include "ui/graph/node_mime.h"

#include <QApplication>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDrag>
#include <QGraphicsSceneContextMenuEvent>
#include <QGraphicsSceneMouseEvent>
#include <QGraphicsView>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMessageBox>
#include <QPainter>
#include <QPointer>
#include <QStyleOptionGraphicsItem>
#include <QToolTip>
#include <QVBoxLayout>

#include <cmath>
#include <set>

namespace sb::ui {

namespace {

const QColor kUnassigned(0xb8, 0xbc, 0xc4);
const QColor kProblem(0xd0, 0x30, 0x30);
const QColor kHighlight(0xff, 0xc1, 0x07);

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness() < 128;
}

} // namespace

// ---------------------------------------------------------------- boxes

GraphBoxItem::GraphBoxItem(GraphScene *scene, int itemIndex) : m_scene(scene), m_index(itemIndex)
{
    setFlags(ItemIsSelectable);
    setAcceptHoverEvents(true);
    setPos(layoutItem().rect.topLeft());
    setZValue(2);
}

const LayoutItem &GraphBoxItem::layoutItem() const
{
    return m_scene->layout().items[std::size_t(m_index)];
}

QVector<graph::NodeId> GraphBoxItem::nodes() const
{
    const LayoutItem &item = layoutItem();
    QVector<graph::NodeId> nodes;
    if (item.node != graph::kNoNode)
        nodes.push_back(item.node);
    else
        for (graph::NodeId n : m_scene->layout().model->groups[std::size_t(item.group)])
            nodes.push_back(n);
    return nodes;
}

QRectF GraphBoxItem::boundingRect() const
{
    return QRectF(QPointF(0, 0), layoutItem().rect.size()).adjusted(-3, -3, 3, 3);
}

// "cpu:0 + cpu:1" when a node of the box is split across a tensor-parallel group.
static QString groupText(const PlacementModel *placement, const QVector<graph::NodeId> &nodes)
{
    for (graph::NodeId n : nodes) {
        const QVector<int> group = placement->tensorParallelGroup(n);
        if (group.size() < 2)
            continue;
        QStringList ids;
        for (int d : group)
            ids << (d >= 0 ? placement->devices()[d].id : QStringLiteral("?"));
        return ids.join(QStringLiteral(" + "));
    }
    return {};
}

void GraphBoxItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option, QWidget *widget)
{
    const LayoutItem &item = layoutItem();
    const auto &model = *m_scene->layout().model;
    const QRectF rect(QPointF(0, 0), item.rect.size());
    const QVector<graph::NodeId> nodes = this->nodes();
    const PlacementModel *placement = m_scene->placement();
    const auto &problems = placement->report().nodeProblems;

    // Colour: the device's, or stripes of devices for a mixed block.
    std::set<int> devices;
    bool anyPinned = false;
    QString problem;
    for (graph::NodeId n : nodes) {
        devices.insert(placement->deviceOf(n));
        anyPinned = anyPinned || placement->isPinned(n);
        if (problem.isEmpty() && std::size_t(n) < problems.size())
            problem = problems[n];
    }
    const QPalette palette = widget ? widget->palette() : QApplication::palette();
    const bool dark = isDark(palette);
    const QColor base = m_scene->nodeColour(nodes.front());
    const QColor fill = dark ? base.darker(160) : base.lighter(165);
    const QColor border =
        !problem.isEmpty() ? kProblem : (dark ? base.lighter(130) : base.darker(130));
    const double lod = option->levelOfDetailFromTransform(painter->worldTransform());

    painter->setRenderHint(QPainter::Antialiasing, lod > 0.3);
    QPen pen(border, !problem.isEmpty() ? 3 : (isSelected() ? 2.5 : 1.2));
    if (isSelected())
        pen.setColor(palette.color(QPalette::Highlight));
    painter->setPen(pen);
    painter->setBrush(fill);
    const bool block = item.node == graph::kNoNode;
    if (devices.size() > 1) {
        // Mixed block: equal vertical bands per device.
        painter->setPen(Qt::NoPen);
        const double band = rect.width() / double(devices.size());
        int i = 0;
        for (int d : devices) {
            const QColor c = d >= 0 ? placement->devices()[d].colour : kUnassigned;
            painter->setBrush(dark ? c.darker(160) : c.lighter(165));
            painter->drawRect(QRectF(rect.left() + band * i, rect.top(), band, rect.height()));
            ++i;
        }
        painter->setBrush(Qt::NoBrush);
        painter->setPen(pen);
    }
    painter->drawRoundedRect(rect, block ? 8 : 5, block ? 8 : 5);
    if (m_scene->isHighlighted(m_index)) {
        painter->setPen(QPen(kHighlight, 4));
        painter->setBrush(Qt::NoBrush);
        painter->drawRoundedRect(rect.adjusted(-2, -2, 2, 2), 8, 8);
    }
    if (block) {
        // A stacked look marks a collapsed block.
        painter->setPen(QPen(border, 1));
        painter->drawLine(QPointF(rect.left() + 6, rect.bottom() + 2),
                          QPointF(rect.right() - 6, rect.bottom() + 2));
    }
    if (lod < 0.35) {
        // Zoomed out: colour and shape, and the pin and problem marks drawn
        // about 3 px on screen so they stay visible (pin right, problem left).
        const double radius = std::min(rect.height() / 2 - 4, 3.0 / std::max(lod, 0.01));
        painter->setPen(Qt::NoPen);
        if (anyPinned) {
            painter->setBrush(GraphScene::pinColour());
            painter->drawEllipse(QPointF(rect.right() - radius - 4, rect.center().y()), radius,
                                 radius);
        }
        if (!problem.isEmpty()) {
            painter->setBrush(GraphScene::problemColour());
            painter->drawEllipse(QPointF(rect.left() + radius + 4, rect.center().y()), radius,
                                 radius);
        }
        return;
    }

    const QColor text = palette.color(QPalette::Text);
    QFont font = painter->font();
    font.setPointSizeF(9);
    font.setBold(true);
    painter->setFont(font);
    painter->setPen(text);
    const QFontMetricsF fm(font);
    const QRectF inner = rect.adjusted(8, 4, -22, -4);
    QString title, subtitle;
    if (block) {
        title = QString::fromStdString(model.groupNames[std::size_t(item.group)]);
        subtitle = QObject::tr("▸ %n nodes", nullptr, int(nodes.size()));
    } else if (item.bodyNode) {
        title = QString::fromStdString(item.bodyNode->opType);
        subtitle =
            QObject::tr("%1 › %2").arg(item.bodyName, QString::fromStdString(item.bodyNode->name));
    } else {
        const auto &node = model.graph->node(item.node);
        title = QString::fromStdString(node.opType);
        subtitle = QString::fromStdString(node.name);
    }
    const QString group = groupText(placement, nodes);
    if (!group.isEmpty()) // a tensor-parallel block shows its group
        subtitle = QObject::tr("split: %1").arg(group);
    painter->drawText(QRectF(inner.left(), inner.top(), inner.width(), inner.height() / 2),
                      Qt::AlignLeft | Qt::AlignVCenter,
                      fm.elidedText(title, Qt::ElideMiddle, inner.width()));
    if (lod > 0.6) {
        font.setBold(false);
        font.setPointSizeF(8);
        painter->setFont(font);
        painter->setPen(palette.color(QPalette::PlaceholderText));
        const QFontMetricsF small(font);
        painter->drawText(
            QRectF(inner.left(), inner.center().y(), inner.width(), inner.height() / 2),
            Qt::AlignLeft | Qt::AlignVCenter,
            small.elidedText(subtitle, Qt::ElideMiddle, inner.width()));
    }
    if (anyPinned) {
        // A pin: a round head and a needle, top right.
        const QPointF head(rect.right() - 10, rect.top() + 10);
        painter->setPen(QPen(text, 1.5));
        painter->drawLine(head, head + QPointF(-5, 9));
        painter->setBrush(GraphScene::pinColour());
        painter->drawEllipse(head, 4, 4);
    }
    if (!problem.isEmpty()) {
        painter->setPen(Qt::NoPen);
        painter->setBrush(kProblem);
        const QPointF mark(rect.right() - 10, rect.bottom() - 10);
        painter->drawEllipse(mark, 6, 6);
        painter->setPen(Qt::white);
        font.setBold(true);
        painter->setFont(font);
        painter->drawText(QRectF(mark.x() - 6, mark.y() - 7, 12, 14), Qt::AlignCenter, "!");
    }
}

void GraphBoxItem::hoverEnterEvent(QGraphicsSceneHoverEvent *event)
{
    const LayoutItem &item = layoutItem();
    const auto &model = *m_scene->layout().model;
    const auto &problems = m_scene->placement()->report().nodeProblems;
    QString tip;
    if (item.node == graph::kNoNode) {
        tip = QObject::tr("<b>%1</b><br>%n nodes — double-click to expand", nullptr,
                          int(model.groups[std::size_t(item.group)].size()))
                  .arg(QString::fromStdString(model.groupNames[std::size_t(item.group)])
                           .toHtmlEscaped());
    } else if (item.bodyNode) {
        tip = QObject::tr("<b>%1</b> (%2)<br>in %3 of %4 — runs where %4 is placed")
                  .arg(QString::fromStdString(item.bodyNode->name).toHtmlEscaped(),
                       QString::fromStdString(item.bodyNode->opType), item.bodyName,
                       QString::fromStdString(model.graph->node(item.node).name).toHtmlEscaped());
    } else {
        const auto &node = model.graph->node(item.node);
        tip = QStringLiteral("<b>%1</b> (%2)<br>%3")
                  .arg(QString::fromStdString(node.name).toHtmlEscaped(),
                       QString::fromStdString(node.opType), model.shapeText(item.node));
    }
    if (const QString group = groupText(m_scene->placement(), nodes()); !group.isEmpty())
        tip += QObject::tr("<br>split across %1 (tensor parallel)").arg(group.toHtmlEscaped());
    for (graph::NodeId n : nodes())
        if (std::size_t(n) < problems.size() && !problems[n].isEmpty()) {
            tip += "<br><font color='#d03030'>⚠ " + problems[n].toHtmlEscaped() + "</font>";
            break;
        }
    setToolTip(tip);
    QGraphicsItem::hoverEnterEvent(event);
}

void GraphBoxItem::contextMenuEvent(QGraphicsSceneContextMenuEvent *event)
{
    if (!isSelected()) {
        m_scene->clearSelection();
        setSelected(true);
    }
    QMenu *menu =
        m_scene->makeContextMenu(m_scene->selectedNodes(), layoutItem().group, event->widget());
    menu->exec(event->screenPos());
    delete menu;
    event->accept();
}

void GraphBoxItem::mousePressEvent(QGraphicsSceneMouseEvent *event)
{
    m_pressPos = event->screenPos();
    QGraphicsItem::mousePressEvent(event);
}

void GraphBoxItem::mouseMoveEvent(QGraphicsSceneMouseEvent *event)
{
    if (!(event->buttons() & Qt::LeftButton) ||
        (event->screenPos() - m_pressPos).manhattanLength() < QApplication::startDragDistance())
        return;
    // Drag the selection if this box is part of it, else this box alone.
    QVector<graph::NodeId> nodes = isSelected() ? m_scene->selectedNodes() : this->nodes();
    if (nodes.isEmpty())
        return;
    auto *drag = new QDrag(event->widget());
    drag->setMimeData(makeNodeMimeData(nodes));
    QPixmap pixmap(140, 26);
    pixmap.fill(Qt::transparent);
    {
        QPainter p(&pixmap);
        p.setRenderHint(QPainter::Antialiasing);
        p.setBrush(QColor(0x4e, 0x79, 0xa7));
        p.setPen(Qt::NoPen);
        p.drawRoundedRect(pixmap.rect(), 6, 6);
        p.setPen(Qt::white);
        p.drawText(pixmap.rect(), Qt::AlignCenter,
                   QObject::tr("%n node(s)", nullptr, int(nodes.size())));
    }
    drag->setPixmap(pixmap);
    drag->exec(Qt::CopyAction | Qt::MoveAction, Qt::CopyAction);
}

void GraphBoxItem::mouseDoubleClickEvent(QGraphicsSceneMouseEvent *event)
{
    const LayoutItem &item = layoutItem();
    if (m_scene->layout().model->isExpandable(item.group))
        emit m_scene->toggleGroupRequested(item.group);
    event->accept();
}

// ---------------------------------------------------------------- edges

GraphEdgeItem::GraphEdgeItem(GraphScene *scene, int edgeIndex) : m_scene(scene), m_index(edgeIndex)
{
    const LayoutEdge &edge = scene->layout().edges[std::size_t(edgeIndex)];
    m_bounds = edge.path.boundingRect().adjusted(-12, -12, 12, 12);
    m_bounds = m_bounds.united(QRectF(edge.labelPos, QSizeF(140, 16)));
    setZValue(1);
}

QRectF GraphEdgeItem::boundingRect() const
{
    return m_bounds;
}

QPainterPath GraphEdgeItem::shape() const
{
    QPainterPathStroker stroker;
    stroker.setWidth(6);
    return stroker.createStroke(m_scene->layout().edges[std::size_t(m_index)].path);
}

void GraphEdgeItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *option,
                          QWidget *widget)
{
    const LayoutEdge &edge = m_scene->layout().edges[std::size_t(m_index)];
    const double lod = option->levelOfDetailFromTransform(painter->worldTransform());
    const QPalette palette = widget ? widget->palette() : QApplication::palette();
    const bool cut = m_scene->isCut(m_index);
    QColor colour = cut ? QColor(0xd9, 0x5f, 0x0e) : palette.color(QPalette::Mid);
    painter->setRenderHint(QPainter::Antialiasing, lod > 0.3);
    painter->setPen(QPen(colour, m_scene->edgeWidth(m_index), Qt::SolidLine, Qt::RoundCap));
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(edge.path);

    // Arrow head at the end, along the last segment.
    const QPointF end = edge.path.pointAtPercent(1.0);
    const double a = qDegreesToRadians(edge.path.angleAtPercent(0.99));
    const QPointF dir(std::cos(a), -std::sin(a));
    const QPointF normal(-dir.y(), dir.x());
    const double size = 7 + m_scene->edgeWidth(m_index);
    QPolygonF head;
    head << end << end - dir * size + normal * size * 0.45
         << end - dir * size - normal * size * 0.45;
    painter->setPen(Qt::NoPen);
    painter->setBrush(colour);
    painter->drawPolygon(head);

    if (lod > 0.6 && !edge.label.isEmpty()) {
        QFont font = painter->font();
        font.setPointSizeF(7.5);
        painter->setFont(font);
        painter->setPen(cut ? colour : palette.color(QPalette::PlaceholderText));
        QString label = edge.label;
        if (cut)
            label += QStringLiteral("  ·  ") + formatBytes(double(edge.bytes));
        painter->drawText(edge.labelPos + QPointF(6, 4), label);
    }
}

// ---------------------------------------------------------------- clusters

GraphClusterItem::GraphClusterItem(GraphScene *scene, int clusterIndex)
    : m_scene(scene), m_index(clusterIndex)
{
    setZValue(0);
}

QRectF GraphClusterItem::boundingRect() const
{
    return m_scene->layout().clusters[std::size_t(m_index)].rect.adjusted(-2, -2, 2, 2);
}

void GraphClusterItem::paint(QPainter *painter, const QStyleOptionGraphicsItem *, QWidget *widget)
{
    const LayoutCluster &cluster = m_scene->layout().clusters[std::size_t(m_index)];
    const QPalette palette = widget ? widget->palette() : QApplication::palette();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setPen(QPen(palette.color(QPalette::Mid), 1, Qt::DashLine));
    painter->setBrush(palette.color(QPalette::AlternateBase));
    painter->drawRoundedRect(cluster.rect, 10, 10);
    QFont font = painter->font();
    font.setPointSizeF(9);
    font.setBold(true);
    painter->setFont(font);
    painter->setPen(palette.color(QPalette::Text));
    painter->drawText(cluster.rect.adjusted(10, 4, -10, 0), Qt::AlignTop | Qt::AlignLeft,
                      "▾ " + QString::fromStdString(
                                 m_scene->layout().model->groupNames[std::size_t(cluster.group)]));
}

void GraphClusterItem::mouseDoubleClickEvent(QGraphicsSceneMouseEvent *event)
{
    emit m_scene->toggleGroupRequested(m_scene->layout().clusters[std::size_t(m_index)].group);
    event->accept();
}

// ---------------------------------------------------------------- scene

GraphScene::GraphScene(LayoutResult layout, PlacementModel *placement, QObject *parent)
    : QGraphicsScene(parent), m_layout(std::move(layout)), m_placement(placement)
{
    setItemIndexMethod(QGraphicsScene::BspTreeIndex);
    setSceneRect(m_layout.bounds);
    for (std::size_t c = 0; c < m_layout.clusters.size(); ++c)
        addItem(new GraphClusterItem(this, int(c)));
    for (std::size_t e = 0; e < m_layout.edges.size(); ++e)
        addItem(new GraphEdgeItem(this, int(e)));
    m_boxes.reserve(m_layout.items.size());
    for (std::size_t i = 0; i < m_layout.items.size(); ++i) {
        auto *box = new GraphBoxItem(this, int(i));
        m_boxes.push_back(box);
        addItem(box);
    }
    m_highlighted.assign(m_layout.items.size(), false);
    refreshPlacement();
    connect(placement, &PlacementModel::placementChanged, this, &GraphScene::refreshPlacement);
}

GraphScene::~GraphScene()
{
    // Items deselect while being destroyed; nobody may react to that.
    blockSignals(true);
    clear();
}

GraphBoxItem *GraphScene::boxForNode(graph::NodeId node) const
{
    if (node < 0 || std::size_t(node) >= m_layout.itemOfNode.size())
        return nullptr;
    return m_boxes[std::size_t(m_layout.itemOfNode[std::size_t(node)])];
}

QVector<graph::NodeId> GraphScene::selectedNodes() const
{
    QVector<graph::NodeId> nodes;
    for (GraphBoxItem *box : m_boxes)
        if (box->isSelected())
            nodes += box->nodes();
    return nodes;
}

QColor GraphScene::pinColour()
{
    return QColor(0xe3, 0x3b, 0x5c);
}

QColor GraphScene::problemColour()
{
    return kProblem;
}

QColor GraphScene::nodeColour(graph::NodeId node) const
{
    const int device = m_placement->deviceOf(node);
    return device >= 0 && device < m_placement->devices().size()
               ? m_placement->devices()[device].colour
               : kUnassigned;
}

double GraphScene::edgeWidth(int edge) const
{
    if (!m_cut[std::size_t(edge)])
        return 1.2;
    // Cut edges: 2.5 px up to 9 px, by activation bytes on a log scale.
    const double bytes = double(m_layout.edges[std::size_t(edge)].bytes);
    const double t = std::log1p(bytes) / std::log1p(m_maxCutBytes);
    return 2.5 + 6.5 * std::clamp(t, 0.0, 1.0);
}

static QVector<int> chooseSplitDevices(PlacementModel *placement,
                                       const QVector<graph::NodeId> &nodes)
{
    QDialog dialog;
    dialog.setWindowTitle(QObject::tr("Split across devices"));
    auto *layout = new QVBoxLayout(&dialog);
    layout->addWidget(new QLabel(
        QObject::tr("Split %n node(s) across the checked devices (the first checked one runs "
                    "the stage; MatMul/Gemm weights are divided between them):",
                    nullptr, int(nodes.size())),
        &dialog));
    auto *list = new QListWidget(&dialog);
    const int current = nodes.isEmpty() ? -1 : placement->deviceOf(nodes.front());
    QVector<int> group =
        nodes.isEmpty() ? QVector<int>{} : placement->tensorParallelGroup(nodes.front());
    for (int d = 0; d < placement->devices().size(); ++d) {
        auto *item = new QListWidgetItem(placement->devices()[d].id, list);
        item->setFlags(item->flags() | Qt::ItemIsUserCheckable);
        const bool checked =
            group.isEmpty() ? (d == current || d == current + 1) : group.contains(d);
        item->setCheckState(checked ? Qt::Checked : Qt::Unchecked);
    }
    layout->addWidget(list);
    auto *buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return {};
    QVector<int> chosen;
    for (int d = 0; d < list->count(); ++d)
        if (list->item(d)->checkState() == Qt::Checked)
            chosen << d;
    return chosen;
}

QMenu *GraphScene::makeContextMenu(const QVector<graph::NodeId> &nodes, int group, QWidget *parent)
{
    auto *menu = new QMenu(parent);
    QPointer<PlacementModel> placement(m_placement);
    auto *assign = menu->addMenu(QObject::tr("Assign %n node(s) to", nullptr, int(nodes.size())));
    for (int d = 0; d < m_placement->devices().size(); ++d) {
        const DeviceInfo &device = m_placement->devices()[d];
        QPixmap swatch(12, 12);
        swatch.fill(device.colour);
        assign->addAction(QIcon(swatch), device.id, menu, [placement, nodes, d]() {
            if (placement)
                placement->assignNodes(nodes, d);
        });
    }
    assign->setEnabled(!nodes.isEmpty() && !assign->isEmpty());
    bool allPinned = !nodes.isEmpty();
    for (graph::NodeId n : nodes)
        allPinned = allPinned && m_placement->isPinned(n);
    menu->addAction(allPinned ? QObject::tr("Unpin") : QObject::tr("Pin (Auto split keeps it)"),
                    menu, [placement, nodes, allPinned]() {
                        if (placement)
                            placement->setPinned(nodes, !allPinned);
                    });
    // Tensor parallelism: split the selection (a block) across devices.
    auto *split = menu->addAction(QObject::tr("Split across devices…"), menu, [placement, nodes]() {
        if (!placement)
            return;
        const QVector<int> chosen = chooseSplitDevices(placement, nodes);
        if (chosen.size() >= 2 && !placement->splitAcrossDevices(nodes, chosen))
            QMessageBox::information(
                nullptr, QObject::tr("Split across devices"),
                QObject::tr("Nothing in the selection can be split %1 ways: it needs a MatMul or "
                            "Gemm with a constant weight whose features divide by %1.")
                    .arg(chosen.size()));
    });
    split->setEnabled(!nodes.isEmpty() && m_placement->devices().size() >= 2);
    bool anySplit = false;
    for (graph::NodeId n : nodes)
        anySplit = anySplit || !m_placement->tensorParallelGroup(n).isEmpty();
    if (anySplit)
        menu->addAction(QObject::tr("Stop splitting"), menu, [placement, nodes]() {
            if (placement)
                placement->unsplit(nodes);
        });
    if (m_layout.model->isExpandable(group)) {
        menu->addSeparator();
        const bool expanded =
            std::size_t(group) < m_layout.expanded.size() && m_layout.expanded[std::size_t(group)];
        QPointer<GraphScene> self(this);
        menu->addAction(expanded ? QObject::tr("Collapse block") : QObject::tr("Expand block"),
                        menu, [self, group]() {
                            if (self)
                                emit self->toggleGroupRequested(group);
                        });
    }
    return menu;
}

void GraphScene::setHighlighted(const QVector<int> &items)
{
    std::fill(m_highlighted.begin(), m_highlighted.end(), false);
    for (int i : items)
        if (i >= 0 && std::size_t(i) < m_highlighted.size())
            m_highlighted[std::size_t(i)] = true;
    update();
}

bool GraphScene::isHighlighted(int item) const
{
    return m_highlighted[std::size_t(item)];
}

void GraphScene::refreshPlacement()
{
    m_cut.assign(m_layout.edges.size(), false);
    m_maxCutBytes = 1;
    for (std::size_t e = 0; e < m_layout.edges.size(); ++e) {
        for (const auto &[from, to] : m_layout.edges[e].nodeEdges) {
            if (m_placement->deviceOf(from) != m_placement->deviceOf(to)) {
                m_cut[e] = true;
                break;
            }
        }
        if (m_cut[e])
            m_maxCutBytes = std::max(m_maxCutBytes, double(m_layout.edges[e].bytes));
    }
    update();
}

} // namespace sb::ui
