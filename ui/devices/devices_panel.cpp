#include "ui/devices/devices_panel.h"

#include "ui/devices/device_delegate.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

namespace sb::ui {

namespace {

QLabel *legendEntry(const QColor &colour, const QString &text, QWidget *parent)
{
    // A coloured square in rich text: drawn by the label on every style.
    auto *label = new QLabel(QStringLiteral("<span style='color:%1'>■</span> %2")
                                 .arg(colour.name(), text.toHtmlEscaped()),
                             parent);
    label->setTextFormat(Qt::RichText);
    return label;
}

} // namespace

DevicesPanel::DevicesPanel(PlacementModel *placement, QWidget *parent)
    : QWidget(parent), m_placement(placement)
{
    auto *layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);

    auto *countRow = new QHBoxLayout;
    countRow->addWidget(new QLabel(tr("Local CPU devices:"), this));
    m_localCount = new QSpinBox(this);
    m_localCount->setRange(1, 16);
    m_localCount->setValue(2);
    m_localCount->setToolTip(tr("Split this machine's cores into N devices, each with its own "
                                "thread pool and an equal share of memory"));
    countRow->addWidget(m_localCount);
    countRow->addStretch(1);
    layout->addLayout(countRow);

    m_model = new DeviceListModel(placement, this);
    m_view = new QListView(this);
    m_view->setModel(m_model);
    m_view->setItemDelegate(new DeviceDelegate(m_view));
    m_view->setDragDropMode(QAbstractItemView::DropOnly);
    m_view->setAcceptDrops(true);
    m_view->setDropIndicatorShown(true);
    m_view->setDefaultDropAction(Qt::CopyAction);
    m_view->setSelectionMode(QAbstractItemView::SingleSelection);
    m_view->setUniformItemSizes(false);
    m_view->setSpacing(2);
    m_view->setToolTip(tr("Drop nodes or blocks on a device to place them there"));
    layout->addWidget(m_view, 1);

    auto *legend = new QHBoxLayout;
    legend->addWidget(legendEntry(DeviceDelegate::weightsColour(), tr("weights"), this));
    legend->addWidget(legendEntry(DeviceDelegate::activationsColour(), tr("activations"), this));
    legend->addWidget(legendEntry(DeviceDelegate::buffersColour(), tr("buffers"), this));
    legend->addStretch(1);
    layout->addLayout(legend);
    const QString legendTip = tr("Each device shows two bars: the upper one is the memory used "
                                 "against the device's capacity, the lower one what the used "
                                 "memory is made of. A non-zero part is always at least a few "
                                 "pixels wide.");
    for (int i = 0; i < legend->count(); ++i)
        if (QWidget *w = legend->itemAt(i)->widget())
            w->setToolTip(legendTip);
    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    layout->addWidget(m_summary);

    connect(m_localCount, &QSpinBox::valueChanged, this, &DevicesPanel::localDeviceCountChanged);
    // A loaded plan may bring its own local devices: show their count without
    // asking for a new discovery.
    connect(placement, &PlacementModel::devicesChanged, this, [this]() {
        int local = 0;
        for (const DeviceInfo &device : m_placement->devices())
            if (device.origin == DeviceInfo::Origin::Local)
                ++local;
        if (local > 0 && local != m_localCount->value()) {
            const QSignalBlocker blocker(m_localCount);
            m_localCount->setValue(local);
        }
    });
    connect(placement, &PlacementModel::placementChanged, this, &DevicesPanel::updateSummary);
    updateSummary();
}

void DevicesPanel::updateSummary()
{
    const auto &report = m_placement->report();
    if (!m_placement->modelData()) {
        m_summary->setText(tr("No model loaded."));
        return;
    }
    QStringList lines;
    double slowest = -1;
    int stages = 0;
    for (const auto &ledger : report.devices) {
        if (ledger.nodes > 0)
            ++stages;
        slowest = std::max(slowest, ledger.stageSeconds);
    }
    lines << tr("%n stage(s), %1 cut edge(s)", nullptr, stages).arg(report.cuts.size());
    if (slowest > 0)
        lines << tr("slowest stage ≈ %1 per micro-batch").arg(formatSeconds(slowest));
    if (report.validated && report.throughput > 0)
        lines << tr("estimate: %1 samples/s, batch latency %2, bubble %3%")
                     .arg(report.throughput, 0, 'f', 1)
                     .arg(formatSeconds(report.latencySeconds))
                     .arg(report.bubbleFraction * 100, 0, 'f', 1);
    for (const QString &warning : report.warnings)
        lines << "<font color='#ef6c00'>" + warning.toHtmlEscaped() + "</font>";
    if (report.isValid())
        lines << tr("<font color='#2e7d32'>✔ plan is valid</font>");
    else
        for (const QString &problem : report.problems)
            lines << "<font color='#d03030'>⚠ " + problem.toHtmlEscaped() + "</font>";
    m_summary->setText(lines.join("<br>"));
}

} // namespace sb::ui
