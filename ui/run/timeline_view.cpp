#include "ui/run/timeline_view.h"

#include "ui/devices/device_info.h"

#include <QPainter>

#include <cmath>

namespace sb::ui {

TimelineView::TimelineView(TimelineModel *model, QWidget *parent) : QWidget(parent), m_model(model)
{
    setAutoFillBackground(true);
    setBackgroundRole(QPalette::Base);
    connect(model, &TimelineModel::changed, this, qOverload<>(&QWidget::update));
}

void TimelineView::paintEvent(QPaintEvent *)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette pal = palette();
    const int stages = m_model->stageCount();
    const QFontMetrics fm(font());
    const int header = fm.height() + 10;
    if (stages == 0 || m_model->spans().isEmpty()) {
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(rect(), Qt::AlignCenter,
                   stages == 0 ? tr("Run a plan (F5) to see its timeline: one lane per stage, a "
                                    "box per micro-batch.")
                               : tr("Waiting for the first micro-batch…"));
        return;
    }
    const int bottleneck = m_model->bottleneckStage();
    const QVector<double> busy = m_model->busyMsPerStage();
    double start = m_model->spans().front().startMs;
    for (const auto &span : m_model->spans())
        start = std::min(start, span.startMs);
    const double span = std::max(1e-6, m_model->endMs() - start);

    // Header: bubble figures.
    p.setPen(pal.color(QPalette::Text));
    p.drawText(QRect(8, 4, width() - 16, header - 4), Qt::AlignLeft | Qt::AlignVCenter,
               tr("%1 stages · %2 micro-batches · measured bubble %3% (ideal (p-1)/(m+p-1) = "
                  "%4%) · %5")
                   .arg(stages)
                   .arg(m_model->microbatches())
                   .arg(m_model->measuredBubble() * 100, 0, 'f', 1)
                   .arg(m_model->idealBubble() * 100, 0, 'f', 1)
                   .arg(formatSeconds(span / 1000.0)));

    const int labelWidth = 150;
    const QRect area(labelWidth, header, width() - labelWidth - 12,
                     height() - header - fm.height() - 8);
    const double laneHeight = std::min(46.0, area.height() / double(stages));
    auto xOf = [&](double ms) { return area.left() + (ms - start) / span * area.width(); };

    for (int s = 0; s < stages; ++s) {
        const QRectF lane(0, area.top() + s * laneHeight, width(), laneHeight);
        if (s == bottleneck) {
            QColor hl(0xd0, 0x30, 0x30);
            hl.setAlpha(28);
            p.fillRect(lane, hl);
        } else if (s % 2) {
            p.fillRect(lane, pal.color(QPalette::AlternateBase));
        }
        p.setPen(s == bottleneck ? QColor(0xd0, 0x30, 0x30) : pal.color(QPalette::Text));
        QString label = tr("S%1 %2").arg(s).arg(m_model->stageDevice(s));
        if (!m_model->stagePlace(s).isEmpty())
            label += QStringLiteral("  ") + m_model->stagePlace(s);
        if (s == bottleneck)
            label += tr("  ◆ bottleneck");
        p.drawText(QRectF(8, lane.top(), labelWidth - 12, laneHeight / 2 + 4),
                   Qt::AlignLeft | Qt::AlignBottom, label);
        p.setPen(pal.color(QPalette::PlaceholderText));
        p.drawText(QRectF(8, lane.top() + laneHeight / 2 + 2, labelWidth - 12, laneHeight / 2),
                   Qt::AlignLeft | Qt::AlignTop, tr("busy %1").arg(formatSeconds(busy[s] / 1000)));
    }
    QFont small = font();
    small.setPointSizeF(std::max(6.5, font().pointSizeF() - 2));
    p.setFont(small);
    for (const TimelineSpan &s : m_model->spans()) {
        const QRectF box(xOf(s.startMs), area.top() + s.stage * laneHeight + 4,
                         std::max(1.0, xOf(s.endMs) - xOf(s.startMs)), laneHeight - 8);
        if (s.collective) {
            // Tensor-parallel collective time: a dark band across the compute box.
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(0x30, 0x30, 0x30, 150));
            p.drawRect(QRectF(box.left(), box.center().y() - 3, box.width(), 6));
            continue;
        }
        QColor c = m_model->stageColour(s.stage);
        if (!c.isValid())
            c = deviceColour(s.stage);
        p.setPen(QPen(c.darker(140), 1));
        p.setBrush(c.lighter(s.stage == bottleneck ? 110 : 125));
        p.drawRoundedRect(box, 3, 3);
        if (box.width() > 18) {
            p.setPen(Qt::black);
            p.drawText(box, Qt::AlignCenter, QString::number(s.microbatch));
        }
    }
    p.setFont(font());
    // Time axis.
    p.setPen(pal.color(QPalette::Mid));
    const double axisY = area.top() + stages * laneHeight + 2;
    p.drawLine(QPointF(area.left(), axisY), QPointF(area.right(), axisY));
    const double step = std::pow(10.0, std::floor(std::log10(span / 4)));
    p.setPen(pal.color(QPalette::PlaceholderText));
    for (double t = 0; t <= span + 1e-9; t += step) {
        const double x = xOf(start + t);
        p.drawLine(QPointF(x, axisY), QPointF(x, axisY + 4));
        // Labels start at their tick; the last ones end there, inside the widget.
        const QString label = QString::number(t, 'g', 4) + " ms";
        const double labelX = x + 2 + fm.horizontalAdvance(label) > width() - 2
                                  ? x - 2 - fm.horizontalAdvance(label)
                                  : x + 2;
        p.drawText(QPointF(labelX, axisY + fm.height()), label);
    }
}

} // namespace sb::ui
