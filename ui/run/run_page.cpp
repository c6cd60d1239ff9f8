#include "ui/run/run_page.h"

#include "core/common/paths.h"
#include "core/runtime/schedule_model.h"
#include "core/workflows/run_record.h"
#include "ui/common/store_access.h"
#include "ui/common/user_message.h"
#include "ui/run/run_record.h"

#include <QDir>

#include <QComboBox>
#include <QDateTime>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QThread>
#include <QToolButton>
#include <QVBoxLayout>

#include <QApplication>
#include <QPointer>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>

namespace sb::ui {

RunPage::RunPage(PlacementModel *placement, TaskRunner *tasks, StallProbe *probe, QWidget *parent)
    : QWidget(parent), m_placement(placement), m_tasks(tasks), m_probe(probe)
{
    m_timeline = new TimelineModel(this);
    m_timelineView = new TimelineView(m_timeline);
    m_metrics = new MetricsWidget;

    auto *layout = new QHBoxLayout(this);
    auto *configBox = new QGroupBox(tr("Run the current plan"), this);
    auto *form = new QFormLayout(configBox);
    m_inputs = new QComboBox(configBox);
    m_inputs->addItem(tr("Synthetic (zeros and ones)"), int(RunConfig::Inputs::Synthetic));
    m_inputs->addItem(tr(".npy file"), int(RunConfig::Inputs::Npy));
    m_inputs->addItem(tr("Dataset (.csv)"), int(RunConfig::Inputs::Dataset));
    form->addRow(tr("Inputs:"), m_inputs);
    auto *pathRow = new QHBoxLayout;
    m_inputPath = new QLineEdit(configBox);
    m_inputPath->setPlaceholderText(tr("input file"));
    auto *browse = new QToolButton(configBox);
    browse->setText(QStringLiteral("…"));
    pathRow->addWidget(m_inputPath);
    pathRow->addWidget(browse);
    form->addRow(tr("File:"), pathRow);
    m_batch = new QSpinBox(configBox);
    m_batch->setRange(1, 4096);
    m_batch->setValue(8);
    form->addRow(tr("Batch size:"), m_batch);
    m_microbatches = new QSpinBox(configBox);
    m_microbatches->setRange(1, 256);
    m_microbatches->setValue(4);
    form->addRow(tr("Micro-batches:"), m_microbatches);
    m_iterations = new QSpinBox(configBox);
    m_iterations->setRange(1, 1000);
    m_iterations->setValue(5);
    form->addRow(tr("Iterations:"), m_iterations);
    auto *buttons = new QHBoxLayout;
    m_runButton = new QPushButton(tr("▶ Run (F5)"), configBox);
    m_runButton->setObjectName("runButton");
    m_runButton->setDefault(true);
    m_cancelButton = new QPushButton(tr("Cancel"), configBox);
    m_cancelButton->setEnabled(false);
    buttons->addWidget(m_runButton);
    buttons->addWidget(m_cancelButton);
    form->addRow(buttons);
    m_progress = new QProgressBar(configBox);
    m_progress->setRange(0, 100);
    m_progress->setValue(0);
    form->addRow(m_progress);
    m_status = new QLabel(configBox);
    m_status->setWordWrap(true);
    form->addRow(m_status);
    configBox->setMaximumWidth(360);
    layout->addWidget(configBox);

    auto *right = new QSplitter(Qt::Vertical, this);
    auto *historyBox = new QGroupBox(tr("Runs, this session and stored (select several to "
                                        "compare side by side)"),
                                     right);
    auto *historyLayout = new QVBoxLayout(historyBox);
    m_history = new QStandardItemModel(0, 10, this);
    m_history->setHorizontalHeaderLabels(
        {tr("Run"), tr("Devices"), tr("Batch"), tr("Micro-batches"), tr("Throughput /s"),
         tr("p50 ms"), tr("p90 ms"), tr("Bubble"), tr("Ideal bubble"), tr("Model")});
    m_historyView = new QTableView(historyBox);
    m_historyView->setObjectName("runHistory");
    m_historyView->setModel(m_history);
    m_historyView->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_historyView->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_historyView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_historyView->horizontalHeader()->setStretchLastSection(true);
    m_historyView->verticalHeader()->hide();
    historyLayout->addWidget(m_historyView);

    m_details = new QTabWidget(right);
    m_stages = new QStandardItemModel(0, 7, this);
    m_stages->setHorizontalHeaderLabels({tr("Device"), tr("Nodes"), tr("Compute ms"), tr("Idle ms"),
                                         tr("Peak memory"), tr("Ledger (act. + buffers)"),
                                         tr("Sent")});
    m_stagesView = new QTableView(m_details);
    m_stagesView->setModel(m_stages);
    m_stagesView->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_stagesView->horizontalHeader()->setStretchLastSection(true);
    m_stagesView->verticalHeader()->hide();
    m_details->addTab(m_stagesView, tr("Stages of the selected run"));
    m_comparison = new RunComparisonModel(this);
    m_comparisonView = new RunComparisonView(m_comparison, m_details);
    m_details->addTab(m_comparisonView, tr("Compare selected runs"));
    right->setStretchFactor(0, 1);
    right->setStretchFactor(1, 3);
    layout->addWidget(right, 1);

    connect(browse, &QToolButton::clicked, this, [this]() {
        const QString path = QFileDialog::getOpenFileName(this, tr("Input file"), QString(),
                                                          tr("NumPy (*.npy);;CSV (*.csv)"));
        if (!path.isEmpty())
            m_inputPath->setText(path);
    });
    connect(m_runButton, &QPushButton::clicked, this, &RunPage::startRun);
    auto syncPlan = [this]() {
        m_placement->setPlanSettings(m_batch->value(), m_microbatches->value());
    };
    connect(m_batch, &QSpinBox::valueChanged, this, syncPlan);
    connect(m_microbatches, &QSpinBox::valueChanged, this, syncPlan);
    connect(m_cancelButton, &QPushButton::clicked, this, [this]() { m_tasks->cancel(m_taskId); });
    connect(m_historyView->selectionModel(), &QItemSelectionModel::selectionChanged, this,
            &RunPage::selectionChanged);
}

void RunPage::selectionChanged()
{
    QModelIndexList rows = m_historyView->selectionModel()->selectedRows();
    std::sort(rows.begin(), rows.end(),
              [](const QModelIndex &a, const QModelIndex &b) { return a.row() < b.row(); });
    if (rows.size() == 1) {
        showStages(m_outcomes[rows.front().row()]);
        m_details->setCurrentIndex(0);
    }
    if (rows.size() >= 2) {
        QVector<RunOutcome> runs;
        for (const QModelIndex &row : rows)
            runs << m_outcomes[row.row()];
        m_comparison->setRuns(runs);
        m_details->setCurrentIndex(1);
    }
}

void RunPage::loadHistory()
{
    runWithStore<std::vector<store::RunRecord>>(
        m_tasks, tr("Loading past runs"),
        [](store::Store &store, const CancelToken &) { return store.runs().runs(); }, this,
        [this](Result<std::vector<store::RunRecord>> result) {
            if (!result.ok()) {
                emit logMessage(userMessage(tr("Loading past runs"), result.error()));
                emit historyLoaded(0);
                return;
            }
            // Oldest first, before this session's runs; skip runs already listed.
            std::vector<store::RunRecord> records = std::move(result).value();
            std::sort(records.begin(), records.end(),
                      [](const auto &a, const auto &b) { return a.id < b.id; });
            QVector<RunOutcome> stored;
            for (const store::RunRecord &record : records) {
                const bool listed = std::any_of(
                    m_outcomes.begin(), m_outcomes.end(),
                    [&](const RunOutcome &outcome) { return outcome.storeId == record.id; });
                if (!listed && record.status == workflows::kRunSucceeded)
                    stored << outcomeFromRecord(record);
            }
            for (int i = 0; i < stored.size(); ++i) {
                m_outcomes.insert(i, stored[i]);
                m_history->insertRow(i, historyRow(stored[i]));
            }
            m_historyView->resizeColumnsToContents();
            if (!stored.isEmpty())
                emit logMessage(
                    tr("Loaded %n past run(s) from the store.", nullptr, int(stored.size())));
            emit historyLoaded(int(stored.size()));
        });
}

RunConfig RunPage::config() const
{
    RunConfig config;
    config.inputs = RunConfig::Inputs(m_inputs->currentData().toInt());
    config.inputPath = m_inputPath->text();
    config.batch = m_batch->value();
    config.microbatches = m_microbatches->value();
    config.iterations = m_iterations->value();
    return config;
}

void RunPage::setConfig(const RunConfig &config)
{
    m_inputs->setCurrentIndex(m_inputs->findData(int(config.inputs)));
    m_inputPath->setText(config.inputPath);
    m_batch->setValue(config.batch);
    m_microbatches->setValue(config.microbatches);
    m_iterations->setValue(config.iterations);
}

int RunPage::microbatches() const
{
    return m_microbatches->value();
}

int RunPage::batch() const
{
    return m_batch->value();
}

void RunPage::setMicrobatches(int microbatches)
{
    m_microbatches->setValue(microbatches);
}

RunRequest RunPage::makeRequest() const
{
    RunRequest request;
    const auto &model = m_placement->modelData();
    if (!model)
        return request;
    request.graph = model->graph;
    request.modelPath = model->path;
    request.config = config();
    request.plan = m_placement->makePlan(model->sha256); // checked against the file before it runs
    request.plan.batch = request.config.batch;
    request.plan.microbatches = request.config.microbatches;
    const QString traces = !m_traceDirectory.isEmpty()
                               ? m_traceDirectory
                               : QString::fromStdString((userDataDir() / "traces").string());
    QDir().mkpath(traces);
    request.config.tracePath =
        traces + QDateTime::currentDateTimeUtc().toString("/'run-'yyyyMMdd-HHmmss'.json'");
    return request;
}

bool RunPage::startRun()
{
    if (m_running) {
        emit errorOccurred(tr("A run is already going; cancel it first."));
        return false;
    }
    if (!m_placement->modelData()) {
        emit errorOccurred(tr("Open a model before running it."));
        return false;
    }
    const auto &report = m_placement->report();
    if (!report.isValid()) {
        emit errorOccurred(tr("The plan is not valid: %1").arg(report.problems.join("; ")));
        return false;
    }
    // A plan that uses what-if (catalogue) devices is estimated, not run.
    bool whatIf = false;
    for (int n = 0; n < m_placement->modelData()->nodeCount() && !whatIf; ++n) {
        const int d = m_placement->deviceOf(n);
        // Remote devices run (MPI launcher); catalogue devices are estimated.
        whatIf = d >= 0 && m_placement->devices()[d].origin == DeviceInfo::Origin::Catalogue;
    }
    if (whatIf)
        return showEstimate();
    RunRequest request = makeRequest();
    // Stage order = devices in the order their first node appears.
    QStringList stageDevices;
    QVector<QColor> colours;
    for (int n = 0; n < m_placement->modelData()->nodeCount(); ++n) {
        const int d = m_placement->deviceOf(n);
        if (d >= 0 && !stageDevices.contains(m_placement->devices()[d].id)) {
            stageDevices << m_placement->devices()[d].id;
            colours << m_placement->devices()[d].colour;
        }
    }
    m_timeline->reset(stageDevices, colours, request.config.microbatches);
    m_metrics->startRun(stageDevices);
    m_running = true;
    m_runButton->setEnabled(false);
    m_cancelButton->setEnabled(true);
    m_progress->setValue(0);
    m_status->setText(tr("Running %n stage(s)…", nullptr, int(stageDevices.size())));
    m_runStartedAt = QString::fromStdString(store::utcNowIso8601());
    m_probe->start();
    emit runStarted();
    emit logMessage(tr("Run started: %1 stage(s) on %2, batch %3, %4 micro-batch(es), %5 "
                       "iteration(s)")
                        .arg(stageDevices.size())
                        .arg(stageDevices.join(", "))
                        .arg(request.config.batch)
                        .arg(request.config.microbatches)
                        .arg(request.config.iterations));

    QPointer<RunPage> self(this);
    // Live updates: metrics per iteration and the latest iteration's timeline.
    // The worker queues them; the GUI thread drains whatever has queued in one
    // go (one chart refit, one timeline), so a burst of a thousand iterations
    // costs one relayout, not a thousand.
    struct LiveQueue
    {
        std::mutex mutex;
        QVector<RunLive> pending;
        bool drainScheduled = false;
    };
    auto queue = std::make_shared<LiveQueue>();
    auto liveUpdate = [self, queue](const RunLive &update) {
        {
            std::lock_guard<std::mutex> lock(queue->mutex);
            queue->pending.push_back(update);
            if (queue->drainScheduled)
                return;
            queue->drainScheduled = true;
        }
        QMetaObject::invokeMethod(
            qApp,
            [self, queue]() {
                QVector<RunLive> updates;
                {
                    std::lock_guard<std::mutex> lock(queue->mutex);
                    updates.swap(queue->pending);
                    queue->drainScheduled = false;
                }
                if (!self || updates.isEmpty())
                    return;
                QVector<RunIteration> iterations;
                for (const RunLive &update : updates)
                    iterations << update.iteration;
                self->m_metrics->addIterations(iterations);
                const QStringList devices = [&] {
                    QStringList list;
                    for (int s = 0; s < self->m_timeline->stageCount(); ++s)
                        list << self->m_timeline->stageDevice(s);
                    return list;
                }();
                QVector<QColor> colours;
                for (int s = 0; s < self->m_timeline->stageCount(); ++s)
                    colours << self->m_timeline->stageColour(s);
                self->m_timeline->reset(devices, colours, self->m_timeline->microbatches());
                self->m_timeline->appendSpans(updates.back().timeline);
            },
            Qt::QueuedConnection);
    };
    connect(m_tasks, &TaskRunner::taskProgress, this,
            [this](int id, double fraction, const QString &message) {
                if (id != m_taskId)
                    return;
                m_progress->setValue(int(fraction * 100));
                m_status->setText(message);
            });
    m_taskId = m_tasks->start<RunOutcome>(
        tr("Running plan"),
        [request, liveUpdate](const ProgressFn &progress, const CancelToken &cancel) {
            return runPipeline(request, progress, cancel, liveUpdate);
        },
        this, [this](Result<RunOutcome> result) { finishRun(std::move(result)); });
    return true;
}

void RunPage::finishRun(Result<RunOutcome> result)
{
    m_probe->stop();
    m_running = false;
    m_runButton->setEnabled(true);
    m_cancelButton->setEnabled(false);
    disconnect(m_tasks, &TaskRunner::taskProgress, this, nullptr);
    if (!result.ok()) {
        m_status->setText(userMessage(tr("The run"), result.error()));
        m_progress->setValue(0);
        if (result.error().code == ErrorCode::Cancelled)
            emit logMessage(tr("Run cancelled."));
        else
            emit errorOccurred(userMessage(tr("The run"), result.error()));
        emit runFinished(false);
        return;
    }
    RunOutcome outcome = std::move(result).value();
    outcome.worstStallMs = m_probe->worstGapMs();
    outcome.startedAt = m_runStartedAt;
    outcome.finishedAt = QString::fromStdString(store::utcNowIso8601());
    outcome.modelName = QFileInfo(m_placement->modelData()->path).fileName();
    outcome.label = tr("Run (%1), %2 mb")
                        .arg(QDateTime::currentDateTime().toString("HH:mm:ss"))
                        .arg(outcome.microbatchesUsed);
    m_progress->setValue(100);
    m_status->setText(tr("Done: %1 samples/s, bubble %2% (ideal %3%). Worst GUI-thread stall "
                         "%4 ms.")
                          .arg(outcome.throughput, 0, 'f', 1)
                          .arg(outcome.bubble * 100, 0, 'f', 1)
                          .arg(outcome.idealBubble * 100, 0, 'f', 1)
                          .arg(outcome.worstStallMs, 0, 'f', 1));
    // The final timeline is the last iteration's.
    QVector<QColor> colours;
    QStringList devices, places;
    for (const RunStage &stage : outcome.stages) {
        devices << stage.device;
        places << TimelineModel::placeLabel(stage.host, stage.rank);
        const int d = m_placement->deviceIndex(stage.device);
        colours << (d >= 0 ? m_placement->devices()[d].colour : QColor());
    }
    m_timeline->reset(devices, colours, outcome.microbatchesUsed);
    m_timeline->setStagePlaces(places);
    m_timeline->appendSpans(outcome.timeline);
    m_metrics->showOutcome(outcome);
    showStages(outcome);
    m_outcomes.push_back(outcome);
    addHistoryRow(outcome);
    saveToStore(outcome);
    emit logMessage(tr("%1: throughput %2 samples/s, p50 %3 ms, bubble %4% (ideal %5%), worst "
                       "GUI-thread stall %6 ms%7")
                        .arg(outcome.label)
                        .arg(outcome.throughput, 0, 'f', 1)
                        .arg(outcome.latencyP50, 0, 'f', 2)
                        .arg(outcome.bubble * 100, 0, 'f', 1)
                        .arg(outcome.idealBubble * 100, 0, 'f', 1)
                        .arg(outcome.worstStallMs, 0, 'f', 1)
                        .arg(outcome.tracePath.isEmpty()
                                 ? QString()
                                 : tr("; trace %1").arg(outcome.tracePath)));
    emit runFinished(true);
}

bool RunPage::showEstimate()
{
    const auto &report = m_placement->report();
    if (!report.validated) {
        emit errorOccurred(tr("The estimate is not ready yet; try again in a moment."));
        return false;
    }
    if (report.stageDevices.isEmpty()) {
        emit errorOccurred(tr("No estimate for this placement: %1")
                               .arg(report.problems.isEmpty() ? tr("nothing is assigned")
                                                              : report.problems.front()));
        return false;
    }
    // The validator's stages in its order, each with its per-micro-batch
    // time (compute + transfer in), put through core's schedule model; the
    // page only draws what it returns.
    QStringList devices;
    QVector<QColor> colours;
    std::vector<double> stageMs;
    RunOutcome outcome;
    for (const int d : report.stageDevices) {
        if (d < 0)
            continue;
        devices << m_placement->devices()[d].id;
        colours << m_placement->devices()[d].colour;
        stageMs.push_back(std::max(0.0, report.devices[d].stageSeconds) * 1000.0);
        RunStage stage;
        stage.device = m_placement->devices()[d].id;
        stage.nodes = report.devices[d].nodes;
        stage.ledgerMemoryBytes = report.devices[d].activations + report.devices[d].buffers;
        outcome.stages << stage;
    }
    const int m = m_microbatches->value();
    const runtime::SchedulePrediction schedule = runtime::simulateChain(stageMs, m, batch());
    for (const runtime::ScheduleSpan &span : schedule.computeSpans)
        outcome.timeline << TimelineSpan{span.stage, span.microbatch, 0, span.startMs, span.endMs};
    for (qsizetype s = 0; s < outcome.stages.size(); ++s) {
        outcome.stages[s].computeMs = schedule.stageComputeMs[std::size_t(s)];
        outcome.stages[s].idleMs = schedule.stageIdleMs[std::size_t(s)];
    }
    outcome.config = config();
    outcome.label = tr("What-if estimate %1").arg(m_outcomes.size() + 1);
    outcome.estimate = true;
    outcome.modelName = QFileInfo(m_placement->modelData()->path).fileName();
    outcome.microbatchesUsed = m;
    outcome.throughput = report.throughput;
    outcome.latencyP50 = outcome.latencyP95 = outcome.latencyP99 = report.latencySeconds * 1000.0;
    outcome.idealBubble = report.bubbleFraction;
    m_timeline->reset(devices, colours, m);
    m_timeline->appendSpans(outcome.timeline);
    outcome.bubble = schedule.bubbleFraction;
    m_metrics->showOutcome(outcome);
    showStages(outcome);
    m_outcomes.push_back(outcome);
    addHistoryRow(outcome);
    m_status->setText(tr("What-if estimate from the cost model and the catalogue (not a "
                         "measurement): %1 samples/s.")
                          .arg(outcome.throughput, 0, 'f', 1));
    emit runStarted();
    emit logMessage(tr("%1: %2 samples/s estimated, batch latency %3 ms")
                        .arg(outcome.label)
                        .arg(outcome.throughput, 0, 'f', 1)
                        .arg(outcome.latencyP50, 0, 'f', 2));
    emit runFinished(true);
    return true;
}

void RunPage::saveToStore(const RunOutcome &outcome)
{
    const QString modelPath = m_placement->modelData() ? m_placement->modelData()->path : QString();
    store::RunRecord record = recordFromOutcome(outcome, modelPath);
    const int row = int(m_outcomes.size()) - 1; // the row addHistoryRow just added
    runWithStore<store::RunRecord>(
        m_tasks, tr("Saving the run"),
        [record](store::Store &store, const CancelToken &) -> Result<store::RunRecord> {
            return workflows::saveRunRecord(store, record);
        },
        this,
        [this, row](Result<store::RunRecord> result) {
            if (!result.ok()) {
                emit logMessage(userMessage(tr("Saving the run"), result.error()));
                return;
            }
            if (row >= 0 && row < m_outcomes.size() && m_outcomes[row].storeId == 0) {
                RunOutcome &outcome = m_outcomes[row];
                outcome.storeId = result->id;
                outcome.label = storedRunLabel(*result);
                m_history->item(row, 0)->setText(outcome.label);
                m_historyView->resizeColumnToContents(0);
            }
            emit logMessage(tr("Run saved to the store (run #%1).").arg(result->id));
            emit runSaved(row, result->id);
        });
}

void RunPage::showStages(const RunOutcome &outcome)
{
    m_stages->removeRows(0, m_stages->rowCount());
    for (const RunStage &stage : outcome.stages) {
        QList<QStandardItem *> row;
        row << new QStandardItem(stage.device) << new QStandardItem(QString::number(stage.nodes))
            << new QStandardItem(QString::number(stage.computeMs, 'f', 2))
            << new QStandardItem(QString::number(stage.idleMs, 'f', 2))
            << new QStandardItem(formatBytes(double(stage.peakMemoryBytes)))
            << new QStandardItem(formatBytes(double(stage.ledgerMemoryBytes)))
            << new QStandardItem(formatBytes(double(stage.sentBytes)));
        m_stages->appendRow(row);
    }
    m_stagesView->resizeColumnsToContents();
}

QList<QStandardItem *> RunPage::historyRow(const RunOutcome &outcome) const
{
    QStringList devices;
    for (const RunStage &stage : outcome.stages)
        devices << stage.device;
    auto number = [](double value, int decimals) {
        return std::isnan(value) ? QString() : QString::number(value, 'f', decimals);
    };
    auto percent = [](double value) {
        return std::isnan(value) ? QString() : QStringLiteral("%1%").arg(value * 100, 0, 'f', 1);
    };
    QList<QStandardItem *> row;
    row << new QStandardItem(outcome.label) << new QStandardItem(devices.join(", "))
        << new QStandardItem(QString::number(outcome.config.batch))
        << new QStandardItem(QString::number(outcome.microbatchesUsed))
        << new QStandardItem(number(outcome.throughput, 1))
        << new QStandardItem(number(outcome.latencyP50, 2))
        << new QStandardItem(number(outcome.latencyP90, 2))
        << new QStandardItem(percent(outcome.bubble))
        << new QStandardItem(percent(outcome.idealBubble)) << new QStandardItem(outcome.modelName);
    row.front()->setToolTip(outcome.startedAt.isEmpty()
                                ? outcome.label
                                : tr("%1, started %2").arg(outcome.label, outcome.startedAt));
    for (QStandardItem *item : row)
        item->setEditable(false);
    return row;
}

void RunPage::addHistoryRow(const RunOutcome &outcome)
{
    m_history->appendRow(historyRow(outcome));
    m_historyView->resizeColumnsToContents();
}

} // namespace sb::ui
