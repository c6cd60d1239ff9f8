#include "ui/devices/devices_panel.h"

#include "ui/devices/device_delegate.h"

#include "core/cost/cost_model.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QInputDialog>
#include <QLabel>
#include <QLineEdit>
#include <QMenu>
#include <QPushButton>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>

#include <algorithm>

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
    // A push button sizes itself for its menu arrow (a tool button clips it).
    auto *whatIf = new QPushButton(tr("What-if"), this);
    whatIf->setToolTip(tr("Add what-if devices from the catalogue (resources/devices.json): "
                          "plan and estimate for hardware this machine does not have"));
    auto *whatIfMenu = new QMenu(whatIf);
    for (const QString &name : catalogueNames()) {
        auto *sub = whatIfMenu->addMenu(name);
        for (int count : {1, 2, 4, 8})
            sub->addAction(tr("%n device(s)", nullptr, count), this,
                           [this, name, count]() { addWhatIfDevices(name, count); });
    }
    whatIf->setMenu(whatIfMenu);
    whatIf->setEnabled(!whatIfMenu->isEmpty());
    countRow->addWidget(whatIf);
    auto *hostsButton = new QPushButton(tr("Hosts"), this);
    hostsButton->setObjectName("hostsButton");
    hostsButton->setToolTip(tr("Add remote hosts (MPI): their devices are probed through mpirun "
                               "and runs that use them start MPI ranks there over ssh"));
    auto *hostsMenu = new QMenu(hostsButton);
    hostsMenu->addAction(tr("Add hosts…"), this, [this]() {
        bool ok = false;
        const QString text = QInputDialog::getText(
            this, tr("Add hosts"), tr("Hosts (HOST[:SLOTS], separated by spaces or commas):"),
            QLineEdit::Normal, {}, &ok);
        if (ok && !text.trimmed().isEmpty())
            if (const QString error = addHosts(text); !error.isEmpty())
                emit message(error);
    });
    hostsMenu->addAction(tr("Add hostfile…"), this, [this]() {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open MPI hostfile"));
        if (!file.isEmpty())
            if (const QString error = addHosts(file, true); !error.isEmpty())
                emit message(error);
    });
    hostsButton->setMenu(hostsMenu);
    countRow->addWidget(hostsButton);
    layout->addLayout(countRow);
    m_hosts = new HostsModel(this);
    m_hostsView = new QListView(this);
    m_hostsView->setObjectName("hostsView");
    m_hostsView->setModel(m_hosts);
    m_hostsView->setMaximumHeight(72);
    m_hostsView->setVisible(false);
    layout->addWidget(m_hostsView);
    connect(m_hosts, &HostsModel::probed, this, &DevicesPanel::addProbedDevices);
    connect(m_hosts, &HostsModel::probeFailed, this, [this](const QString &error) {
        emit message(tr("Probing hosts failed: %1").arg(error));
    });

    m_dimsRow = new QWidget(this);
    auto *dimsLayout = new QHBoxLayout(m_dimsRow);
    dimsLayout->setContentsMargins(0, 0, 0, 0);
    dimsLayout->addWidget(new QLabel(tr("Dims:"), m_dimsRow));
    m_dims = new QLineEdit(m_dimsRow);
    m_dims->setObjectName("dimsEdit");
    m_dims->setClearButtonEnabled(true);
    m_dims->setToolTip(tr("Symbolic dims (other than the batch) bound for the memory ledger, "
                          "stage time estimates and Auto split, e.g. seq=64. Saved in the plan "
                          "as \"dims\"."));
    dimsLayout->addWidget(m_dims, 1);
    layout->addWidget(m_dimsRow);
    m_dimsStatus = new QLabel(this);
    m_dimsStatus->setWordWrap(true);
    layout->addWidget(m_dimsStatus);
    m_dimsSource = new QLabel(this);
    m_dimsSource->setWordWrap(true);
    m_dimsSource->hide();
    layout->addWidget(m_dimsSource);

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
    m_view->setContextMenuPolicy(Qt::CustomContextMenu);
    connect(m_view, &QListView::customContextMenuRequested, this, &DevicesPanel::showDeviceMenu);
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
    connect(m_dims, &QLineEdit::editingFinished, this, &DevicesPanel::applyDimsText);
    connect(placement, &PlacementModel::planDimsChanged, this, &DevicesPanel::refreshDims);
    updateSummary();
    refreshDims();
}

int DevicesPanel::addWhatIfDevices(const QString &name, int count)
{
    int next = 0;
    for (const DeviceInfo &device : m_placement->devices()) {
        bool numbered = false;
        const int index = device.id.section(QLatin1Char(':'), -1).toInt(&numbered);
        if (numbered &&
            device.id.section(QLatin1Char(':'), 0, -2).compare(name, Qt::CaseInsensitive) == 0)
            next = std::max(next, index + 1);
    }
    const QVector<DeviceInfo> devices = catalogueDevices(name, count, next);
    for (const DeviceInfo &device : devices)
        m_placement->addDevice(device);
    if (!devices.isEmpty())
        emit message(
            tr("Added %n what-if %1 device(s) from the catalogue", nullptr, int(devices.size()))
                .arg(name));
    return int(devices.size());
}

QString DevicesPanel::addHosts(const QString &text, bool hostfile)
{
    const QString error = hostfile ? m_hosts->addHostfile(text) : m_hosts->addHosts(text);
    if (!error.isEmpty())
        return error;
    m_hostsView->setVisible(m_hosts->rowCount() > 0);
    m_hosts->probe();
    emit message(tr("Probing %n host(s) through mpirun…", nullptr, m_hosts->rowCount()));
    return {};
}

void DevicesPanel::addProbedDevices(const QVector<DeviceInfo> &devices)
{
    // Appended after the devices already listed, host after host.
    int added = 0;
    for (DeviceInfo device : devices) {
        if (m_placement->deviceIndex(device.id) >= 0)
            continue;
        device.colour = deviceColour(int(m_placement->devices().size()));
        m_placement->addDevice(device);
        ++added;
    }
    emit message(tr("Added %n remote device(s)", nullptr, added));
}

bool DevicesPanel::removeDevice(int row)
{
    const auto &devices = m_placement->devices();
    if (row < 0 || row >= devices.size() || devices[row].origin == DeviceInfo::Origin::Local)
        return false;
    const QString id = devices[row].id;
    QVector<DeviceInfo> remaining = devices;
    remaining.removeAt(row);
    m_placement->setDevices(remaining);
    emit message(tr("Removed device %1").arg(id));
    return true;
}

void DevicesPanel::showDeviceMenu(const QPoint &pos)
{
    const QModelIndex index = m_view->indexAt(pos);
    if (!index.isValid())
        return;
    const int row = index.row();
    QMenu menu(this);
    const QString id = index.data(DeviceListModel::DeviceIdRole).toString();
    QAction *remove =
        menu.addAction(tr("Remove %1").arg(id), this, [this, row]() { removeDevice(row); });
    const bool local = m_placement->devices()[row].origin == DeviceInfo::Origin::Local;
    remove->setEnabled(!local);
    if (local)
        remove->setToolTip(tr("Local devices follow the 'Local CPU devices' count"));
    menu.exec(m_view->viewport()->mapToGlobal(pos));
}

QString modelDimsSettingsKey(const QString &modelPath)
{
    return QStringLiteral("modelDims/") + QFileInfo(modelPath).absoluteFilePath();
}

QString DevicesPanel::dimsSource() const
{
    return m_dimsSource->isHidden() ? QString() : m_dimsSource->text();
}

QString DevicesPanel::dimsStatus() const
{
    return m_dimsStatus->isHidden() ? QString() : m_dimsStatus->text();
}

void DevicesPanel::applyDimsText()
{
    std::map<std::string, std::int64_t> dims;
    const QStringList tokens =
        m_dims->text().split(QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts);
    for (const QString &token : tokens) {
        auto binding = cost::parseDimBinding(token.toStdString());
        if (!binding.ok()) {
            m_dimsStatus->setText(
                QStringLiteral("<font color='#d03030'>%1</font>")
                    .arg(QString::fromStdString(binding.error().message).toHtmlEscaped()));
            m_dimsStatus->show();
            return;
        }
        dims[binding->first] = binding->second;
    }
    if (dims == m_placement->planDims()) { // unchanged: keep where they came from
        refreshDims();
        return;
    }
    m_placement->setPlanDims(dims, tr("your entry"));
    // Remembered per model file: it opens with this binding next time.
    if (const auto &model = m_placement->modelData(); model && !model->path.isEmpty())
        QSettings().setValue(modelDimsSettingsKey(model->path), m_dims->text().trimmed());
    refreshDims();
}

void DevicesPanel::refreshDims()
{
    const auto &dims = m_placement->planDims();
    QStringList parts;
    for (const auto &[symbol, size] : dims)
        parts << QStringLiteral("%1=%2").arg(QString::fromStdString(symbol)).arg(size);
    if (!m_dims->hasFocus() || m_dims->text().isEmpty())
        m_dims->setText(parts.join(QStringLiteral(", ")));
    const auto &model = m_placement->modelData();
    const QStringList unbound = model ? model->unboundSymbols(dims) : QStringList{};
    const bool symbolic = !dims.empty() || (model && !model->unboundSymbols({}).isEmpty());
    m_dimsRow->setVisible(symbolic);
    QStringList examples;
    for (const QString &symbol : unbound)
        examples << symbol + QStringLiteral("=…");
    m_dims->setPlaceholderText(examples.join(QStringLiteral(", ")));
    const QString &source = m_placement->planDimsSource();
    m_dimsSource->setText(source.isEmpty() || dims.empty()
                              ? QString()
                              : QStringLiteral("<font color='#707070'>%1</font>")
                                    .arg(tr("Bound from %1.").arg(source).toHtmlEscaped()));
    m_dimsSource->setVisible(!m_dimsSource->text().isEmpty() && symbolic);
    if (unbound.isEmpty()) {
        m_dimsStatus->clear();
        m_dimsStatus->hide();
        return;
    }
    m_dimsStatus->setText(
        QStringLiteral("<font color='#ef6c00'>%1</font>")
            .arg(tr("Estimates leave out the nodes that depend on %1: bind it above.")
                     .arg(unbound.join(QStringLiteral(", ")).toHtmlEscaped())));
    m_dimsStatus->show();
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
    // Problems can name dozens of edges: the panel shows the first few, each
    // cut short, and keeps the device list in view; the tooltip and Plan ▸
    // Validate (the console) have every word.
    constexpr int kShown = 3;
    constexpr int kMaxChars = 150;
    auto shorten = [](const QString &text) {
        return (text.size() > kMaxChars ? text.left(kMaxChars - 1) + QStringLiteral("…") : text)
            .toHtmlEscaped();
    };
    for (const QString &warning : report.warnings)
        lines << "<font color='#ef6c00'>" + shorten(warning) + "</font>";
    if (!report.validated)
        lines << tr("checking the plan…");
    else if (report.isValid())
        lines << tr("<font color='#2e7d32'>✔ plan is valid</font>");
    for (int i = 0; i < std::min<int>(kShown, int(report.problems.size())); ++i)
        lines << "<font color='#d03030'>⚠ " + shorten(report.problems[i]) + "</font>";
    if (report.problems.size() > kShown)
        lines << tr("<font color='#d03030'>… and %n more (Plan ▸ Validate lists them all)</font>",
                    nullptr, int(report.problems.size()) - kShown);
    QStringList full = report.warnings;
    full += report.problems;
    m_summary->setToolTip(full.join("\n\n"));
    m_summary->setText(lines.join("<br>"));
}

} // namespace sb::ui
