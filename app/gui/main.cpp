// shardbench: the workbench GUI.
//
//   shardbench [MODEL.onnx] [--db PATH]
//   shardbench --screenshots DIR        render each main page to DIR/*.png and exit
//   shardbench --benchmark-open FILE    time opening FILE until interactive, print, exit
#include "app/gui/screenshots.h"
#include "core/common/paths.h"
#include "core/runtime/heap_policy.h"
#include "kernels/registry.h"
#include "ui/common/store_access.h"
#include "ui/graph/graph_page.h"
#include "ui/mainwindow/main_window.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QFileInfo>
#include <QStyleFactory>
#include <QTimer>

#include <cstdio>

int main(int argc, char **argv)
{
    // Runs allocate the same large blocks each time: keep them mapped (heap_policy.h).
    (void)sb::runtime::keepRunBuffersMapped();
    QApplication app(argc, argv);
    // Registers the kernels and the device kinds (CUDA) before anything lists
    // or creates devices: the planner asks the device factory, not a kind's library.
    (void)sb::kernels::defaultRegistry();
    QApplication::setApplicationName("Shardbench");
    QApplication::setOrganizationName("Shardbench");
    QApplication::setApplicationVersion(SHARDBENCH_VERSION);
    QApplication::setApplicationDisplayName("Shardbench");
    // Fusion follows the platform's light/dark palette and looks the same everywhere.
    QApplication::setStyle(QStyleFactory::create("Fusion"));

    QCommandLineParser parser;
    parser.setApplicationDescription("Shardbench workbench: split a model across devices, run "
                                     "it, evaluate it, sign the checklist.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption screenshots("screenshots",
                                   "Render each main page with the demo model and "
                                   "data to DIR/*.png, then exit.",
                                   "DIR");
    QCommandLineOption benchmarkOpen("benchmark-open",
                                     "Open FILE (ONNX), wait until the graph is laid out and "
                                     "interactive, print the time, then exit.",
                                     "FILE");
    QCommandLineOption db("db", "Use the store at PATH (default: the embedded database).", "PATH");
    parser.addOption(screenshots);
    parser.addOption(benchmarkOpen);
    parser.addOption(db);
    parser.addPositionalArgument("model", "ONNX model to open (default: the demo model).",
                                 "[MODEL.onnx]");
    parser.process(app);

    if (parser.isSet(db))
        sb::ui::setGuiDatabasePath(parser.value(db).toStdString());

    if (parser.isSet(screenshots))
        return sb::ui::renderScreenshots(parser.value(screenshots));

    sb::ui::MainWindow window;
    if (parser.isSet(benchmarkOpen)) {
        const QString file = parser.value(benchmarkOpen);
        QElapsedTimer timer;
        window.resize(1600, 1000);
        window.show();
        timer.start();
        double importMs = 0;
        QObject::connect(&window, &sb::ui::MainWindow::modelShown, &app,
                         [&]() { importMs = double(timer.nsecsElapsed()) / 1e6; });
        QObject::connect(window.graphPage(), &sb::ui::GraphPage::layoutFinished, &app,
                         [&](double graphviz, int items) {
                             // Interactive = the scene is installed and one frame painted.
                             QApplication::processEvents();
                             window.graphPage()->view()->viewport()->repaint();
                             const double ms = double(timer.nsecsElapsed()) / 1e6;
                             std::printf("{\"file\": \"%s\", \"nodes\": %d, \"boxes\": %d, "
                                         "\"import_and_cost_ms\": %.1f, \"graphviz_ms\": %.1f, "
                                         "\"open_to_interactive_ms\": %.1f}\n",
                                         QFileInfo(file).fileName().toUtf8().constData(),
                                         window.placement()->modelData()->nodeCount(), items,
                                         importMs, graphviz * 1000, ms);
                             std::fflush(stdout);
                             QTimer::singleShot(0, &app, [] { QApplication::exit(0); });
                         });
        QObject::connect(window.tasks(), &sb::ui::TaskRunner::busyChanged, &app, [&](bool busy) {
            if (!busy && !window.placement()->modelData())
                QApplication::exit(2); // import failed; the error was printed
        });
        window.openModel(file);
        return app.exec();
    }

    window.show();
    const QStringList args = parser.positionalArguments();
    const QString model =
        !args.isEmpty() ? args.first() : QString::fromStdString(sb::demoDecoderPath().string());
    if (QFileInfo::exists(model))
        window.openModel(model);
    return app.exec();
}
