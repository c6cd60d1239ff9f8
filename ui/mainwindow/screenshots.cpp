#include "ui/mainwindow/screenshots.h"

#include "core/common/paths.h"
#include "ui/common/store_access.h"
#include "ui/eval/eval_page.h"
#include "ui/governance/governance_page.h"
#include "ui/graph/graph_page.h"
#include "ui/mainwindow/main_window.h"
#include "ui/registry/registry_page.h"
#include "ui/report/report_page.h"
#include "ui/run/run_page.h"

#include <QApplication>
#include <QDir>
#include <QElapsedTimer>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QTabWidget>
#include <QThread>

#include <cstdio>
#include <functional>

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

bool save(QWidget *widget, const QString &path)
{
    QApplication::processEvents();
    const QPixmap pixmap = widget->grab();
    const bool ok = pixmap.save(path);
    std::printf("%s %s (%dx%d)\n", ok ? "wrote" : "FAILED", qPrintable(path), pixmap.width(),
                pixmap.height());
    return ok;
}

} // namespace

int renderScreenshots(const QString &directory)
{
    QDir().mkpath(directory);
    const QDir dir(directory);
    MainWindow window;
    window.resize(1500, 940);
    window.show();
    auto idle = [&window]() { return !window.isBusy(); };

    // 1. The demo decoder, blocks collapsed.
    window.openModel(QString::fromStdString(demoDecoderPath().string()));
    if (!waitFor([&]() { return window.placement()->modelData() && idle(); }, 60000)) {
        std::fprintf(stderr, "screenshots: the demo model did not open\n");
        return 1;
    }
    save(&window, dir.filePath("01-graph.png"));

    // 2. A block dragged onto the second device: the same undoable command a
    // drop performs (tests exercise the drop itself).
    const auto model = window.placement()->modelData();
    int block = -1;
    for (std::size_t g = model->groups.size(); g-- > 0;)
        if (model->groups[g].size() > 1) {
            block = int(g);
            break;
        }
    if (block >= 0 && window.placement()->devices().size() > 1) {
        QVector<graph::NodeId> nodes;
        // Move the last half of the graph (from that block on) so the plan
        // stays a valid two-stage pipeline.
        for (graph::NodeId n = model->groups[std::size_t(block)].front(); n < model->nodeCount(); ++n)
            nodes.push_back(n);
        window.placement()->assignNodes(nodes, 1);
        window.graphPage()->toggleGroup(block);
        waitFor(idle, 30000);
        window.graphPage()->view()->zoomToFit();
    }
    save(&window, dir.filePath("02-placement.png"));

    const QString demoDir = QString::fromStdString(demoClassifierPath().parent_path().string());
    // 3. Run the plan.
    window.pages()->setCurrentWidget(window.runPage());
    RunConfig config = window.runPage()->config();
    config.inputs = RunConfig::Inputs::Npy;  // the demo decoder's token ids [8, 64]
    config.inputPath = demoDir + "/decoder_input.npy";
    config.batch = 8;
    config.microbatches = 4;
    config.iterations = 5;
    window.runPage()->setConfig(config);
    if (window.runPage()->startRun())
        waitFor([&]() { return !window.runPage()->isRunning(); }, 120000);
    save(&window, dir.filePath("03-run.png"));

    // 4. Evaluation of the demo classifier on the demo data.
    window.pages()->setCurrentWidget(window.evalPage());
    if (auto *reference = window.evalPage()->findChild<QLineEdit *>("referencePath"))
        reference->setText(demoDir + "/reference.csv");
    if (auto *current = window.evalPage()->findChild<QLineEdit *>("currentPath")) {
        current->setText(demoDir + "/current.csv");
        emit current->editingFinished();
    }
    if (auto *evaluate = window.evalPage()->findChild<QPushButton *>("evaluateButton"))
        evaluate->click();
    waitFor(idle, 60000);
    save(&window, dir.filePath("04-evaluation.png"));
    if (auto *content = window.evalPage()->findChild<QWidget *>("evalContent"))
        save(content, dir.filePath("04b-evaluation-full.png"));

    // 5. Governance and registry from the store.
    window.pages()->setCurrentWidget(window.governancePage());
    window.governancePage()->refresh();
    waitFor(idle, 30000);
    save(&window, dir.filePath("05-governance.png"));
    window.pages()->setCurrentWidget(window.registryPage());
    window.registryPage()->refresh();
    waitFor(idle, 30000);
    save(&window, dir.filePath("06-registry.png"));

    // 6. Report.
    window.pages()->setCurrentWidget(window.reportPage());
    window.reportPage()->rebuild();
    save(&window, dir.filePath("07-report.png"));
    window.pages()->setCurrentWidget(window.graphPage());
    return 0;
}

} // namespace sb::ui
