#include "ui/eval/charts.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QToolTip>

#include <cmath>
#include <numbers>

namespace sb::ui {

// ------------------------------------------------------------ heatmap

ConfusionHeatmap::ConfusionHeatmap(QWidget *parent) : QWidget(parent)
{
    setMinimumSize(220, 200);
    setToolTip(tr("Click a cell to list its rows"));
}

void ConfusionHeatmap::setMatrix(const QStringList &labels, const QVector<QVector<double>> &counts)
{
    m_labels = labels;
    m_counts = counts;
    update();
}

QRect ConfusionHeatmap::gridRect() const
{
    const int left = 90, top = 40;
    const int side = std::max(10, std::min(width() - left - 16, height() - top - 16));
    return QRect(left, top, side, side);
}

QRect ConfusionHeatmap::cellRect(int actual, int predicted) const
{
    const int n = int(m_labels.size());
    if (n == 0)
        return {};
    const QRect grid = gridRect();
    const double cell = grid.width() / double(n);
    return QRectF(grid.left() + predicted * cell, grid.top() + actual * cell, cell, cell)
        .toAlignedRect();
}

void ConfusionHeatmap::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing);
    const int n = int(m_labels.size());
    if (n == 0) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter, tr("No confusion matrix yet"));
        return;
    }
    double maxCount = 1;
    for (const auto &row : m_counts)
        for (double c : row)
            maxCount = std::max(maxCount, c);
    const QRect grid = gridRect();
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(grid.left(), 2, grid.width(), 18), Qt::AlignCenter, tr("Predicted"));
    p.save();
    p.translate(12, grid.center().y());
    p.rotate(-90);
    p.drawText(QRect(-grid.height() / 2, -8, grid.height(), 18), Qt::AlignCenter, tr("Actual"));
    p.restore();
    p.setFont(font());
    for (int a = 0; a < n; ++a) {
        for (int q = 0; q < n; ++q) {
            const double count = a < m_counts.size() && q < m_counts[a].size() ? m_counts[a][q] : 0;
            const double t = count / maxCount;
            const QColor base = a == q ? QColor(0x2e, 0x7d, 0x32) : QColor(0xc6, 0x28, 0x28);
            QColor fill = QColor::fromRgbF(1 - t * (1 - base.redF()), 1 - t * (1 - base.greenF()),
                                           1 - t * (1 - base.blueF()));
            const QRect cell = cellRect(a, q);
            p.fillRect(cell.adjusted(1, 1, -1, -1), fill);
            p.setPen(t > 0.55 ? Qt::white : Qt::black);
            p.drawText(cell, Qt::AlignCenter, QString::number(qint64(count)));
        }
        p.setPen(palette().color(QPalette::Text));
        const QRect row = cellRect(a, 0);
        p.drawText(QRect(24, row.top(), grid.left() - 28, row.height()),
                   Qt::AlignRight | Qt::AlignVCenter,
                   fontMetrics().elidedText(m_labels[a], Qt::ElideRight, grid.left() - 28));
        const QRect col = cellRect(0, a);
        p.drawText(QRect(col.left(), 20, col.width(), 18), Qt::AlignCenter,
                   fontMetrics().elidedText(m_labels[a], Qt::ElideRight, col.width()));
    }
}

void ConfusionHeatmap::mousePressEvent(QMouseEvent *event)
{
    const int n = int(m_labels.size());
    for (int a = 0; a < n; ++a)
        for (int q = 0; q < n; ++q)
            if (cellRect(a, q).contains(event->position().toPoint())) {
                emit cellClicked(a, q);
                return;
            }
}

// ------------------------------------------------------------ bars

BarChartWidget::BarChartWidget(const QString &title, QWidget *parent)
    : QWidget(parent), m_title(title)
{
    setMinimumSize(260, 180);
}

void BarChartWidget::setData(const QVector<BarDatum> &bars, const QString &valueLabel,
                             double threshold, double fixedMax)
{
    m_bars = bars;
    m_valueLabel = valueLabel;
    m_threshold = threshold;
    m_fixedMax = fixedMax;
    update();
}

BarChartWidget::LabelLayout BarChartWidget::labelLayout() const
{
    constexpr int left = 56, right = 16, maxLabel = 110;
    const QFontMetrics metrics = fontMetrics();
    const int lineHeight = metrics.height();
    int widest = 0;
    for (const BarDatum &bar : m_bars)
        widest = std::max(widest, metrics.horizontalAdvance(bar.label));
    widest = std::min(widest, maxLabel);
    const double slot = (width() - left - right) / double(std::max<qsizetype>(1, m_bars.size()));
    LabelLayout layout;
    if (slot >= widest + 8) {
        layout.elideWidth = int(slot) - 4;
        layout.bottomMargin = lineHeight + 12;
    } else if (slot * std::sin(40.0 * std::numbers::pi / 180.0) >= lineHeight) {
        layout.angle = -40;
        layout.elideWidth = widest;
        layout.bottomMargin =
            int(widest * std::sin(40.0 * std::numbers::pi / 180.0)) + lineHeight + 12;
    } else {
        layout.angle = -90;
        layout.step = std::max(1, int(std::ceil(lineHeight / std::max(1.0, slot))));
        layout.elideWidth = widest;
        layout.bottomMargin = widest + 14;
    }
    return layout;
}

QRect BarChartWidget::plotRect() const
{
    return rect().adjusted(56, 30, -16, -labelLayout().bottomMargin);
}

double BarChartWidget::maxValue() const
{
    if (!std::isnan(m_fixedMax))
        return m_fixedMax;
    double maxV = std::isnan(m_threshold) ? 0 : m_threshold;
    for (const BarDatum &bar : m_bars)
        maxV = std::max({maxV, bar.value, std::isnan(bar.high) ? 0.0 : bar.high});
    if (maxV <= 0)
        return 1;
    // Up to a round number (1, 2, 2.5 or 5 x 10^k) so the four gridlines read well.
    const double padded = maxV * 1.05;
    const double magnitude = std::pow(10.0, std::floor(std::log10(padded)));
    for (double step : {1.0, 2.0, 2.5, 5.0, 10.0})
        if (step * magnitude >= padded)
            return step * magnitude;
    return padded;
}

QRectF BarChartWidget::barRect(int index) const
{
    const QRect plot = plotRect();
    const double slot = plot.width() / double(std::max<qsizetype>(1, m_bars.size()));
    const double h = plot.height() * std::clamp(m_bars[index].value / maxValue(), 0.0, 1.0);
    return QRectF(plot.left() + slot * index + slot * 0.15, plot.bottom() - h, slot * 0.7, h);
}

void BarChartWidget::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.fillRect(rect(), palette().color(QPalette::Base));
    p.setRenderHint(QPainter::Antialiasing);
    QFont bold = font();
    bold.setBold(true);
    p.setFont(bold);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(0, 4, width(), 20), Qt::AlignCenter, m_title);
    p.setFont(font());
    const QRect plot = plotRect();
    if (m_bars.isEmpty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(plot, Qt::AlignCenter, tr("No data yet"));
        return;
    }
    const double maxV = maxValue();
    p.setPen(palette().color(QPalette::Mid));
    p.drawLine(plot.bottomLeft(), plot.bottomRight());
    p.drawLine(plot.bottomLeft(), plot.topLeft());
    for (int i = 0; i <= 4; ++i) {
        const double v = maxV * i / 4;
        const double y = plot.bottom() - plot.height() * i / 4.0;
        p.setPen(palette().color(QPalette::Midlight));
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(QRectF(0, y - 8, plot.left() - 6, 16), Qt::AlignRight | Qt::AlignVCenter,
                   QString::number(v, 'g', 3));
    }
    p.save();
    p.translate(12, plot.center().y());
    p.rotate(-90);
    p.drawText(QRect(-plot.height() / 2, -8, plot.height(), 16), Qt::AlignCenter, m_valueLabel);
    p.restore();
    for (int i = 0; i < m_bars.size(); ++i) {
        const BarDatum &bar = m_bars[i];
        const QRectF r = barRect(i);
        p.setPen(Qt::NoPen);
        p.setBrush(bar.flagged ? QColor(0xe1, 0x57, 0x59) : QColor(0x4e, 0x79, 0xa7));
        p.drawRect(r);
        if (!std::isnan(bar.low) && !std::isnan(bar.high)) {
            const double yLow =
                plot.bottom() - plot.height() * std::clamp(bar.low / maxV, 0.0, 1.0);
            const double yHigh =
                plot.bottom() - plot.height() * std::clamp(bar.high / maxV, 0.0, 1.0);
            p.setPen(QPen(palette().color(QPalette::Text), 1.5));
            const double x = r.center().x();
            p.drawLine(QPointF(x, yLow), QPointF(x, yHigh));
            p.drawLine(QPointF(x - 5, yLow), QPointF(x + 5, yLow));
            p.drawLine(QPointF(x - 5, yHigh), QPointF(x + 5, yHigh));
        }
    }
    const LabelLayout labels = labelLayout();
    p.setPen(palette().color(QPalette::Text));
    for (int i = 0; i < m_bars.size(); i += labels.step) {
        const QRectF r = barRect(i);
        QString text = fontMetrics().elidedText(m_bars[i].label, Qt::ElideRight, labels.elideWidth);
        const int textWidth = fontMetrics().horizontalAdvance(text);
        p.save();
        if (labels.angle == 0) {
            p.drawText(QRectF(r.center().x() - labels.elideWidth / 2.0, plot.bottom() + 4,
                              labels.elideWidth, fontMetrics().height()),
                       Qt::AlignHCenter | Qt::AlignTop, text);
        } else {
            // Rotated so the text ends at the bar's tick.
            p.translate(r.center().x(), plot.bottom() + 6);
            p.rotate(labels.angle);
            p.drawText(QPointF(-textWidth, fontMetrics().ascent() / 2.0), text);
        }
        p.restore();
    }
    if (!std::isnan(m_threshold)) {
        const double y = plot.bottom() - plot.height() * std::clamp(m_threshold / maxV, 0.0, 1.0);
        p.setPen(QPen(QColor(0xe1, 0x57, 0x59), 1.5, Qt::DashLine));
        p.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y));
        p.drawText(QPointF(plot.right() - 90, y - 4), tr("threshold %1").arg(m_threshold));
    }
}

bool BarChartWidget::event(QEvent *event)
{
    if (event->type() == QEvent::ToolTip) {
        auto *help = static_cast<QHelpEvent *>(event);
        const QRect plot = plotRect();
        for (int i = 0; i < m_bars.size(); ++i) {
            QRectF r = barRect(i);
            r.setTop(plot.top());
            r.setBottom(height());
            if (r.contains(help->pos())) {
                const BarDatum &bar = m_bars[i];
                QToolTip::showText(help->globalPos(),
                                   QStringLiteral("<b>%1</b>: %2%3")
                                       .arg(bar.label.toHtmlEscaped())
                                       .arg(bar.value, 0, 'g', 4)
                                       .arg(bar.tooltip.isEmpty()
                                                ? QString()
                                                : "<br>" + bar.tooltip.toHtmlEscaped()),
                                   this);
                return true;
            }
        }
        QToolTip::hideText();
        event->ignore();
        return true;
    }
    return QWidget::event(event);
}

void BarChartWidget::mousePressEvent(QMouseEvent *event)
{
    const QRect plot = plotRect();
    for (int i = 0; i < m_bars.size(); ++i) {
        QRectF r = barRect(i);
        r.setTop(plot.top());
        if (r.contains(event->position()))
            emit barClicked(i);
    }
}

} // namespace sb::ui
