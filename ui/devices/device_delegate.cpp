#include "ui/devices/device_delegate.h"

#include "ui/devices/device_info.h"
#include "ui/devices/device_list_model.h"

#include <QApplication>
#include <QPainter>

namespace sb::ui {

QSize DeviceDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &) const
{
    const int line = option.fontMetrics.height();
    return QSize(240, line * 4 + 18);
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

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing);
    const QRect r = option.rect.adjusted(8, 6, -8, -6);
    const int line = option.fontMetrics.height();
    const QPalette &pal = option.palette;
    const bool selected = option.state & QStyle::State_Selected;
    const QColor text = selected ? pal.color(QPalette::HighlightedText) : pal.color(QPalette::Text);
    const QColor muted = selected ? text : pal.color(QPalette::PlaceholderText);

    // Swatch + name + origin.
    const QColor colour = index.data(DeviceListModel::ColourRole).value<QColor>();
    painter->setPen(Qt::NoPen);
    painter->setBrush(colour);
    painter->drawRoundedRect(QRect(r.left(), r.top() + 2, 12, line - 4), 3, 3);
    QFont bold = option.font;
    bold.setBold(true);
    painter->setFont(bold);
    painter->setPen(text);
    painter->drawText(QRect(r.left() + 18, r.top(), r.width() - 18, line), Qt::AlignVCenter,
                      index.data(DeviceListModel::DeviceIdRole).toString() + "  " +
                          index.data(Qt::DisplayRole).toString());
    painter->setFont(option.font);

    const auto capacity = index.data(DeviceListModel::CapacityRole).toULongLong();
    const auto weights = index.data(DeviceListModel::WeightsRole).toULongLong();
    const auto activations = index.data(DeviceListModel::ActivationsRole).toULongLong();
    const auto buffers = index.data(DeviceListModel::BuffersRole).toULongLong();
    const quint64 total = weights + activations + buffers;
    const bool over = capacity > 0 && total > capacity;
    const QStringList problems = index.data(DeviceListModel::ProblemsRole).toStringList();

    // Ledger bar.
    const QRect bar(r.left(), r.top() + line + 4, r.width(), line - 2);
    painter->setPen(QPen(pal.color(QPalette::Mid), 1));
    painter->setBrush(pal.color(QPalette::Base));
    painter->drawRoundedRect(bar, 3, 3);
    const double scale = double(std::max<quint64>(capacity, total));
    if (scale > 0) {
        double x = bar.left();
        const std::pair<quint64, QColor> parts[] = {{weights, weightsColour()},
                                                    {activations, activationsColour()},
                                                    {buffers, buffersColour()}};
        painter->setPen(Qt::NoPen);
        for (const auto &[bytes, c] : parts) {
            const double w = bar.width() * double(bytes) / scale;
            painter->setBrush(c);
            painter->drawRect(QRectF(x, bar.top() + 1, w, bar.height() - 2));
            x += w;
        }
        if (over) {
            const double capX = bar.left() + bar.width() * double(capacity) / scale;
            painter->setPen(QPen(QColor(0xd0, 0x30, 0x30), 2));
            painter->drawLine(QPointF(capX, bar.top() - 2), QPointF(capX, bar.bottom() + 2));
        }
    }

    // Figures.
    painter->setPen(over ? QColor(0xd0, 0x30, 0x30) : text);
    const QString memory = tr("%1 of %2").arg(formatBytes(double(total)),
                                              formatBytes(double(capacity)));
    painter->drawText(QRect(r.left(), bar.bottom() + 3, r.width(), line), Qt::AlignLeft, memory);
    const double stage = index.data(DeviceListModel::StageTimeRole).toDouble();
    const int nodes = index.data(DeviceListModel::NodeCountRole).toInt();
    painter->setPen(muted);
    const QString timing =
        stage >= 0 ? tr("%n node(s) · stage ≈ %1", nullptr, nodes).arg(formatSeconds(stage))
                   : tr("%n node(s) · %1", nullptr, nodes)
                         .arg(index.data(DeviceListModel::OriginRole).toString());
    painter->drawText(QRect(r.left(), bar.bottom() + 3, r.width(), line), Qt::AlignRight, timing);
    if (!problems.isEmpty()) {
        painter->setPen(QColor(0xd0, 0x30, 0x30));
        painter->drawText(QRect(r.left(), bar.bottom() + 3 + line, r.width(), line),
                          Qt::AlignLeft | Qt::TextSingleLine,
                          option.fontMetrics.elidedText("⚠ " + problems.join("; "), Qt::ElideRight,
                                                        r.width()));
    }
    painter->restore();
}

} // namespace sb::ui
