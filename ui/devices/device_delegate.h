// Paints a device row of the devices panel: colour swatch, id and name, the
// memory ledger (used against capacity, and what the used memory is made
// of), "23.4 MB of 11.8 GB (0.2%)", node count and estimated stage time, and
// the first problem. Every line is elided to the row width and the row height
// comes from the font metrics, so nothing overlaps at any dock width.
//
// The ledger painters are shared with the device lanes beside the graph.
#pragma once

#include <QModelIndex>
#include <QPalette>
#include <QRectF>
#include <QStyledItemDelegate>

#include <array>

class QPainter;

namespace sb::ui {

// A device's ledger as DeviceListModel reports it.
struct LedgerFigures
{
    quint64 weights = 0;
    quint64 activations = 0;
    quint64 buffers = 0;
    quint64 capacity = 0;
    quint64 total() const { return weights + activations + buffers; }
    bool overCapacity() const { return capacity > 0 && total() > capacity; }
};

LedgerFigures ledgerFigures(const QModelIndex &deviceIndex);
// "23.4 MB of 11.8 GB (0.2%)"; "<0.1%" for a small non-zero share.
QString ledgerText(const LedgerFigures &ledger);
// "weights 20.1 MB · activations 2.3 MB · buffers 1.0 MB"
QString ledgerBreakdownText(const LedgerFigures &ledger);
// "486 node(s) · stage ≈ 2.51 ms", "0 nodes · unused", "12 node(s) · rate unknown".
QString stageText(const QModelIndex &deviceIndex);

// Used memory against capacity: stacked weights | activations | buffers. A
// non-zero segment is at least kMinSegmentWidth wide, so a few MB on a 12 GB
// device stay visible; over capacity the bar is scaled to the total and a red
// mark shows where capacity ends.
void paintUsageBar(QPainter *painter, const QRectF &rect, const LedgerFigures &ledger,
                   const QPalette &palette);
// What the used memory is made of (100% = used), the same three colours:
// readable however small the usage is.
void paintCompositionBar(QPainter *painter, const QRectF &rect, const LedgerFigures &ledger,
                         const QPalette &palette);

// Widths of the stacked segments (weights, activations, buffers) in a bar of
// `width` pixels scaled to `scale` bytes, with the minimum width applied.
std::array<double, 3> segmentWidths(const LedgerFigures &ledger, double width, double scale);

inline constexpr double kMinSegmentWidth = 3.0;

class DeviceDelegate : public QStyledItemDelegate
{
    Q_OBJECT
public:
    using QStyledItemDelegate::QStyledItemDelegate;
    void paint(QPainter *painter, const QStyleOptionViewItem &option,
               const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    // Where each part of a row goes (also used by tests to check that no two
    // text lines overlap).
    struct RowLayout
    {
        QRect swatch, title, usageBar, compositionBar, memoryText, timingText, problemText;
        int height = 0;
    };
    static RowLayout rowLayout(const QRect &rect, const QFontMetrics &metrics, bool hasProblems);

    static QColor weightsColour() { return QColor(0x4e, 0x79, 0xa7); }
    static QColor activationsColour() { return QColor(0x59, 0xa1, 0x4f); }
    static QColor buffersColour() { return QColor(0xf2, 0x8e, 0x2b); }
    static QColor problemColour() { return QColor(0xd0, 0x30, 0x30); }
};

} // namespace sb::ui
