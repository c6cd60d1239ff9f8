#include "ui/run/metrics_widget.h"

#include "ui/common/chart_export.h"
#include "ui/devices/device_info.h"

#include <QBarCategoryAxis>
#include <QBarSeries>
#include <QBarSet>
#include <QChart>
#include <QChartView>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineSeries>
#include <QVBoxLayout>
#include <QValueAxis>

namespace sb::ui {

MetricsWidget::MetricsWidget(QWidget *parent) : QWidget(parent)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(2, 2, 2, 2);
    m_summary = new QLabel(tr("No run yet."), this);
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);
    auto *charts = new QHBoxLayout;
    layout->addLayout(charts, 1);

    auto *chart = new QChart;
    chart->setTitle(tr("Throughput and latency per iteration"));
    chart->setMargins(QMargins(4, 4, 4, 4));
    m_throughput = new QLineSeries;
    m_throughput->setName(tr("throughput (samples/s)"));
    m_throughput->setPointsVisible(true);
    m_latency = new QLineSeries;
    m_latency->setName(tr("latency p50 (ms)"));
    m_latency->setPointsVisible(true);
    chart->addSeries(m_throughput);
    chart->addSeries(m_latency);
    auto *x = new QValueAxis;
    x->setTitleText(tr("iteration"));
    x->setLabelFormat("%d");
    auto *yThroughput = new QValueAxis;
    yThroughput->setTitleText(tr("samples/s"));
    yThroughput->setLabelFormat("%.0f");
    auto *yLatency = new QValueAxis;
    yLatency->setTitleText(tr("ms"));
    yLatency->setLabelFormat("%.0f");
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(yThroughput, Qt::AlignLeft);
    chart->addAxis(yLatency, Qt::AlignRight);
    m_throughput->attachAxis(x);
    m_throughput->attachAxis(yThroughput);
    m_latency->attachAxis(x);
    m_latency->attachAxis(yLatency);
    m_throughputView = new QChartView(chart, this);
    m_throughputView->setRenderHint(QPainter::Antialiasing);
    m_throughputView->setMinimumHeight(160);
    installExportMenu(m_throughputView, "throughput");
    charts->addWidget(m_throughputView, 1);

    auto *memory = new QChart;
    memory->setTitle(tr("Peak memory per device: measured vs ledger"));
    memory->setMargins(QMargins(4, 4, 4, 4));
    m_memoryView = new QChartView(memory, this);
    m_memoryView->setRenderHint(QPainter::Antialiasing);
    installExportMenu(m_memoryView, "memory");
    charts->addWidget(m_memoryView, 1);
}

void MetricsWidget::startRun(const QStringList &)
{
    m_throughput->clear();
    m_latency->clear();
    m_maxThroughput = 0;
    m_maxLatency = 0;
    m_summary->setText(tr("Running…"));
}

int MetricsWidget::pointCount() const
{
    return int(m_throughput->count());
}

void MetricsWidget::addIteration(const RunIteration &iteration)
{
    addIterations({iteration});
}

void MetricsWidget::addIterations(const QVector<RunIteration> &iterations)
{
    if (iterations.isEmpty())
        return;
    QList<QPointF> throughput, latency;
    for (const RunIteration &iteration : iterations) {
        throughput << QPointF(iteration.index, iteration.throughput);
        latency << QPointF(iteration.index, iteration.latencyP50Ms);
        m_maxThroughput = std::max(m_maxThroughput, iteration.throughput);
        m_maxLatency = std::max(m_maxLatency, iteration.latencyP50Ms);
    }
    m_throughput->append(throughput);
    m_latency->append(latency);
    auto fit = [](QLineSeries *series, double maxY) {
        const auto axes = series->attachedAxes();
        for (QAbstractAxis *axis : axes) {
            auto *value = qobject_cast<QValueAxis *>(axis);
            if (!value)
                continue;
            if (axis->orientation() == Qt::Horizontal) {
                // One tick per iteration while they fit, integer labels.
                const int last = int(std::max<qsizetype>(1, series->count() - 1));
                value->setRange(0, last);
                value->setTickType(QValueAxis::TicksDynamic);
                value->setTickAnchor(0);
                value->setTickInterval(std::max(1, (last + 9) / 10));
            } else {
                value->setRange(0, maxY * 1.1 + 1e-9);
                value->applyNiceNumbers();
            }
        }
    };
    fit(m_throughput, m_maxThroughput);
    fit(m_latency, m_maxLatency);
}

void MetricsWidget::showOutcome(const RunOutcome &outcome)
{
    m_summary->setText(
        tr("<b>%1</b> — throughput %2 samples/s · latency p50 %3 / p95 %4 / p99 %5 ms · bubble "
           "%6% (ideal %7%) · %8 micro-batch(es)%9 · worst GUI stall %10 ms")
            .arg(outcome.label.toHtmlEscaped())
            .arg(outcome.throughput, 0, 'f', 1)
            .arg(outcome.latencyP50, 0, 'f', 2)
            .arg(outcome.latencyP95, 0, 'f', 2)
            .arg(outcome.latencyP99, 0, 'f', 2)
            .arg(outcome.bubble * 100, 0, 'f', 1)
            .arg(outcome.idealBubble * 100, 0, 'f', 1)
            .arg(outcome.microbatchesUsed)
            .arg(outcome.microbatchNote.isEmpty()
                     ? QString()
                     : " (" + outcome.microbatchNote.toHtmlEscaped() + ")")
            .arg(outcome.worstStallMs, 0, 'f', 1));
    if (outcome.hasPrediction) {
        // Predicted (cost model, before the run) vs measured, run and stages.
        auto error = [](double predicted, double measured) {
            return measured > 0
                       ? QString::number((predicted - measured) / measured * 100, 'f', 1) + "%"
                       : QString("–");
        };
        QString text = tr("<br>Predicted vs measured — throughput %1 / %2 samples/s (%3) · "
                          "latency p50 %4 / %5 ms (%6)")
                           .arg(outcome.predictedThroughput, 0, 'f', 1)
                           .arg(outcome.throughput, 0, 'f', 1)
                           .arg(error(outcome.predictedThroughput, outcome.throughput))
                           .arg(outcome.predictedLatencyP50, 0, 'f', 2)
                           .arg(outcome.latencyP50, 0, 'f', 2)
                           .arg(error(outcome.predictedLatencyP50, outcome.latencyP50));
        for (int s = 0; s < outcome.stages.size(); ++s) {
            const RunStage &stage = outcome.stages[s];
            if (stage.predictedComputeMs < 0)
                continue;
            text += tr("<br>stage %1 (%2): compute %3 / %4 ms (%5), peak memory %6 / %7 MB")
                        .arg(s)
                        .arg(stage.device.toHtmlEscaped())
                        .arg(stage.predictedComputeMs, 0, 'f', 2)
                        .arg(stage.computeMs, 0, 'f', 2)
                        .arg(error(stage.predictedComputeMs, stage.computeMs))
                        .arg(double(stage.predictedPeakMemoryBytes) / 1048576.0, 0, 'f', 2)
                        .arg(double(stage.peakMemoryBytes) / 1048576.0, 0, 'f', 2);
        }
        m_summary->setText(m_summary->text() + text);
    }
    QChart *chart = m_memoryView->chart();
    chart->removeAllSeries();
    for (QAbstractAxis *axis : chart->axes())
        chart->removeAxis(axis);
    auto *measured = new QBarSet(tr("measured peak (MB)"));
    auto *ledger = new QBarSet(tr("ledger: activations + buffers (MB)"));
    auto *predictedPeak = new QBarSet(tr("predicted peak (MB)"));
    QStringList devices;
    double maxMb = 0;
    for (const RunStage &stage : outcome.stages) {
        devices << stage.device;
        *measured << double(stage.peakMemoryBytes) / 1048576.0;
        *ledger << double(stage.ledgerMemoryBytes) / 1048576.0;
        *predictedPeak << double(stage.predictedPeakMemoryBytes) / 1048576.0;
        maxMb = std::max({maxMb, double(stage.peakMemoryBytes) / 1048576.0,
                          double(stage.ledgerMemoryBytes) / 1048576.0,
                          double(stage.predictedPeakMemoryBytes) / 1048576.0});
    }
    auto *series = new QBarSeries;
    series->append(measured);
    series->append(ledger);
    if (outcome.hasPrediction)
        series->append(predictedPeak);
    else
        delete predictedPeak;
    chart->addSeries(series);
    auto *x = new QBarCategoryAxis;
    x->append(devices);
    auto *y = new QValueAxis;
    y->setTitleText(tr("MB"));
    y->setRange(0, maxMb * 1.1 + 1e-9);
    y->applyNiceNumbers();
    chart->addAxis(x, Qt::AlignBottom);
    chart->addAxis(y, Qt::AlignLeft);
    series->attachAxis(x);
    series->attachAxis(y);
}

} // namespace sb::ui
