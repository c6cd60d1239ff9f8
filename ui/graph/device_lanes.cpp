#include "ui/graph/device_lanes.h"

#include "ui/devices/device_delegate.h"
#include "ui/devices/device_info.h"
#include "ui/devices/device_list_model.h"
#include "ui/graph/node_mime.h"

#include <QDragEnterEvent>
#include <QHelpEvent>
#include <QMimeData>
#include <QPainter>
#include <QToolTip>

#include <algorithm>

namespace sb::ui {

namespace {

constexpr int kMargin = 4;
constexpr int kGap = 4;
constexpr int kPadX = 8;
constexpr int kPadY = 6;
constexpr int kBand = 5; // the device-colour band on the lane's left edge

bool isDark(const QPalette &palette)
{
    return palette.color(QPalette::Window).lightness() < 128;
}

} // namespace

DeviceLanes::DeviceLanes(QAbstractItemModel *devices, QWidget *parent)
    : QWidget(parent), m_model(devices)
{
    setAcceptDrops(true);
    setAttribute(Qt::WA_Hover);
    setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Expanding);
    setToolTip(tr("Device lanes: drop nodes, a selection or blocks on a lane to place them"));
    auto changed = [this]() { modelChanged(); };
    connect(devices, &QAbstractItemModel::dataChanged, this, changed);
    connect(devices, &QAbstractItemModel::modelReset, this, changed);
    connect(devices, &QAbstractItemModel::rowsInserted, this, changed);
    connect(devices, &QAbstractItemModel::rowsRemoved, this, changed);
    connect(devices, &QAbstractItemModel::layoutChanged, this, changed);
}

int DeviceLanes::laneCount() const
{
    return m_model ? m_model->rowCount() : 0;
}

int DeviceLanes::minimumLaneHeight() const
{
    const int line = fontMetrics().height();
    const int bar = std::max(8, line * 2 / 3);
    // id, nodes/stage, usage and composition bars, memory, problem line.
    return 2 * kPadY + 4 * line + bar + 5 + 8;
}

QSize DeviceLanes::sizeHint() const
{
    const QFontMetrics metrics = fontMetrics();
    const int text =
        std::max(metrics.horizontalAdvance(QStringLiteral("000.00 MB of 00.0 GB (<0.1%)")),
                 metrics.horizontalAdvance(QStringLiteral("0000 node(s) · stage ≈ 000.0 µs")));
    const int width = std::clamp(text + 2 * kPadX + kBand + 2 * kMargin, 150, 260);
    const int lanes = std::max(1, laneCount());
    return QSize(width, 2 * kMargin + lanes * minimumLaneHeight() + (lanes - 1) * kGap);
}

QSize DeviceLanes::minimumSizeHint() const
{
    return sizeHint();
}

QRect DeviceLanes::laneRect(int lane) const
{
    const int lanes = laneCount();
    if (lane < 0 || lane >= lanes)
        return {};
    // Lanes share the height (big drop targets), never below their content.
    const int available = height() - 2 * kMargin - (lanes - 1) * kGap;
    const int laneHeight = std::max(minimumLaneHeight(), available / lanes);
    return QRect(kMargin, kMargin + lane * (laneHeight + kGap), width() - 2 * kMargin, laneHeight);
}

int DeviceLanes::laneAt(const QPoint &pos) const
{
    for (int lane = 0; lane < laneCount(); ++lane)
        if (laneRect(lane).contains(pos))
            return lane;
    return -1;
}

QStringList DeviceLanes::laneLines(int lane) const
{
    if (!m_model || lane < 0 || lane >= laneCount())
        return {};
    const QModelIndex index = m_model->index(lane, 0);
    return {index.data(DeviceListModel::DeviceIdRole).toString(), stageText(index),
            ledgerText(ledgerFigures(index))};
}

void DeviceLanes::modelChanged()
{
    if (m_hovered >= laneCount())
        m_hovered = -1;
    updateGeometry();
    update();
}

void DeviceLanes::setHovered(int lane)
{
    if (lane == m_hovered)
        return;
    m_hovered = lane;
    update();
}

bool DeviceLanes::canDropOn(int lane, const QMimeData *data, Qt::DropAction action) const
{
    return m_model && lane >= 0 && lane < laneCount() &&
           m_model->canDropMimeData(data, action, -1, -1, m_model->index(lane, 0));
}

void DeviceLanes::dragEnterEvent(QDragEnterEvent *event)
{
    if (!event->mimeData() || !event->mimeData()->hasFormat(kNodeMimeType)) {
        event->ignore();
        return;
    }
    // Accept the enter so move events follow; each move decides per lane.
    event->acceptProposedAction();
    const int lane = laneAt(event->position().toPoint());
    setHovered(canDropOn(lane, event->mimeData(), event->proposedAction()) ? lane : -1);
}

void DeviceLanes::dragMoveEvent(QDragMoveEvent *event)
{
    const int lane = laneAt(event->position().toPoint());
    if (canDropOn(lane, event->mimeData(), event->proposedAction())) {
        setHovered(lane);
        event->acceptProposedAction();
        event->accept(laneRect(lane));
    } else {
        setHovered(-1);
        event->ignore();
    }
}

void DeviceLanes::dragLeaveEvent(QDragLeaveEvent *event)
{
    setHovered(-1);
    event->accept();
}

void DeviceLanes::dropEvent(QDropEvent *event)
{
    const int lane = laneAt(event->position().toPoint());
    setHovered(-1);
    if (!canDropOn(lane, event->mimeData(), event->proposedAction())) {
        event->ignore();
        return;
    }
    const int count = int(nodesFromMimeData(event->mimeData()).size());
    // The devices model assigns the nodes with one undoable command; its
    // return value only tells views whether to remove dragged source rows.
    m_model->dropMimeData(event->mimeData(), Qt::CopyAction, -1, -1, m_model->index(lane, 0));
    event->setDropAction(Qt::CopyAction);
    event->accept();
    emit nodesDropped(lane, count);
}

bool DeviceLanes::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const int lane = laneAt(help->pos());
        if (lane < 0 || !m_model) {
            QToolTip::showText(help->globalPos(), toolTip(), this);
            return true;
        }
        const QString tip = m_model->index(lane, 0).data(Qt::ToolTipRole).toString() +
                            tr("<br>Drop nodes, a selection or a block here to place them on this "
                               "device.");
        QToolTip::showText(help->globalPos(), tip, this, laneRect(lane));
        return true;
    }
    return QWidget::event(event);
}

void DeviceLanes::paintEvent(QPaintEvent *)
{
    QPainter painter(this);
    painter.setRenderHint(QPainter::Antialiasing);
    const QPalette &pal = palette();
    const bool dark = isDark(pal);
    const QFontMetrics metrics = fontMetrics();
    const int line = metrics.height();
    QFont bold = font();
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold);
    painter.fillRect(rect(), pal.color(QPalette::Window));

    if (laneCount() == 0) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(rect().adjusted(kPadX, 0, -kPadX, 0), Qt::AlignCenter | Qt::TextWordWrap,
                         tr("No devices"));
        return;
    }
    for (int lane = 0; lane < laneCount(); ++lane) {
        const QModelIndex index = m_model->index(lane, 0);
        const QRect r = laneRect(lane);
        const QColor colour = index.data(DeviceListModel::ColourRole).value<QColor>();
        const QStringList problems = index.data(DeviceListModel::ProblemsRole).toStringList();
        const bool hovered = lane == m_hovered;
        const LedgerFigures ledger = ledgerFigures(index);

        // Lane body tinted with the device colour; the drop target glows.
        QColor tint = colour;
        tint.setAlpha(dark ? 60 : 40);
        QColor edge = colour;
        qreal edgeWidth = 1;
        if (hovered) {
            tint = pal.color(QPalette::Highlight);
            tint.setAlpha(90);
            edge = pal.color(QPalette::Highlight);
            edgeWidth = 3;
        } else if (!problems.isEmpty()) {
            edge = DeviceDelegate::problemColour();
            edgeWidth = 2;
        }
        painter.setPen(QPen(edge, edgeWidth));
        painter.setBrush(tint);
        painter.drawRoundedRect(QRectF(r).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6);
        painter.setPen(Qt::NoPen);
        painter.setBrush(colour);
        painter.drawRoundedRect(QRectF(r.left() + 1, r.top() + 1, kBand, r.height() - 2), 2, 2);

        const QStringList lines = laneLines(lane);
        const int x = r.left() + kBand + kPadX;
        const int width = std::max(1, r.right() - kPadX - x);
        int y = r.top() + kPadY;
        painter.setFont(bold);
        painter.setPen(pal.color(QPalette::Text));
        QString title = lines.value(0);
        if (!problems.isEmpty())
            title = QStringLiteral("⚠ ") + title;
        title = boldMetrics.elidedText(title, Qt::ElideRight, width);
        painter.drawText(QRect(x, y, width, line), Qt::AlignLeft | Qt::AlignVCenter, title);
        painter.setFont(font());
        // The slowest stage says so, when there is room beside the id.
        const QString tag = tr("bottleneck");
        if (index.data(DeviceListModel::BottleneckRole).toBool() &&
            boldMetrics.horizontalAdvance(title) + metrics.horizontalAdvance(tag) + kPadX < width) {
            painter.setPen(QColor(0xd9, 0x5f, 0x0e));
            painter.drawText(QRect(x, y, width, line), Qt::AlignRight | Qt::AlignVCenter, tag);
        }
        y += line;
        painter.setPen(pal.color(QPalette::Text));
        painter.drawText(QRect(x, y, width, line), Qt::AlignLeft | Qt::AlignVCenter,
                         metrics.elidedText(lines.value(1), Qt::ElideRight, width));
        y += line + 2;
        const int bar = std::max(8, line * 2 / 3);
        paintUsageBar(&painter, QRectF(x, y, width, bar), ledger, pal);
        y += bar + 2;
        paintCompositionBar(&painter, QRectF(x, y, width, 5), ledger, pal);
        y += 5 + 3;
        painter.setPen(ledger.overCapacity() ? DeviceDelegate::problemColour()
                                             : pal.color(QPalette::Text));
        painter.drawText(QRect(x, y, width, line), Qt::AlignLeft | Qt::AlignVCenter,
                         metrics.elidedText(lines.value(2), Qt::ElideRight, width));
        y += line;
        if (!problems.isEmpty()) {
            painter.setPen(DeviceDelegate::problemColour());
            painter.drawText(QRect(x, y, width, line), Qt::AlignLeft | Qt::AlignVCenter,
                             metrics.elidedText(problems.join("; "), Qt::ElideRight, width));
            y += line;
        }
        // Tall lanes say what they are for.
        const QRect rest(x, y, width, r.bottom() - kPadY - y);
        if (rest.height() >= 2 * line) {
            painter.setPen(hovered ? pal.color(QPalette::Text)
                                   : pal.color(QPalette::PlaceholderText));
            const QString hint =
                hovered ? tr("Release to place on %1").arg(lines.value(0)) : tr("Drop nodes here");
            painter.drawText(rest, Qt::AlignCenter | Qt::TextWordWrap, hint);
        }
    }
}

} // namespace sb::ui
