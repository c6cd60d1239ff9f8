#include "ui/mainwindow/main_window.h"

#include "core/common/paths.h"
#include "core/plan/plan_file.h"
#include "core/plan/planner.h"
#include "core/plan/sample_dims.h"
#include "ui/common/user_message.h"
#include "ui/deploy/deploy_page.h"
#include "ui/devices/devices_panel.h"
#include "ui/eval/eval_page.h"
#include "ui/governance/governance_page.h"
#include "ui/graph/auto_split.h"
#include "ui/graph/details_panel.h"
#include "ui/graph/graph_page.h"
#include "ui/graph/graph_tree_model.h"
#include "ui/registry/registry_page.h"
#include "ui/report/report_page.h"
#include "ui/run/run_page.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QComboBox>
#include <QDateTime>
#include <QDockWidget>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QHeaderView>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QRegularExpression>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>
#include <QToolBar>
#include <QToolButton>
#include <QTreeView>

namespace sb::ui {

namespace {
constexpr int kMaxRecentFiles = 8;
constexpr int kSettingsVersion = 1;
} // namespace

MainWindow::MainWindow(QWidget *parent) : QMainWindow(parent)
{
    setObjectName("MainWindow");
    setWindowTitle(tr("Shardbench"));
    setDockOptions(AnimatedDocks | AllowNestedDocks | AllowTabbedDocks);
    m_tasks = new TaskRunner(this);
    m_placement = new PlacementModel(this);
    m_treeModel = new GraphTreeModel(m_placement, this);
    m_stallProbe = new StallProbe(this);

    m_pages = new QTabWidget(this);
    m_pages->setDocumentMode(true);
    m_graphPage = new GraphPage(m_placement, m_tasks, m_pages);
    m_runPage = new RunPage(m_placement, m_tasks, m_stallProbe, m_pages);
    m_evalPage = new EvalPage(m_tasks, m_pages);
    m_governancePage = new GovernancePage(m_tasks, m_pages);
    m_registryPage = new RegistryPage(m_tasks, m_pages);
    m_reportPage = new ReportPage(m_tasks, m_pages);
    m_deploymentsPage = new DeploymentsPage(m_tasks, m_pages);
    // The tab bar is this list, in order; the window asks nothing else of a page.
    m_pageList = {m_graphPage,    m_runPage,    m_evalPage,       m_governancePage,
                  m_registryPage, m_reportPage, m_deploymentsPage};
    for (Page *page : m_pageList)
        m_pages->addTab(page->widget(), page->icon(), page->title());
    setCentralWidget(m_pages);

    createDocks();
    createActions();

    // Status bar: progress and Cancel for the running tasks.
    m_progressLabel = new QLabel(this);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setMaximumWidth(220);
    m_cancelButton = new QToolButton(this);
    m_cancelButton->setText(tr("Cancel"));
    m_cancelButton->setToolTip(tr("Cancel the running work (Esc)"));
    statusBar()->addPermanentWidget(m_progressLabel);
    statusBar()->addPermanentWidget(m_progress);
    statusBar()->addPermanentWidget(m_cancelButton);
    m_progress->hide();
    m_cancelButton->hide();
    connect(m_cancelButton, &QToolButton::clicked, m_tasks, &TaskRunner::cancelAll);
    connect(m_tasks, &TaskRunner::taskStarted, this, [this](int, const QString &title) {
        m_progressLabel->setText(title + QStringLiteral("…"));
        m_progress->setValue(0);
    });
    connect(m_tasks, &TaskRunner::taskProgress, this,
            [this](int, double fraction, const QString &message) {
                m_progress->setValue(int(fraction * 100));
                if (!message.isEmpty())
                    m_progressLabel->setText(message);
            });
    connect(m_tasks, &TaskRunner::busyChanged, this, [this](bool busy) {
        m_progress->setVisible(busy);
        m_cancelButton->setVisible(busy);
        if (!busy)
            m_progressLabel->clear();
    });

    connect(m_graphPage, &GraphPage::selectionChanged, this,
            [this](const QVector<graph::NodeId> &nodes) {
                m_selection = nodes;
                m_details->showNodes(nodes);
            });
    connect(m_graphPage, &GraphPage::errorOccurred, this, &MainWindow::showError);
    connect(m_graphPage, &GraphPage::layoutFinished, this, [this](double seconds, int items) {
        statusBar()->showMessage(
            tr("Laid out %1 boxes in %2").arg(items).arg(formatSeconds(seconds)), 4000);
    });
    connect(m_devicesPanel, &DevicesPanel::localDeviceCountChanged, this,
            &MainWindow::setLocalDeviceCount);
    connect(m_devicesPanel, &DevicesPanel::message, this, &MainWindow::log);
    connect(m_placement, &PlacementModel::placementChanged, this, &MainWindow::updateTitle);
    connect(m_runPage, &RunPage::logMessage, this, &MainWindow::log);
    connect(m_runPage, &RunPage::errorOccurred, this, &MainWindow::showError);
    connect(m_evalPage, &EvalPage::errorOccurred, this, &MainWindow::showError);
    connect(m_governancePage, &GovernancePage::errorOccurred, this, &MainWindow::showError);
    connect(m_registryPage, &RegistryPage::errorOccurred, this, &MainWindow::showError);
    connect(m_reportPage, &ReportPage::errorOccurred, this, &MainWindow::showError);
    connect(m_deploymentsPage, &DeploymentsPage::errorOccurred, this, &MainWindow::showError);
    // A page turned to activates (store-backed pages re-read the store); a
    // stored evaluation selects its model version there.
    connect(m_pages, &QTabWidget::currentChanged, this, [this](int index) {
        if (index >= 0 && index < int(m_pageList.size()))
            m_pageList[std::size_t(index)]->activate();
    });
    connect(m_evalPage, &EvalPage::resultsStored, this, [this](const QString &version) {
        m_governancePage->selectVersion(version);
        m_reportPage->selectVersion(version);
        log(tr("Evaluation stored for %1: see the Governance and Report pages.").arg(version));
    });

    setLocalDeviceCount(2);
    m_runPage->loadHistory();
    restoreSettings();
    updateTitle();
    log(tr("Shardbench %1 ready. Devices: %2 local CPU device(s).")
            .arg(QApplication::applicationVersion())
            .arg(m_placement->devices().size()));
}

MainWindow::~MainWindow()
{
    m_tasks->cancelAll();
    m_tasks->waitForDone();
}

void MainWindow::createDocks()
{
    auto makeDock = [this](const QString &title, const QString &name, QWidget *widget,
                           Qt::DockWidgetArea area) {
        auto *dock = new QDockWidget(title, this);
        dock->setObjectName(name); // QSettings keys for saveState()
        dock->setWidget(widget);
        addDockWidget(area, dock);
        m_docks << dock;
        return dock;
    };

    m_devicesPanel = new DevicesPanel(m_placement, this);
    auto *devicesDock =
        makeDock(tr("Devices"), "DevicesDock", m_devicesPanel, Qt::LeftDockWidgetArea);

    m_outline = new QTreeView(this);
    m_outline->setModel(m_treeModel);
    m_outline->setUniformRowHeights(true);
    m_outline->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_outline->setDragEnabled(true);
    m_outline->setDragDropMode(QAbstractItemView::DragOnly);
    m_outline->header()->setSectionResizeMode(QHeaderView::Interactive);
    m_outline->setColumnWidth(GraphTreeModel::NameColumn, 170);
    m_outline->setColumnWidth(GraphTreeModel::OpColumn, 90);
    auto *outlineDock = makeDock(tr("Outline"), "OutlineDock", m_outline, Qt::LeftDockWidgetArea);
    tabifyDockWidget(devicesDock, outlineDock);
    devicesDock->raise();
    connect(m_outline->selectionModel(), &QItemSelectionModel::selectionChanged, this, [this]() {
        QVector<graph::NodeId> nodes;
        for (const QModelIndex &index : m_outline->selectionModel()->selectedRows())
            nodes += m_treeModel->nodesOf(index);
        m_selection = nodes;
        m_details->showNodes(nodes);
        m_graphPage->selectNodes(nodes);
    });

    m_details = new DetailsPanel(m_placement, this);
    m_details->setMinimumWidth(260);
    makeDock(tr("Details"), "DetailsDock", m_details, Qt::RightDockWidgetArea);

    m_console = new QPlainTextEdit(this);
    m_console->setReadOnly(true);
    m_console->setMaximumBlockCount(5000);
    QFont mono = QFontDatabase::systemFont(QFontDatabase::FixedFont);
    m_console->setFont(mono);
    auto *consoleDock = makeDock(tr("Console"), "ConsoleDock", m_console, Qt::BottomDockWidgetArea);
    auto *timelineDock = makeDock(tr("Timeline"), "TimelineDock", m_runPage->takeTimelineWidget(),
                                  Qt::BottomDockWidgetArea);
    auto *metricsDock = makeDock(tr("Metrics"), "MetricsDock", m_runPage->takeMetricsWidget(),
                                 Qt::BottomDockWidgetArea);
    tabifyDockWidget(consoleDock, timelineDock);
    tabifyDockWidget(timelineDock, metricsDock);
    consoleDock->raise();
    connect(m_runPage, &RunPage::runStarted, timelineDock, &QDockWidget::raise);
    resizeDocks({devicesDock}, {300}, Qt::Horizontal);
    resizeDocks({consoleDock}, {220}, Qt::Vertical);
}

void MainWindow::createActions()
{
    auto *fileMenu = menuBar()->addMenu(tr("&File"));
    auto *open = fileMenu->addAction(QIcon::fromTheme("document-open"), tr("&Open Model…"), this,
                                     &MainWindow::openModelDialog);
    open->setShortcut(QKeySequence::Open);
    auto *demo = fileMenu->addAction(tr("Open &Demo Model"), this, [this]() {
        openModel(QString::fromStdString(demoDecoderPath().string()));
    });
    demo->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_D));
    m_recentMenu = fileMenu->addMenu(tr("Open &Recent"));
    fileMenu->addSeparator();
    auto *openPlan = fileMenu->addAction(tr("Open &Plan…"), this, &MainWindow::openPlanDialog);
    openPlan->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_O));
    auto *save = fileMenu->addAction(QIcon::fromTheme("document-save"), tr("&Save Plan"), this,
                                     [this]() { savePlan(false); });
    save->setShortcut(QKeySequence::Save);
    fileMenu->addAction(tr("Save Plan &As…"), this, [this]() { savePlan(true); })
        ->setShortcut(QKeySequence::SaveAs);
    fileMenu->addSeparator();
    fileMenu->addAction(tr("E&xport Report…"), this, [this]() {
        m_pages->setCurrentWidget(m_reportPage);
        m_reportPage->exportDialog();
    });
    fileMenu->addSeparator();
    auto *quit = fileMenu->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);

    auto *editMenu = menuBar()->addMenu(tr("&Edit"));
    m_undoAction = m_placement->undoStack()->createUndoAction(this, tr("&Undo"));
    m_undoAction->setShortcut(QKeySequence::Undo);
    m_undoAction->setIcon(QIcon::fromTheme("edit-undo"));
    m_redoAction = m_placement->undoStack()->createRedoAction(this, tr("&Redo"));
    m_redoAction->setShortcuts({QKeySequence::Redo, QKeySequence(Qt::CTRL | Qt::Key_Y)});
    m_redoAction->setIcon(QIcon::fromTheme("edit-redo"));
    editMenu->addAction(m_undoAction);
    editMenu->addAction(m_redoAction);
    editMenu->addSeparator();
    auto *find =
        editMenu->addAction(QIcon::fromTheme("edit-find"), tr("&Find Node…"), this, [this]() {
            m_pages->setCurrentWidget(m_graphPage);
            m_graphPage->showSearch();
        });
    find->setShortcut(QKeySequence::Find);
    editMenu->addAction(tr("&Pin Selection"), this, [this]() { pinSelection(true); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_P));
    editMenu->addAction(tr("U&npin Selection"), this, [this]() { pinSelection(false); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_P));
    auto *assignMenu = editMenu->addMenu(tr("&Assign Selection To"));
    connect(assignMenu, &QMenu::aboutToShow, this, [this, assignMenu]() {
        assignMenu->clear();
        for (int d = 0; d < m_placement->devices().size(); ++d) {
            QAction *a = assignMenu->addAction(m_placement->devices()[d].id, this, [this, d]() {
                m_placement->assignNodes(selectedNodes(), d);
            });
            if (d < 9)
                a->setShortcut(QKeySequence(Qt::ALT | Qt::Key(Qt::Key_1 + d)));
        }
    });

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    m_viewMenu->addAction(tr("Zoom &In"), this, [this]() { m_graphPage->view()->zoomBy(1.25); })
        ->setShortcut(QKeySequence::ZoomIn);
    m_viewMenu->addAction(tr("Zoom &Out"), this, [this]() { m_graphPage->view()->zoomBy(0.8); })
        ->setShortcut(QKeySequence::ZoomOut);
    m_viewMenu->addAction(tr("&Fit Graph"), this, [this]() { m_graphPage->view()->zoomToFit(); })
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_0));
    m_viewMenu->addAction(tr("&Expand All Blocks"), this,
                          [this]() { m_graphPage->setAllExpanded(true); });
    m_viewMenu->addAction(tr("&Collapse All Blocks"), this,
                          [this]() { m_graphPage->setAllExpanded(false); });
    auto *lanes = m_viewMenu->addAction(tr("Device &Lanes Beside the Graph"));
    lanes->setCheckable(true);
    lanes->setChecked(QSettings().value("graph/deviceLanes", true).toBool());
    m_graphPage->setLanesVisible(lanes->isChecked());
    connect(lanes, &QAction::toggled, this, [this](bool visible) {
        m_graphPage->setLanesVisible(visible);
        QSettings().setValue("graph/deviceLanes", visible);
    });
    m_viewMenu->addSeparator();
    for (QDockWidget *dock : m_docks)
        m_viewMenu->addAction(dock->toggleViewAction());
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(tr("&Reset Layout"), this, [this]() {
        QSettings().remove("window/state");
        for (QDockWidget *dock : m_docks) {
            dock->setFloating(false);
            dock->show();
        }
    });
    for (int i = 0; i < int(m_pageList.size()); ++i) {
        auto *page = m_viewMenu->addAction(m_pageList[std::size_t(i)]->title().remove('&'), this,
                                           [this, i]() { m_pages->setCurrentIndex(i); });
        page->setShortcut(QKeySequence(Qt::CTRL | Qt::Key(Qt::Key_1 + i)));
    }

    auto *planMenu = menuBar()->addMenu(tr("&Plan"));
    m_autoSplitAction = planMenu->addAction(tr("&Auto Split"), this, &MainWindow::autoSplit);
    m_autoSplitAction->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    planMenu->addAction(tr("&Validate"), this, [this]() {
        const auto &report = m_placement->report();
        if (!report.validated) {
            log(tr("The plan is still being checked (the model's costs for these plan "
                   "settings are being analysed); try again in a moment."));
            return;
        }
        if (report.isValid())
            log(tr("Plan is valid: %n cut edge(s).", nullptr, int(report.cuts.size())));
        for (const QString &problem : report.problems)
            log(tr("Plan problem: %1").arg(problem));
    });

    auto *whatIf = planMenu->addMenu(tr("Add &What-If Devices"));
    for (const QString &name : catalogueNames()) {
        auto *sub = whatIf->addMenu(name);
        for (int count : {1, 2, 4, 8})
            sub->addAction(tr("%n device(s)", nullptr, count), this, [this, name, count]() {
                m_devicesPanel->addWhatIfDevices(name, count);
            });
    }
    planMenu->addAction(tr("&Remove What-If Devices"), this, [this]() {
        QVector<DeviceInfo> local;
        for (const DeviceInfo &device : m_placement->devices())
            if (device.origin == DeviceInfo::Origin::Local)
                local.push_back(device);
        m_placement->setDevices(local);
    });

    auto *runMenu = menuBar()->addMenu(tr("&Run"));
    auto *run = runMenu->addAction(QIcon::fromTheme("media-playback-start"), tr("&Run Plan"), this,
                                   [this]() { m_runPage->startRun(); });
    run->setShortcut(QKeySequence(Qt::Key_F5));
    auto *cancel = runMenu->addAction(QIcon::fromTheme("process-stop"), tr("&Cancel"), m_tasks,
                                      &TaskRunner::cancelAll);
    cancel->setShortcut(QKeySequence(Qt::SHIFT | Qt::Key_F5));

    auto *helpMenu = menuBar()->addMenu(tr("&Help"));
    helpMenu->addAction(tr("&About Shardbench"), this, [this]() {
        QMessageBox::about(this, tr("About Shardbench"),
                           tr("<h3>Shardbench %1</h3><p>Split a model across devices, run it as a "
                              "pipeline, evaluate it and keep the evidence.</p>")
                               .arg(QApplication::applicationVersion()));
    });
    helpMenu->addAction(tr("About &Qt"), qApp, &QApplication::aboutQt);

    auto *toolbar = addToolBar(tr("Main"));
    toolbar->setObjectName("MainToolbar");
    toolbar->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toolbar->addAction(open);
    toolbar->addAction(save);
    toolbar->addSeparator();
    toolbar->addAction(m_undoAction);
    toolbar->addAction(m_redoAction);
    toolbar->addSeparator();
    toolbar->addWidget(new QLabel(tr(" Objective: "), toolbar));
    m_objective = new QComboBox(toolbar);
    m_objective->addItem(tr("Throughput"), "throughput");
    m_objective->addItem(tr("Latency"), "latency");
    toolbar->addWidget(m_objective);
    toolbar->addAction(m_autoSplitAction);
    toolbar->addSeparator();
    toolbar->addAction(run);
    toolbar->addAction(cancel);
    toolbar->addSeparator();
    toolbar->addAction(find);
    rebuildRecentMenu();
}

void MainWindow::restoreSettings()
{
    QSettings settings;
    if (settings.value("window/version").toInt() != kSettingsVersion)
        return;
    restoreGeometry(settings.value("window/geometry").toByteArray());
    restoreState(settings.value("window/state").toByteArray(), kSettingsVersion);
}

void MainWindow::saveSettings()
{
    QSettings settings;
    settings.setValue("window/version", kSettingsVersion);
    settings.setValue("window/geometry", saveGeometry());
    settings.setValue("window/state", saveState(kSettingsVersion));
}

void MainWindow::closeEvent(QCloseEvent *event)
{
    saveSettings();
    m_tasks->cancelAll();
    event->accept();
}

void MainWindow::addRecentFile(const QString &path)
{
    QSettings settings;
    QStringList files = settings.value("recentFiles").toStringList();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecentFiles)
        files.removeLast();
    settings.setValue("recentFiles", files);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = QSettings().value("recentFiles").toStringList();
    for (const QString &file : files)
        m_recentMenu
            ->addAction(QFileInfo(file).fileName(), this, [this, file]() { openModel(file); })
            ->setToolTip(file);
    m_recentMenu->setEnabled(!files.isEmpty());
}

void MainWindow::openModelDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Model"), QString(),
                                                      tr("ONNX models (*.onnx);;All files (*)"));
    if (!path.isEmpty())
        openModel(path);
}

namespace {

// A model as opened: its data and the dims it opens with.
struct OpenedModel
{
    std::shared_ptr<const ModelData> model;
    std::map<std::string, std::int64_t> dims;
    QString dimsSource;  // where `dims` came from
    QString dimsProblem; // a sample that did not fit (the model still opens)
};

} // namespace

void MainWindow::openModel(const QString &path)
{
    log(tr("Importing %1").arg(path));
    cost::DimBindings bindings;
    bindings.batch = 1;
    // Dims the user bound for this file last time win over its sample input.
    const QString remembered = QSettings().value(modelDimsSettingsKey(path)).toString();
    m_tasks->start<OpenedModel>(
        tr("Importing %1").arg(QFileInfo(path).fileName()),
        [path, bindings, remembered](const ProgressFn &progress,
                                     const CancelToken &cancel) -> Result<OpenedModel> {
            OpenedModel opened;
            SB_ASSIGN_OR_RETURN(opened.model,
                                loadModel(path.toStdString(), bindings, progress, cancel));
            for (const QString &token : remembered.split(
                     QRegularExpression(QStringLiteral("[,;\\s]+")), Qt::SkipEmptyParts))
                if (auto binding = cost::parseDimBinding(token.toStdString()); binding.ok())
                    opened.dims[binding->first] = binding->second;
            if (!opened.dims.empty()) {
                opened.dimsSource = tr("the dims last used for this model");
                return opened;
            }
            auto sample = plan::dimsFromSampleInput(*opened.model->graph, path.toStdString());
            if (!sample.ok()) {
                opened.dimsProblem = QString::fromStdString(sample.error().message);
            } else if (!sample->dims.empty()) {
                opened.dims = sample->dims;
                QStringList files;
                for (const auto &file : sample->files)
                    files << QString::fromStdString(file.filename().string());
                opened.dimsSource =
                    tr("the model's sample input %1").arg(files.join(QStringLiteral(", ")));
            }
            return opened;
        },
        this,
        [this, path](Result<OpenedModel> result) {
            if (!result.ok()) {
                showError(
                    userMessage(tr("Opening %1").arg(QFileInfo(path).fileName()), result.error()));
                return;
            }
            m_modelPath = path;
            m_planPath.clear();
            addRecentFile(path);
            OpenedModel opened = std::move(result).value();
            showModel(std::move(opened.model));
            if (!opened.dims.empty()) {
                m_placement->setPlanDims(opened.dims, opened.dimsSource);
                QStringList parts;
                for (const auto &[symbol, size] : opened.dims)
                    parts << QStringLiteral("%1=%2").arg(QString::fromStdString(symbol)).arg(size);
                log(tr("Dims %1 bound from %2.")
                        .arg(parts.join(QStringLiteral(", ")), opened.dimsSource));
            }
            if (!opened.dimsProblem.isEmpty())
                log(tr("The sample input was not used: %1").arg(opened.dimsProblem));
        });
}

void MainWindow::showModel(std::shared_ptr<const ModelData> model)
{
    const int nodes = model ? model->nodeCount() : 0;
    const int groups = model ? int(model->groups.size()) : 0;
    m_placement->setModelData(std::move(model));
    m_graphPage->reloadModel();
    m_details->showNodes({});
    m_pages->setCurrentWidget(m_graphPage);
    log(tr("Model: %1 nodes in %2 blocks; all nodes start on %3.")
            .arg(nodes)
            .arg(groups)
            .arg(m_placement->devices().isEmpty() ? tr("no device")
                                                  : m_placement->devices().front().id));
    updateTitle();
    emit modelShown();
}

void MainWindow::setLocalDeviceCount(int count)
{
    QVector<DeviceInfo> devices;
    for (const DeviceInfo &device : m_placement->devices())
        if (device.origin != DeviceInfo::Origin::Local)
            devices.push_back(device);
    const QVector<DeviceInfo> local = discoverLocalCpuDevices(count);
    if (local.isEmpty())
        showError(tr("No local device could be discovered."));
    devices = local + devices;
    for (int i = 0; i < devices.size(); ++i)
        devices[i].colour = deviceColour(i);
    m_placement->setDevices(devices);
}

void MainWindow::openPlanDialog()
{
    if (!m_placement->modelData()) {
        showError(tr("Open a model before opening a plan."));
        return;
    }
    const QString path = QFileDialog::getOpenFileName(this, tr("Open Plan"), QString(),
                                                      tr("Plans (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    const Status loaded = loadPlanFile(path);
    if (!loaded.ok())
        showError(
            userMessage(tr("Opening the plan %1").arg(QFileInfo(path).fileName()), loaded.error()));
}

Status MainWindow::loadPlanFile(const QString &path)
{
    const auto model = m_placement->modelData();
    if (!model)
        return makeError(ErrorCode::InvalidInput, "open a model before opening a plan");
    // One plan format: core/plan reads it (errors name the file and key).
    auto plan = plan::readPlanFile(path.toStdString());
    if (!plan.ok())
        return plan.error();
    const Status loaded = m_placement->loadPlan(*plan, model->sha256,
                                                tr("Load plan %1").arg(QFileInfo(path).fileName()));
    if (!loaded.ok())
        return makeError(loaded.error().code, path.toStdString() + ": " + loaded.error().message);
    // The run settings follow the plan.
    RunConfig config = m_runPage->config();
    config.batch = int(plan->batch);
    config.microbatches = plan->microbatches;
    m_runPage->setConfig(config);
    if (const int objective = m_objective->findData(QString::fromStdString(plan->objective));
        objective >= 0)
        m_objective->setCurrentIndex(objective);
    m_planPath = path;
    m_placement->undoStack()->setClean();
    log(tr("Loaded plan %1: %2 device(s), %3 assigned node(s), %4 pinned")
            .arg(path)
            .arg(plan->devices.devices.size())
            .arg(plan->assignment.size())
            .arg(plan->pinned.size()));
    for (const QString &problem : m_placement->report().problems)
        log(tr("Plan problem: %1").arg(problem));
    updateTitle();
    return Status::success();
}

void MainWindow::savePlan(bool askPath)
{
    if (!m_placement->modelData()) {
        showError(tr("Open a model before saving a plan."));
        return;
    }
    QString path = m_planPath;
    if (askPath || path.isEmpty()) {
        path = QFileDialog::getSaveFileName(
            this, tr("Save Plan"), QFileInfo(m_modelPath).completeBaseName() + ".plan.json",
            tr("Plans (*.json)"));
        if (path.isEmpty())
            return;
    }
    const Status saved = savePlanFile(path);
    if (!saved.ok())
        showError(userMessage(tr("Saving the plan"), saved.error()));
}

Status MainWindow::savePlanFile(const QString &path)
{
    const auto model = m_placement->modelData();
    if (!model)
        return makeError(ErrorCode::InvalidInput, "open a model before saving a plan");
    const plan::Plan plan = m_placement->makePlan(model->sha256);
    const Status written = plan::writePlanFile(plan, path.toStdString());
    if (!written.ok())
        return written;
    m_planPath = path;
    m_placement->undoStack()->setClean();
    log(tr("Saved plan %1").arg(path));
    const auto &report = m_placement->report();
    if (!report.isValid())
        log(tr("The saved plan has %n problem(s); `shardbench-cli validate` lists them too.",
               nullptr, int(report.problems.size())));
    updateTitle();
    return Status::success();
}

void MainWindow::autoSplit()
{
    const auto objective = m_objective->currentData().toString() == "latency"
                               ? plan::Objective::Latency
                               : plan::Objective::Throughput;
    int pinned = 0;
    for (bool pin : m_placement->pinned())
        pinned += pin ? 1 : 0;
    log(tr("Auto split (%1) over %2 device(s), %3 pinned node(s) kept in place…")
            .arg(m_objective->currentText())
            .arg(m_placement->devices().size())
            .arg(pinned));
    startAutoSplit(m_placement, m_tasks, objective, this,
                   [this](Result<plan::PlannerResult> result) {
                       if (!result.ok()) {
                           if (result.error().code != ErrorCode::Cancelled)
                               showError(userMessage(tr("Auto split"), result.error()));
                           return;
                       }
                       log(tr("Auto split: %1 stage(s), objective %2 per micro-batch, lower "
                              "bound %3 (gap %4%), planned in %5")
                               .arg(result->split.stages.size())
                               .arg(formatSeconds(result->objectiveValue))
                               .arg(formatSeconds(result->lowerBound))
                               .arg(result->gap * 100, 0, 'f', 1)
                               .arg(formatSeconds(result->planSeconds)));
                   });
}

void MainWindow::pinSelection(bool pin)
{
    m_placement->setPinned(selectedNodes(), pin);
}

QVector<graph::NodeId> MainWindow::selectedNodes() const
{
    return m_selection;
}

void MainWindow::updateTitle()
{
    QString title = m_modelPath.isEmpty() ? tr("Shardbench") : QFileInfo(m_modelPath).fileName();
    if (!m_placement->undoStack()->isClean())
        title += QStringLiteral(" *");
    setWindowTitle(title + (m_modelPath.isEmpty() ? QString() : tr(" — Shardbench")));
}

bool MainWindow::isBusy() const
{
    return m_tasks->runningCount() > 0 || m_graphPage->isLayoutPending();
}

void MainWindow::log(const QString &text)
{
    m_console->appendPlainText(QDateTime::currentDateTime().toString("HH:mm:ss  ") + text);
}

void MainWindow::showError(const QString &message)
{
    log(tr("Error: %1").arg(message));
    statusBar()->showMessage(message, 8000);
    if (QApplication::platformName().contains("offscreen"))
        qWarning("%s", qPrintable(message));
    else
        QMessageBox::warning(this, tr("Shardbench"), message);
}

} // namespace sb::ui
