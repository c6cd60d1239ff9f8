#include "app/gui/screenshots.h"

#include "core/common/paths.h"
#include "ui/common/stall_probe.h"
#include "ui/common/store_access.h"
#include "ui/devices/devices_panel.h"
#include "ui/eval/charts.h"
#include "ui/eval/eval_page.h"
#include "ui/eval/risk_models.h"
#include "ui/eval/risk_panel.h"
#include "ui/governance/governance_page.h"
#include "ui/graph/graph_page.h"
#include "ui/graph/node_mime.h"
#include "ui/mainwindow/main_window.h"
#include "ui/registry/registry_page.h"
#include "ui/report/report_page.h"
#include "ui/run/run_page.h"

#include <QAbstractSeries>
#include <QApplication>
#include <QChart>
#include <QChartView>
#include <QComboBox>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QElapsedTimer>
#include <QFileDialog>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QRegularExpression>
#include <QScrollBar>
#include <QSettings>
#include <QStandardItemModel>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTextBrowser>
#include <QThread>
#include <QTimer>
#include <QTreeView>
#include <QXYSeries>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>

namespace sb::ui {

bool waitFor(const std::function<bool()> &done, int timeoutMs)
{
    QElapsedTimer timer;
    timer.start();
    while (!done()) {
        if (timer.elapsed() > timeoutMs)
            return false;
        QApplication::processEvents(QEventLoop::AllEvents, 20);
        QThread::msleep(5);
    }
    QApplication::processEvents();
    return true;
}

namespace {

// Prints one line per action of the walk, and remembers failures for the exit code.
class Walk
{
public:
    explicit Walk(const QDir &dir) : m_dir(dir) {}

    void say(const QString &text) { std::printf("  %s\n", qPrintable(text)); }
    void step(const QString &title)
    {
        std::printf("step %d: %s\n", ++m_step, qPrintable(title));
        std::fflush(stdout);
    }
    bool check(bool ok, const QString &what)
    {
        std::printf("  %s %s\n", ok ? "ok  " : "FAIL", qPrintable(what));
        std::fflush(stdout);
        if (!ok)
            ++m_failures;
        return ok;
    }
    bool save(QWidget *widget, const QString &name)
    {
        QApplication::processEvents();
        const QPixmap pixmap = widget->grab();
        const QString path = m_dir.filePath(name);
        const bool ok = pixmap.save(path);
        return check(ok, QStringLiteral("screenshot %1 (%2x%3)")
                             .arg(path)
                             .arg(pixmap.width())
                             .arg(pixmap.height()));
    }
    int failures() const { return m_failures; }

    // The GUI thread's worst stall while the app works on a step, measured by
    // a 10 ms timer probe; the walk's own screenshots are left out (paused).
    void probeStart() { m_probe.start(); }
    void probePause()
    {
        m_probe.stop();
        m_stepWorst = std::max(m_stepWorst, m_probe.worstGapMs());
    }
    // Over 100 ms is reported as a warning, not a failed step: the figure
    // also counts time the OS gave to other processes on a busy machine.
    void probeReport(const QString &what)
    {
        probePause();
        std::printf("  %s worst GUI-thread stall while %s: %.1f ms\n",
                    m_stepWorst < 100.0 ? "ok  " : "WARN", qPrintable(what), m_stepWorst);
        std::fflush(stdout);
        m_worst = std::max(m_worst, m_stepWorst);
        m_stepWorst = 0;
    }
    double worstStallMs() const { return m_worst; }

private:
    StallProbe m_probe;
    double m_stepWorst = 0;
    double m_worst = 0;
    QDir m_dir;
    int m_step = 0;
    int m_failures = 0;
};

// Calls `act` with the modal dialog of type T once it is shown (the dialog's
// exec() runs its own event loop, so this polls from a timer).
template <typename T> void whenModal(const std::function<void(T *)> &act)
{
    auto *timer = new QTimer(qApp);
    auto started = std::make_shared<QElapsedTimer>();
    started->start();
    QObject::connect(timer, &QTimer::timeout, qApp, [timer, act, started]() {
        auto *dialog = qobject_cast<T *>(QApplication::activeModalWidget());
        if (!dialog && started->elapsed() < 20000)
            return;
        timer->stop();
        timer->deleteLater();
        if (dialog && dialog->isVisible())
            act(dialog);
    });
    timer->start(30);
}

// Answers the next file dialog with `path`, as a user typing the name and
// pressing Save.
void answerFileDialog(const QString &path)
{
    whenModal<QFileDialog>([path](QFileDialog *dialog) {
        dialog->selectFile(path);
        // Pressing Enter in the file name field presses Save.
        QMetaObject::invokeMethod(dialog, "accept");
    });
}

QDockWidget *dockNamed(MainWindow &window, const QString &name)
{
    return window.findChild<QDockWidget *>(name);
}

// Closes the bottom docks and the details dock (as a user makes room for a
// page); returns the ones that were open, to show them again.
QList<QDockWidget *> hideDocks(MainWindow &window)
{
    QList<QDockWidget *> hidden;
    for (const char *name : {"ConsoleDock", "TimelineDock", "MetricsDock", "DetailsDock"})
        if (QDockWidget *dock = dockNamed(window, name); dock && dock->isVisible())
            hidden << dock;
    for (QDockWidget *dock : hidden)
        dock->hide();
    return hidden;
}

int chartPoints(QChartView *view)
{
    int points = 0;
    for (QAbstractSeries *series : view->chart()->series())
        if (auto *xy = qobject_cast<QXYSeries *>(series))
            points += int(xy->count());
    return points;
}

QModelIndex findItem(QStandardItemModel *model, int role, const QVariant &value,
                     const QModelIndex &parent = {})
{
    for (int r = 0; r < model->rowCount(parent); ++r) {
        const QModelIndex index = model->index(r, 0, parent);
        if (index.data(role) == value)
            return index;
        const QModelIndex child = findItem(model, role, value, index);
        if (child.isValid())
            return child;
    }
    return {};
}

} // namespace

int renderScreenshots(const QString &directory)
{
    QDir().mkpath(directory);
    Walk walk{QDir(directory)};

    // A scratch store, settings and trace folder: the walk never touches the
    // user's database and gives the same pictures on every machine.
    QTemporaryDir scratch;
    if (!scratch.isValid()) {
        std::fprintf(stderr, "screenshots: cannot create a temporary directory\n");
        return 1;
    }
    const QString database = scratch.filePath("store.db");
    setGuiDatabasePath(database.toStdString());
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, scratch.filePath("settings"));
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, scratch.filePath("settings"));
    QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
    const QString exports = scratch.filePath("exports");
    QDir().mkpath(exports);
    std::printf("screenshots: walk with a temporary store %s; PNGs to %s\n", qPrintable(database),
                qPrintable(QDir(directory).absolutePath()));

    MainWindow window;
    window.resize(1600, 1000);
    window.show();
    window.runPage()->setTraceDirectory(scratch.filePath("traces"));
    auto idle = [&window]() { return !window.isBusy(); };
    waitFor(idle, 10000);

    // 1. The demo model, as `./scripts/run` opens it: blocks collapsed.
    walk.step("open the demo model");
    walk.probeStart();
    window.openModel(QString::fromStdString(demoDecoderPath().string()));
    if (!walk.check(waitFor([&]() { return window.placement()->modelData() && idle(); }, 60000),
                    "the demo decoder opened and was laid out"))
        return 1;
    walk.probeReport("opening and laying out the model");
    const auto model = window.placement()->modelData();
    int blocks = 0;
    for (const auto &group : model->groups)
        blocks += group.size() > 1 ? 1 : 0;
    walk.say(QStringLiteral("%1: %2 nodes, %3 blocks (collapsed), %4 devices")
                 .arg(QFileInfo(model->path).fileName())
                 .arg(model->nodeCount())
                 .arg(blocks)
                 .arg(window.placement()->devices().size()));
    walk.save(&window, "01-graph.png");

    // The decoder ships a sample input (decoder_input.npy): it opens with its
    // sequence length bound from it, and the devices panel says so. The user
    // could type another binding in the Dims field.
    walk.step("the decoder opens with seq bound from its sample input");
    auto *dims = window.devicesPanel()->findChild<QLineEdit *>("dimsEdit");
    if (!walk.check(dims != nullptr, "the devices panel has a Dims field"))
        return 1;
    waitFor([&] { return !window.devicesPanel()->dimsSource().isEmpty(); }, 30000);
    if (!walk.check(window.devicesPanel()->dimsStatus().isEmpty() &&
                        window.placement()->planDims().count("seq") == 1,
                    "seq is bound when the decoder opens"))
        return 1;
    walk.say(QStringLiteral("%1 (%2): every node has an estimate")
                 .arg(dims->text(), window.placement()->planDimsSource()));
    waitFor(idle, 30000);

    // 2. Drag blocks onto the second device. A block in the middle alone
    // would make the pipeline go cpu:0 -> cpu:1 -> cpu:0 (a cycle the page
    // marks), so the user drags from the end of the graph back to the middle
    // block; every drop leaves a valid two-stage plan.
    walk.step("drag a block onto the second device");
    GraphScene *scene = window.graphPage()->scene();
    QListView *devicesView = window.devicesPanel()->view();
    if (auto *dock = dockNamed(window, "DevicesDock"))
        dock->raise();
    const int target = 1;
    if (!walk.check(scene && window.placement()->devices().size() > target,
                    "the graph is shown and there is a second device"))
        return 1;
    std::vector<int> multi;
    for (std::size_t g = 0; g < model->groups.size(); ++g)
        if (model->groups[g].size() > 1)
            multi.push_back(int(g));
    const int middle = multi.empty() ? -1 : multi[multi.size() / 2];
    if (!walk.check(middle >= 0, "the model has blocks"))
        return 1;
    const graph::NodeId splitAt = model->groups[std::size_t(middle)].front();
    // The boxes the user drags: every box from the middle block on, last first.
    std::vector<int> boxes;
    for (std::size_t i = 0; i < scene->layout().items.size(); ++i) {
        const LayoutItem &item = scene->layout().items[i];
        const graph::NodeId first = model->groups[std::size_t(item.group)].front();
        if (first >= splitAt)
            boxes.push_back(int(i));
    }
    std::sort(boxes.begin(), boxes.end(), [&](int a, int b) {
        return model->groups[std::size_t(scene->layout().items[std::size_t(a)].group)].front() >
               model->groups[std::size_t(scene->layout().items[std::size_t(b)].group)].front();
    });
    const QString targetId = window.placement()->devices()[target].id;
    GraphBoxItem *middleBox = nullptr;
    walk.probeStart();
    for (int index : boxes) {
        const LayoutItem &item = scene->layout().items[std::size_t(index)];
        GraphBoxItem *box = scene->boxForNode(model->groups[std::size_t(item.group)].front());
        if (!box)
            continue;
        const QVector<graph::NodeId> nodes = box->nodes(); // what a drag of this box carries
        const bool dropped = simulateNodeDrop(devicesView, nodes, target);
        // A user's drops are seconds apart: let the app settle between them.
        waitFor([&]() { return window.placement()->report().validated && idle(); }, 30000);
        bool onTarget = dropped;
        for (graph::NodeId n : nodes)
            onTarget = onTarget && window.placement()->deviceOf(n) == target;
        walk.check(onTarget,
                   QStringLiteral("dragged %1 '%2' (%3 nodes) onto %4")
                       .arg(item.node == graph::kNoNode ? "block" : "node")
                       .arg(QString::fromStdString(model->groupNames[std::size_t(item.group)]))
                       .arg(nodes.size())
                       .arg(targetId));
        if (item.group == middle)
            middleBox = box;
    }
    waitFor([&]() { return window.placement()->report().validated && idle(); }, 30000);
    walk.probeReport("dropping the blocks and validating the plan");
    const auto &report = window.placement()->report();
    walk.check(report.isValid(),
               QStringLiteral("the plan is valid: %1 cut edge(s)%2")
                   .arg(report.cuts.size())
                   .arg(report.problems.isEmpty() ? QString()
                                                  : "; problems: " + report.problems.join("; ")));
    walk.say(QStringLiteral("undo stack: %1 placement command(s)")
                 .arg(window.placement()->undoStack()->count()));
    if (middleBox) {
        // Click the block at the split: the details dock shows it, the view
        // centres on where the two devices meet.
        scene->clearSelection();
        middleBox->setSelected(true);
        window.graphPage()->view()->centerOn(middleBox);
    }
    walk.save(&window, "02-placement.png");

    // 3. Run: press the Run button, twice (2 and 4 micro-batches), then compare.
    walk.step("press Run, see the timeline and metrics");
    window.pages()->setCurrentWidget(window.runPage());
    const QString demoDir = QString::fromStdString(demoClassifierPath().parent_path().string());
    auto *runButton = window.runPage()->findChild<QPushButton *>("runButton");
    if (!walk.check(runButton != nullptr, "the Run button is there"))
        return 1;
    auto runWith = [&](int microbatches) {
        RunConfig config = window.runPage()->config();
        config.inputs = RunConfig::Inputs::Npy; // the demo decoder's token ids [8, 64]
        config.inputPath = demoDir + "/decoder_input.npy";
        config.batch = 8;
        config.microbatches = microbatches;
        config.iterations = 5;
        window.runPage()->setConfig(config);
        const int before = int(window.runPage()->outcomes().size());
        bool saved = false;
        auto connection = QObject::connect(window.runPage(), &RunPage::runSaved, &window,
                                           [&saved](int, qint64) { saved = true; });
        walk.probeStart();
        runButton->click();
        const bool finished =
            waitFor([&]() { return !window.runPage()->isRunning() && saved && idle(); }, 180000);
        walk.probeReport(QStringLiteral("running with %1 micro-batches").arg(microbatches));
        QObject::disconnect(connection);
        if (!walk.check(finished && window.runPage()->outcomes().size() > before,
                        QStringLiteral("run with %1 micro-batches finished and was stored")
                            .arg(microbatches)))
            return;
        const RunOutcome &outcome = window.runPage()->outcomes().back();
        walk.say(QStringLiteral("%1: %2 samples/s, p50 %3 ms, p90 %4 ms, bubble %5% (formula "
                                "%6%), worst GUI-thread stall %7 ms")
                     .arg(outcome.label)
                     .arg(outcome.throughput, 0, 'f', 1)
                     .arg(outcome.latencyP50, 0, 'f', 2)
                     .arg(outcome.latencyP90, 0, 'f', 2)
                     .arg(outcome.bubble * 100, 0, 'f', 1)
                     .arg(outcome.idealBubble * 100, 0, 'f', 1)
                     .arg(outcome.worstStallMs, 0, 'f', 1));
    };
    runWith(2);
    walk.check(window.runPage()->timelineModel()->rowCount() > 0,
               QStringLiteral("timeline: %1 spans on %2 stages")
                   .arg(window.runPage()->timelineModel()->rowCount())
                   .arg(window.runPage()->timelineModel()->stageCount()));
    // The user drags the bottom docks taller to read the run.
    if (auto *dock = dockNamed(window, "TimelineDock")) {
        window.resizeDocks({dock}, {360}, Qt::Vertical);
        dock->raise();
    }
    walk.save(&window, "03-run-timeline.png");
    walk.check(window.runPage()->metrics()->pointCount() > 0,
               QStringLiteral("metrics: %1 iteration points")
                   .arg(window.runPage()->metrics()->pointCount()));
    if (auto *dock = dockNamed(window, "MetricsDock"))
        dock->raise();
    walk.save(&window, "03b-run-metrics.png");

    walk.step("run again with 4 micro-batches and compare the two runs side by side");
    runWith(4);
    QTableView *history = window.runPage()->historyView();
    const int rows = window.runPage()->historyModel()->rowCount();
    walk.probeStart();
    if (walk.check(rows >= 2, QStringLiteral("%1 runs in the history").arg(rows))) {
        // Click the first of the two runs, Ctrl+click the second.
        history->selectionModel()->select(history->model()->index(rows - 2, 0),
                                          QItemSelectionModel::ClearAndSelect |
                                              QItemSelectionModel::Rows);
        history->selectionModel()->select(history->model()->index(rows - 1, 0),
                                          QItemSelectionModel::Select | QItemSelectionModel::Rows);
    }
    waitFor(idle, 10000);
    walk.probeReport("comparing the runs");
    RunComparisonModel *comparison = window.runPage()->comparisonModel();
    walk.check(comparison->columnCount() == 2, QStringLiteral("comparison of %1 runs, %2 figures")
                                                   .arg(comparison->columnCount())
                                                   .arg(comparison->rowCount()));
    for (int c = 0; c < comparison->columnCount(); ++c)
        walk.say(QStringLiteral("%1: throughput %2, p50 %3 ms, p90 %4 ms, bubble %5%")
                     .arg(comparison->headerData(c, Qt::Horizontal).toString())
                     .arg(comparison->value(RunComparisonModel::Figure::Throughput, c), 0, 'f', 1)
                     .arg(comparison->value(RunComparisonModel::Figure::LatencyP50, c), 0, 'f', 2)
                     .arg(comparison->value(RunComparisonModel::Figure::LatencyP90, c), 0, 'f', 2)
                     .arg(comparison->value(RunComparisonModel::Figure::Bubble, c), 0, 'f', 1));
    // More room for the charts: the bottom and details docks are closed for this picture.
    const QList<QDockWidget *> bottom = hideDocks(window);
    walk.save(&window, "03c-run-compare.png");
    for (QDockWidget *dock : bottom)
        dock->show();
    if (auto *dock = dockNamed(window, "ConsoleDock"))
        dock->raise();

    // 4. Evaluation of the demo classifier on the demo data: the page opens
    // with the demo files filled in; the user presses Evaluate.
    walk.step("open the evaluation page on the demo data and evaluate");
    walk.probeStart();
    window.pages()->setCurrentWidget(window.evalPage());
    EvalPage *eval = window.evalPage();
    for (const char *field : {"referencePath", "currentPath", "modelPath"})
        if (auto *edit = eval->findChild<QLineEdit *>(field))
            walk.say(QStringLiteral("%1 = %2").arg(field, edit->text()));
    QString storedVersion;
    QObject::connect(eval, &EvalPage::resultsStored, &window,
                     [&storedVersion](const QString &version) { storedVersion = version; });
    if (auto *evaluate = eval->findChild<QPushButton *>("evaluateButton"))
        evaluate->click();
    waitFor([&]() { return !storedVersion.isEmpty() && idle(); }, 120000);
    walk.probeReport("evaluating, showing and storing the results");
    walk.check(!storedVersion.isEmpty(),
               QStringLiteral("results stored: %1")
                   .arg(QString(eval->storeStatus()).remove(QRegularExpression("<[^>]*>"))));
    int sliceErrorBars = 0;
    for (const BarDatum &bar : eval->sliceChart()->bars())
        sliceErrorBars += !qIsNaN(bar.low) && !qIsNaN(bar.high) ? 1 : 0;
    walk.check(
        !eval->heatmap()->labels().isEmpty(),
        QStringLiteral("confusion heatmap: %1 classes").arg(eval->heatmap()->labels().size()));
    walk.check(eval->overallModel()->rowCount() > 0,
               QStringLiteral("overall metrics: %1 rows").arg(eval->overallModel()->rowCount()));
    walk.check(eval->perClassModel()->rowCount() > 0,
               QStringLiteral("per-class table: %1 rows").arg(eval->perClassModel()->rowCount()));
    walk.check(!eval->sliceChart()->bars().isEmpty() && sliceErrorBars > 0,
               QStringLiteral("slices: %1 bars, %2 with error bars")
                   .arg(eval->sliceChart()->bars().size())
                   .arg(sliceErrorBars));
    walk.check(chartPoints(eval->reliabilityChart()) > 2,
               QStringLiteral("reliability diagram: %1 points; %2")
                   .arg(chartPoints(eval->reliabilityChart()))
                   .arg(eval->reliabilityChart()->chart()->title()));
    walk.check(
        !eval->driftChart()->bars().isEmpty(),
        QStringLiteral("drift per feature: %1 columns").arg(eval->driftChart()->bars().size()));
    walk.check(
        chartPoints(eval->driftOverTimeChart()) > 2,
        QStringLiteral("drift over time: %1 points").arg(chartPoints(eval->driftOverTimeChart())));
    walk.check(eval->qualityModel()->rowCount() > 0,
               QStringLiteral("quality and PII: %1 columns").arg(eval->qualityModel()->rowCount()));
    // Click the cell of missed positives (actual 1, predicted 0) and the
    // window with the most drift, as a user reading the page would.
    if (eval->heatmap()->labels().size() >= 2) {
        const QPoint cell = eval->heatmap()->cellRect(1, 0).center();
        QMouseEvent press(QEvent::MouseButtonPress, QPointF(cell),
                          QPointF(eval->heatmap()->mapToGlobal(cell)), Qt::LeftButton,
                          Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(eval->heatmap(), &press);
        walk.check(
            eval->rowsModel()->rowCount() > 0,
            QStringLiteral("clicked confusion cell (actual %1, predicted %2): %3 rows listed")
                .arg(eval->heatmap()->labels()[1], eval->heatmap()->labels()[0])
                .arg(eval->rowsModel()->rowCount()));
    }
    if (QXYSeries *windows = [&]() -> QXYSeries * {
            for (QAbstractSeries *series : eval->driftOverTimeChart()->chart()->series())
                if (series->type() == QAbstractSeries::SeriesTypeScatter)
                    return static_cast<QXYSeries *>(series);
            return nullptr;
        }()) {
        QPointF worst;
        for (const QPointF &point : windows->points())
            if (point.y() >= worst.y())
                worst = point;
        QChartView *view = eval->driftOverTimeChart();
        const QPointF inChart = view->chart()->mapToPosition(worst, windows);
        const QPoint at = view->mapFromScene(view->chart()->mapToScene(inChart));
        for (QEvent::Type type : {QEvent::MouseButtonPress, QEvent::MouseButtonRelease}) {
            QMouseEvent click(
                type, QPointF(at), QPointF(view->viewport()->mapToGlobal(at)), Qt::LeftButton,
                type == QEvent::MouseButtonPress ? Qt::LeftButton : Qt::NoButton, Qt::NoModifier);
            QApplication::sendEvent(view->viewport(), &click);
        }
        walk.check(eval->windowColumnsModel()->rowCount() > 0,
                   QStringLiteral("clicked drift window %1 (%2% drifted): %3 columns listed")
                       .arg(int(worst.x()))
                       .arg(worst.y() * 100, 0, 'f', 0)
                       .arg(eval->windowColumnsModel()->rowCount()));
    }
    walk.save(&window, "04-evaluation.png");
    if (auto *content = eval->findChild<QWidget *>("evalContent"))
        walk.save(content, "04b-evaluation-full.png");

    // 4b. Robustness and risks: the demo classifier's training split is the
    // training data; the user presses Run Robustness & Risk Checks.
    walk.step("run the robustness and risk checks");
    walk.probeStart();
    RiskPanel *risk = eval->riskPanel();
    bool riskShown = false;
    QObject::connect(risk, &RiskPanel::reportsShown, &window, [&riskShown]() { riskShown = true; });
    if (auto *train = risk->findChild<QLineEdit *>("trainPath"))
        walk.say(QStringLiteral("trainPath = %1").arg(train->text()));
    if (auto *run = risk->findChild<QPushButton *>("riskButton"))
        run->click();
    waitFor([&]() { return riskShown && idle(); }, 120000);
    walk.probeReport("robustness, poisoning screen and membership inference");
    walk.check(riskShown, QStringLiteral("risk checks: %1")
                              .arg(QString(risk->status()).remove(QRegularExpression("<[^>]*>"))));
    walk.check(risk->curveModel()->rowCount() > 0 && chartPoints(risk->robustnessChart()) > 3,
               QStringLiteral("robustness curves: %1 points, perturbations %2")
                   .arg(risk->curveModel()->rowCount())
                   .arg(risk->curveModel()->perturbations().join(", ")));
    walk.check(risk->sensitivityModel()->rowCount() > 0 &&
                   !risk->sensitivityChart()->bars().isEmpty(),
               QStringLiteral("sensitivity ranking: %1 features, most sensitive %2")
                   .arg(risk->sensitivityModel()->rowCount())
                   .arg(risk->sensitivityModel()->index(0, 1).data().toString()));
    walk.say(
        QStringLiteral("label issues table: %1 rows").arg(risk->labelIssuesModel()->rowCount()));
    walk.check(
        risk->miaModel()->rowCount() == 2 && chartPoints(risk->rocChart()) > 4,
        QStringLiteral("membership inference: %1 AUC %2, %3 AUC %4")
            .arg(risk->miaModel()->attack(0), risk->miaModel()->index(0, 1).data().toString(),
                 risk->miaModel()->attack(1), risk->miaModel()->index(1, 1).data().toString()));
    walk.save(risk, "04c-evaluation-risks.png");

    // 5. Governance: start the fairness checklist for the stored version and
    // sign its manual item through the sign-off dialog.
    walk.step("sign a checklist item");
    GovernancePage *governance = window.governancePage();
    bool refreshed = false;
    QObject::connect(governance, &GovernancePage::refreshed, &window,
                     [&refreshed]() { refreshed = true; });
    walk.probeStart();
    window.pages()->setCurrentWidget(governance); // the page reads the store when shown
    waitFor([&]() { return refreshed && idle(); }, 30000);
    walk.check(governance->currentVersion() == storedVersion,
               QStringLiteral("governance shows %1").arg(governance->currentVersion()));
    if (auto *templates = governance->templateBox())
        templates->setCurrentIndex(templates->findData("fairness-slices"));
    refreshed = false;
    if (auto *start = governance->findChild<QPushButton *>("startChecklist"))
        start->click();
    waitFor([&]() { return refreshed && idle(); }, 30000);
    const QModelIndex item = findItem(governance->checklistModel(), GovernancePage::ItemKeyRole,
                                      QStringLiteral("fairness-slices/gaps-reviewed"));
    if (walk.check(item.isValid(),
                   "checklist 'fairness-slices' started; item gaps-reviewed open")) {
        governance->checklistView()->setCurrentIndex(item);
        governance->checklistView()->scrollTo(item);
    }
    bool signedOk = false, signedDone = false;
    QObject::connect(governance, &GovernancePage::signed_, &window, [&](bool ok) {
        signedOk = ok;
        signedDone = true;
    });
    whenModal<QDialog>([&](QDialog *dialog) {
        dialog->findChild<QLineEdit *>("reviewer")->setText("Ada Reviewer");
        dialog->findChild<QLineEdit *>("role")->setText("ML lead");
        auto *decision = dialog->findChild<QComboBox *>("decision");
        decision->setCurrentIndex(decision->findData("approve"));
        dialog->findChild<QPlainTextEdit *>("comment")->setPlainText(
            "Reviewed the slice table and the weak-slice search: every site "
            "is within the accepted gap.");
        walk.probePause();
        walk.save(dialog, "05-signoff-dialog.png");
        walk.probeStart();
        auto *buttons = dialog->findChild<QDialogButtonBox *>();
        QPushButton *sign = buttons ? buttons->button(QDialogButtonBox::Ok) : nullptr;
        walk.check(sign && sign->isEnabled(), "the dialog's Sign button is enabled");
        if (sign)
            sign->click();
        else
            dialog->reject();
    });
    refreshed = false;
    if (auto *signButton = governance->signButton();
        walk.check(signButton && signButton->isEnabled(), "'Sign Off Selected Item…' is enabled"))
        signButton->click(); // returns once the dialog closed
    waitFor([&]() { return signedDone && refreshed && idle(); }, 30000);
    const QModelIndex signedItem =
        findItem(governance->checklistModel(), GovernancePage::ItemKeyRole,
                 QStringLiteral("fairness-slices/gaps-reviewed"));
    walk.check(signedOk && signedItem.data(GovernancePage::StatusRole).toString() == "approved",
               QStringLiteral("gaps-reviewed is now '%1'")
                   .arg(signedItem.data(GovernancePage::StatusRole).toString()));
    const QString lastAction = governance->auditModel()->rowCount() > 0
                                   ? governance->auditModel()->index(0, 3).data().toString()
                                   : QString();
    walk.check(lastAction.contains("sign"),
               QStringLiteral("newest audit entry: %1 %2")
                   .arg(lastAction)
                   .arg(governance->auditModel()->index(0, 4).data().toString()));
    bool verified = false;
    QObject::connect(governance, &GovernancePage::verified, &window,
                     [&verified](bool ok) { verified = ok; });
    if (auto *verify = governance->findChild<QPushButton *>("verifyAudit"))
        verify->click();
    waitFor([&]() { return verified && idle(); }, 30000);
    walk.probeReport("starting the checklist, signing and verifying the audit chain");
    walk.check(verified,
               "audit chain verified: " +
                   QString(governance->verificationText()).remove(QRegularExpression("<[^>]*>")));
    if (signedItem.isValid()) {
        governance->checklistView()->setCurrentIndex(signedItem);
        governance->checklistView()->scrollTo(signedItem);
    }
    const QList<QDockWidget *> governanceDocks = hideDocks(window);
    walk.save(&window, "05b-governance-signed.png");
    for (QDockWidget *dock : governanceDocks)
        dock->show();

    // 6. Registry.
    walk.step("registry");
    bool registryDone = false;
    QObject::connect(window.registryPage(), &RegistryPage::refreshed, &window,
                     [&registryDone]() { registryDone = true; });
    walk.probeStart();
    window.pages()->setCurrentWidget(window.registryPage());
    waitFor([&]() { return registryDone && idle(); }, 30000);
    walk.probeReport("loading the registry");
    walk.check(registryDone, "registry loaded from the store");
    // Promote the signed version to staging: the governance gate lets it
    // through now that its required items are passed or approved.
    RegistryPage *registry = window.registryPage();
    QStandardItemModel *versions = registry->versionsModel();
    const QModelIndex versionRow =
        findItem(versions, RegistryPage::VersionRole, storedVersion.section(':', 1).toInt(),
                 versions->index(0, 0));
    bool promoted = false;
    QString promotion;
    QObject::connect(registry, &RegistryPage::actionFinished, &window,
                     [&](bool ok, const QString &message) {
                         promoted = ok;
                         promotion = message;
                     });
    if (walk.check(versionRow.isValid(), QStringLiteral("%1 listed").arg(storedVersion))) {
        registry->versionsView()->setCurrentIndex(versionRow);
        registryDone = false;
        walk.probeStart();
        if (auto *promote = registry->findChild<QPushButton *>("promote"))
            promote->click();
        waitFor([&]() { return !promotion.isEmpty() && registryDone && idle(); }, 30000);
        walk.probeReport("promoting to staging");
        walk.check(promoted, QStringLiteral("promoted: %1").arg(promotion));
    }
    walk.save(&window, "06-registry.png");

    // 7. Report: view it, export HTML, PDF and the model card from the page.
    walk.step("export the report");
    ReportPage *reportPage = window.reportPage();
    bool reportLoaded = false;
    QObject::connect(reportPage, &ReportPage::reportLoaded, &window,
                     [&reportLoaded](bool ok) { reportLoaded = ok; });
    walk.probeStart();
    window.pages()->setCurrentWidget(reportPage);
    waitFor([&]() { return reportLoaded && idle(); }, 60000);
    walk.check(reportLoaded && reportPage->currentVersion() == storedVersion,
               QStringLiteral("report of %1 shown: %2")
                   .arg(reportPage->currentVersion())
                   .arg(QString(reportPage->statusText()).remove(QRegularExpression("<[^>]*>"))));
    QStringList written;
    QObject::connect(
        reportPage, &ReportPage::exported, &window,
        [&written](ReportPage::ExportKind, const QStringList &paths) { written += paths; });
    const QString base = exports + "/" + QString(storedVersion).replace(':', "-v");
    const struct
    {
        const char *button;
        QString path;
        int files;
    } exportSteps[] = {{"exportHtml", base + "-report.html", 1},
                       {"exportPdf", base + "-report.pdf", 1},
                       {"exportModelCard", base + "-model-card.json", 2}};
    for (const auto &exportStep : exportSteps) {
        const int before = int(written.size());
        answerFileDialog(exportStep.path);
        if (auto *button = reportPage->findChild<QPushButton *>(exportStep.button))
            button->click(); // returns once the file dialog closed
        waitFor([&]() { return written.size() >= before + exportStep.files && idle(); }, 60000);
        for (int i = before; i < written.size(); ++i)
            walk.check(QFileInfo(written[i]).size() > 0, QStringLiteral("%1: wrote %2 (%3 bytes)")
                                                             .arg(exportStep.button, written[i])
                                                             .arg(QFileInfo(written[i]).size()));
        walk.check(written.size() >= before + exportStep.files,
                   QStringLiteral("%1 finished").arg(exportStep.button));
    }
    walk.probeReport("building the report and exporting HTML, PDF and the model card");
    // The report itself needs the room: docks closed, then the top (exports),
    // the charts and the checklist section with the sign-off.
    const QList<QDockWidget *> docks = hideDocks(window);
    walk.save(&window, "07-report.png");
    auto scrollTo = [&](const QString &heading) {
        QTextBrowser *view = reportPage->view();
        view->moveCursor(QTextCursor::Start);
        const bool found = view->find(heading);
        QTextCursor cursor = view->textCursor();
        cursor.clearSelection();
        view->setTextCursor(cursor);
        const int top = view->cursorRect().top();
        view->verticalScrollBar()->setValue(view->verticalScrollBar()->value() + top - 8);
        return found;
    };
    walk.check(scrollTo("Calibration") && reportPage->html().contains("chart:reliability"),
               "report view: the calibration and slice charts");
    walk.save(&window, "07b-report-charts.png");
    const QString checklistText = QStringLiteral("A reviewer examined the slice table");
    walk.check(scrollTo("Checklist status") && reportPage->html().contains(checklistText) &&
                   reportPage->html().contains("Ada Reviewer"),
               "report view: the checklist with the signed item");
    walk.save(&window, "07c-report-checklist.png");
    for (QDockWidget *dock : docks)
        dock->show();

    window.pages()->setCurrentWidget(window.graphPage());
    std::printf("screenshots: %s (%d problem(s)); worst GUI-thread stall over the walk %.1f ms\n",
                walk.failures() ? "FAILED" : "done", walk.failures(), walk.worstStallMs());
    return walk.failures() ? 1 : 0;
}

} // namespace sb::ui
