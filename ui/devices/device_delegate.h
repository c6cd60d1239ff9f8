// Paints a device row: colour swatch, name, origin, the memory ledger bar
// (weights | activations | buffers against capacity, red when over) and the
// estimated stage time.
#pragma once

#include <QStyledItemDelegate>

namespace sb::ui {

class DeviceDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    static QColor weightsColour() { return QColor(0x4e, 0x79, 0xa7); }
    static QColor activationsColour() { return QColor(0x59, 0xa1, 0x4f); }
    static QColor buffersColour() { return QColor(0xf2, 0x8e, 0x2b); }
};

} // namespace sb::ui
