#include "ui/devices/device_delegate.h"

#include "ui/devices/device_info.h"
#include "ui/devices/device_list_model.h"

#include <QApplication>
#include <QPainter>

#include <algorithm>

namespace sb::ui {

namespace {

constexpr int kPadX = 8;
constexpr int kPadY = 6;

std::array<QColor, 3> segmentColours()
{
    return {DeviceDelegate::weightsColour(), DeviceDelegate::activationsColour(),
            DeviceDelegate::buffersColour()};
}

std::array<quint64, 3> segmentBytes(const LedgerFigures &ledger)
{
    return {ledger.weights, ledger.activations, ledger.buffers};
}

void paintTrack(QPainter *painter, const QRectF &rect, const QPalette &palette)
{
    painter->setPen(QPen(palette.color(QPalette::Mid), 1));
    painter->setBrush(palette.color(QPalette::Base));
    painter->drawRoundedRect(rect, 2, 2);
}

void paintSegments(QPainter *painter, const QRectF &rect, const std::array<double, 3> &widths)
{
    const auto colours = segmentColours();
    painter->setPen(Qt::NoPen);
    double x = rect.left() + 1;
    const QRectF inner = rect.adjusted(1, 1, -1, -1);
    for (std::size_t i = 0; i < widths.size(); ++i) {
        if (widths[i] <= 0)
            continue;
        painter->setBrush(colours[i]);
        painter->drawRect(QRectF(x, inner.top(), widths[i], inner.height()).intersected(inner));
        x += widths[i];
    }
}

QString percentText(double share)
{
    if (share <= 0)
        return QStringLiteral("0%");
    if (share < 0.001)
        return QStringLiteral("<0.1%");
    return QStringLiteral("%1%").arg(share * 100, 0, 'f', share < 0.1 ? 1 : 0);
}

} // namespace

LedgerFigures ledgerFigures(const QModelIndex &index)
{
    LedgerFigures ledger;
    ledger.weights = index.data(DeviceListModel::WeightsRole).toULongLong();
    ledger.activations = index.data(DeviceListModel::ActivationsRole).toULongLong();
    ledger.buffers = index.data(DeviceListModel::BuffersRole).toULongLong();
    ledger.capacity = index.data(DeviceListModel::CapacityRole).toULongLong();
    return ledger;
}

QString ledgerText(const LedgerFigures &ledger)
{
    const double total = double(ledger.total());
    if (ledger.capacity == 0)
        return QObject::tr("%1 (capacity unknown)").arg(formatBytes(total));
    return QObject::tr("%1 of %2 (%3)")
        .arg(formatBytes(total), formatBytes(double(ledger.capacity)),
             percentText(total / double(ledger.capacity)));
}

QString ledgerBreakdownText(const LedgerFigures &ledger)
{
    return QObject::tr("weights %1 · activations %2 · buffers %3")
        .arg(formatBytes(double(ledger.weights)), formatBytes(double(ledger.activations)),
             formatBytes(double(ledger.buffers)));
}

QString stageText(const QModelIndex &index)
{
    const int nodes = index.data(DeviceListModel::NodeCountRole).toInt();
    if (nodes == 0)
        return QObject::tr("0 nodes · unused");
    const double stage = index.data(DeviceListModel::StageTimeRole).toDouble();
    if (stage < 0)
        return QObject::tr("%n node(s) · rate unknown", nullptr, nodes);
    return QObject::tr("%n node(s) · stage ≈ %1", nullptr, nodes).arg(formatSeconds(stage));
}

std::array<double, 3> segmentWidths(const LedgerFigures &ledger, double width, double scale)
{
    std::array<double, 3> widths{0, 0, 0};
    if (width <= 0 || scale <= 0)
        return widths;
    const auto bytes = segmentBytes(ledger);
    double sum = 0;
    for (std::size_t i = 0; i < bytes.size(); ++i) {
        if (bytes[i] == 0)
            continue;
        widths[i] = std::max(kMinSegmentWidth, width * double(bytes[i]) / scale);
        sum += widths[i];
    }
    // The minimum widths may push a nearly full bar past its end: shrink all.
    if (sum > width)
        for (double &w : widths)
            w *= width / sum;
    return widths;
}

void paintUsageBar(QPainter *painter, const QRectF &rect, const LedgerFigures &ledger,
                   const QPalette &palette)
{
    painter->save();
    paintTrack(painter, rect, palette);
    const double inner = rect.width() - 2;
    const double scale = double(std::max(ledger.capacity, ledger.total()));
    paintSegments(painter, rect, segmentWidths(ledger, inner, scale));
    if (ledger.overCapacity()) {
        const double capX = rect.left() + 1 + inner * double(ledger.capacity) / scale;
        painter->setPen(QPen(DeviceDelegate::problemColour(), 2));
        painter->drawLine(QPointF(capX, rect.top() - 2), QPointF(capX, rect.bottom() + 2));
    }
    painter->restore();
}

void paintCompositionBar(QPainter *painter, const QRectF &rect, const LedgerFigures &ledger,
                         const QPalette &palette)
{
    painter->save();
    paintTrack(painter, rect, palette);
    paintSegments(painter, rect, segmentWidths(ledger, rect.width() - 2, double(ledger.total())));
    painter->restore();
}

DeviceDelegate::RowLayout DeviceDelegate::rowLayout(const QRect &rect, const QFontMetrics &metrics,
                                                    bool hasProblems)
{
    RowLayout layout;
    const int line = metrics.height();
    const int x = rect.left() + kPadX;
    const int width = std::max(1, rect.width() - 2 * kPadX);
    int y = rect.top() + kPadY;
    layout.swatch = QRect(x, y + 2, 12, line - 4);
    layout.title = QRect(x + 18, y, std::max(1, width - 18), line);
    y += line + 4;
    const int barHeight = std::max(8, line * 2 / 3);
    layout.usageBar = QRect(x, y, width, barHeight);
    y += barHeight + 2;
    layout.compositionBar = QRect(x, y, width, 5);
    y += 5 + 3;
    layout.memoryText = QRect(x, y, width, line);
    y += line;
    layout.timingText = QRect(x, y, width, line);
    y += line;
    if (hasProblems) {
        layout.problemText = QRect(x, y, width, line);
        y += line;
    }
    layout.height = y + kPadY - rect.top();
    return layout;
}

QSize DeviceDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const bool problems = !index.data(DeviceListModel::ProblemsRole).toStringList().isEmpty();
    const RowLayout layout = rowLayout(QRect(0, 0, 200, 0), option.fontMetrics, problems);
    // The width is whatever the view gives: every line elides.
    return QSize(160, layout.height);
}

void DeviceDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option,
                           const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear();
    opt.icon = QIcon();
    QStyle *style = opt.widget ? opt.widget->style() : QApplication::style();
    style->drawPrimitive(QStyle::PE_PanelItemViewItem, &opt, painter, opt.widget);

    const QStringList problems = index.data(DeviceListModel::ProblemsRole).toStringList();
    const QFontMetrics &metrics = option.fontMetrics;
    const RowLayout layout = rowLayout(option.rect, metrics, !problems.isEmpty());
    const QPalette &pal = option.palette;
    const bool selected = option.state & QStyle::State_Selected;
    const QColor text = selected ? pal.color(QPalette::HighlightedText) : pal.color(QPalette::Text);
    const QColor muted = selected ? text : pal.color(QPalette::PlaceholderText);
    const LedgerFigures ledger = ledgerFigures(index);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    painter->setClipRect(option.rect);

    // Swatch, id (bold) and name.
    painter->setPen(Qt::NoPen);
    painter->setBrush(index.data(DeviceListModel::ColourRole).value<QColor>());
    painter->drawRoundedRect(layout.swatch, 3, 3);
    QFont bold = option.font;
    bold.setBold(true);
    const QFontMetrics boldMetrics(bold);
    const QString id = index.data(DeviceListModel::DeviceIdRole).toString();
    const QString idText = boldMetrics.elidedText(id, Qt::ElideRight, layout.title.width());
    const int idWidth = boldMetrics.horizontalAdvance(idText);
    painter->setFont(bold);
    painter->setPen(text);
    painter->drawText(layout.title, Qt::AlignLeft | Qt::AlignVCenter, idText);
    painter->setFont(option.font);
    const int nameSpace =
        layout.title.width() - idWidth - metrics.horizontalAdvance(QLatin1Char(' ')) * 2;
    if (nameSpace > metrics.horizontalAdvance(QStringLiteral("W…"))) {
        QString name = index.data(DeviceListModel::OriginRole).toString();
        if (const QString display = index.data(Qt::DisplayRole).toString(); display != id)
            name += QStringLiteral(" · ") + display;
        {
            painter->setPen(muted);
            painter->drawText(layout.title.adjusted(layout.title.width() - nameSpace, 0, 0, 0),
                              Qt::AlignLeft | Qt::AlignVCenter,
                              metrics.elidedText(name, Qt::ElideRight, nameSpace));
        }
    }

    paintUsageBar(painter, layout.usageBar, ledger, pal);
    paintCompositionBar(painter, layout.compositionBar, ledger, pal);

    painter->setPen(ledger.overCapacity() ? problemColour() : text);
    painter->drawText(
        layout.memoryText, Qt::AlignLeft | Qt::AlignVCenter,
        metrics.elidedText(ledgerText(ledger), Qt::ElideRight, layout.memoryText.width()));

    QString timing = stageText(index);
    if (index.data(DeviceListModel::BottleneckRole).toBool())
        timing += tr(" · bottleneck");
    painter->setPen(muted);
    painter->drawText(layout.timingText, Qt::AlignLeft | Qt::AlignVCenter,
                      metrics.elidedText(timing, Qt::ElideRight, layout.timingText.width()));

    if (!problems.isEmpty()) {
        painter->setPen(problemColour());
        painter->drawText(layout.problemText, Qt::AlignLeft | Qt::AlignVCenter,
                          metrics.elidedText(QStringLiteral("⚠ ") + problems.join("; "),
                                             Qt::ElideRight, layout.problemText.width()));
    }
    painter->restore();
}

} // namespace sb::ui
