// Runs page: timeline figures (bubble against (p-1)/(m+p-1), bottleneck), a
// what-if estimate on catalogue devices filling the timeline, and a real
// pipelined run of a small model driven from the GUI objects.
#include "synthetic_graph.h"

#include "core/runtime/kernel_registry.h"
#include "core/store/store.h"
#include "ui/common/stall_probe.h"
#include "ui/common/store_access.h"
#include "ui/devices/device_info.h"
#include "ui/devices/devices_panel.h"
#include "ui/devices/hosts_model.h"
#include "ui/graph/node_mime.h"
#include "ui/graph/placement_model.h"
#include "ui/run/run_backend.h"
#include "ui/run/run_comparison.h"
#include "ui/run/run_page.h"
#include "ui/run/run_record.h"
#include "ui/run/timeline_model.h"

#include <QAbstractItemModelTester>
#include <QChart>
#include <QChartView>
#include <QItemSelectionModel>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <QDir>
#include <QPushButton>

#include <cmath>
#include <csignal>
#include <map>
#include <unistd.h>

namespace {

// The MPI ranks this test process started (shardbench-worker --mpi-job
// processes below it in the process tree), read from /proc: a run must leave
// none behind, whether it finished, was cancelled or lost a rank.
QList<qint64> mpiRanksBelowUs()
{
    std::map<qint64, qint64> parentOf;
    std::map<qint64, bool> isRank;
    const QStringList pids = QDir("/proc").entryList(QDir::Dirs | QDir::NoDotAndDotDot);
    for (const QString &name : pids) {
        bool number = false;
        const qint64 pid = name.toLongLong(&number);
        if (!number)
            continue;
        QFile stat("/proc/" + name + "/stat");
        if (!stat.open(QIODevice::ReadOnly))
            continue;
        // "pid (comm) state ppid ...": comm may hold spaces, so read after ')'.
        const QByteArray line = stat.readAll();
        const QList<QByteArray> rest = line.mid(line.lastIndexOf(')') + 2).split(' ');
        if (rest.size() < 2)
            continue;
        parentOf[pid] = rest[1].toLongLong();
        QFile cmdline("/proc/" + name + "/cmdline");
        // The worker itself, not mpirun (whose arguments name the worker too).
        const QList<QByteArray> args =
            cmdline.open(QIODevice::ReadOnly) ? cmdline.readAll().split('\0') : QList<QByteArray>{};
        isRank[pid] = !args.isEmpty() && args.front().endsWith("shardbench-worker") &&
                      args.contains("--mpi-job");
    }
    QList<qint64> ranks;
    const qint64 self = ::getpid();
    for (const auto &[pid, parent] : parentOf) {
        if (!isRank[pid])
            continue;
        for (qint64 up = parent; up > 1 && parentOf.count(up); up = parentOf[up])
            if (up == self) {
                ranks << pid;
                break;
            }
    }
    return ranks;
}

// A stored run as another session (or version of the app) wrote it.
sb::store::RunRecord storedRun(int microbatches, double throughput, double p50, double p90,
                               double bubble, double ideal, const std::vector<double> &computeMs,
                               const std::vector<double> &peakBytes)
{
    sb::store::RunRecord record;
    record.status = "succeeded";
    record.startedAt = "2026-11-24T09:00:0" + std::to_string(microbatches) + ".000Z";
    record.config = {{"batch", 8},
                     {"microbatches", microbatches},
                     {"iterations", 5},
                     {"source", "gui"},
                     {"model", "/models/decoder.onnx"}};
    nlohmann::json stages = nlohmann::json::array();
    for (std::size_t s = 0; s < computeMs.size(); ++s)
        stages.push_back({{"device", "cpu:" + std::to_string(s)},
                          {"nodes", 10},
                          {"compute_ms", computeMs[s]},
                          {"idle_ms", 1.0},
                          {"peak_memory_bytes", peakBytes[s]},
                          {"ledger_memory_bytes", 1000000},
                          {"sent_bytes", 4096}});
    record.timings = {{"stages", stages}};
    nlohmann::json latency = {{"p50", p50}};
    if (!std::isnan(p90))
        latency["p90"] = p90; // older records have no p90
    record.metrics = {{"throughput", throughput},
                      {"latency_ms", latency},
                      {"bubble_fraction", bubble},
                      {"ideal_bubble_fraction", ideal}};
    return record;
}

} // namespace

using namespace sb;
using namespace sb::ui;

class TestUiRun : public QObject
{
    Q_OBJECT
private slots:
    void initTestCase();
    void recordRoundTrip();
    void comparisonFromStoredRuns();
    void timelineFigures_data();
    void timelineFigures();
    void whatIfEstimate();
    void pipelinedRun();
    void hostsModelParsesAndProbes_data();
    void hostsModelParsesAndProbes();
    void remoteDevicesTakeDropsAndRunOverMpi();
    void timelineLanesShowHostAndRank();
};

void TestUiRun::initTestCase()
{
    // Runs are saved to the store: a scratch one, never the user's.
    static QTemporaryDir dir;
    QVERIFY(dir.isValid());
    setGuiDatabasePath(dir.filePath("runs.db").toStdString());
}

void TestUiRun::recordRoundTrip()
{
    RunOutcome outcome;
    outcome.config.batch = 8;
    outcome.config.microbatches = 6;
    outcome.config.iterations = 3;
    outcome.config.inputs = RunConfig::Inputs::Npy;
    outcome.config.inputPath = "/data/tokens.npy";
    outcome.microbatchesUsed = 4; // the runtime may use fewer than asked
    outcome.throughput = 123.5;
    outcome.latencyP50 = 10.25;
    outcome.latencyP90 = 14.5;
    outcome.latencyP95 = 15.0;
    outcome.latencyP99 = 17.75;
    outcome.bubble = 0.31;
    outcome.idealBubble = 0.2;
    outcome.worstStallMs = 12.5;
    outcome.startedAt = "2026-11-25T10:00:00.000Z";
    outcome.finishedAt = "2026-11-25T10:00:02.500Z";
    outcome.stages = {RunStage{"cpu:0", 5, 20.5, 3.25, 1048576, 2097152, 8192, {}, 0},
                      RunStage{"cpu:1", 7, 30.5, 1.5, 3145728, 4194304, 0, {}, 0}};
    outcome.iterations = {RunIteration{0, 64.0, 125.0, 10.0}, RunIteration{1, 80.0, 100.0, 11.0}};
    store::RunRecord record = recordFromOutcome(outcome, "/models/decoder.onnx");
    record.id = 42;
    const RunOutcome back = outcomeFromRecord(record);
    QCOMPARE(back.storeId, qint64(42));
    QCOMPARE(back.config.batch, 8);
    QCOMPARE(back.config.microbatches, 6);
    QCOMPARE(back.microbatchesUsed, 4);
    QCOMPARE(back.config.iterations, 3);
    QCOMPARE(int(back.config.inputs), int(RunConfig::Inputs::Npy));
    QCOMPARE(back.config.inputPath, QStringLiteral("/data/tokens.npy"));
    QCOMPARE(back.modelName, QStringLiteral("decoder.onnx"));
    for (auto [a, b] : {std::pair{back.throughput, outcome.throughput},
                        {back.latencyP50, outcome.latencyP50},
                        {back.latencyP90, outcome.latencyP90},
                        {back.latencyP95, outcome.latencyP95},
                        {back.latencyP99, outcome.latencyP99},
                        {back.bubble, outcome.bubble},
                        {back.idealBubble, outcome.idealBubble},
                        {back.worstStallMs, outcome.worstStallMs}})
        QCOMPARE(a, b);
    QCOMPARE(back.stages.size(), 2);
    for (int s = 0; s < 2; ++s) {
        QCOMPARE(back.stages[s].device, outcome.stages[s].device);
        QCOMPARE(back.stages[s].nodes, outcome.stages[s].nodes);
        QCOMPARE(back.stages[s].computeMs, outcome.stages[s].computeMs);
        QCOMPARE(back.stages[s].idleMs, outcome.stages[s].idleMs);
        QCOMPARE(back.stages[s].peakMemoryBytes, outcome.stages[s].peakMemoryBytes);
        QCOMPARE(back.stages[s].ledgerMemoryBytes, outcome.stages[s].ledgerMemoryBytes);
        QCOMPARE(back.stages[s].sentBytes, outcome.stages[s].sentBytes);
    }
    QCOMPARE(back.iterations.size(), 2);
    QCOMPARE(back.iterations[1].wallMs, 80.0);
    QCOMPARE(back.iterations[1].throughput, 8 * 1000.0 / 80.0);
    QCOMPARE(back.startedAt, outcome.startedAt);
    QVERIFY(back.label.startsWith("Run #42"));
    // Missing figures read as unknown (NaN), not as zero.
    store::RunRecord sparse;
    sparse.id = 7;
    sparse.metrics = {{"throughput", 5.0}};
    const RunOutcome partial = outcomeFromRecord(sparse);
    QCOMPARE(partial.throughput, 5.0);
    QVERIFY(std::isnan(partial.latencyP50));
    QVERIFY(std::isnan(partial.bubble));
}

void TestUiRun::comparisonFromStoredRuns()
{
    // Two runs stored earlier (one without p90) load into the history of a
    // new Runs page; selecting both fills the comparison with their figures.
    auto opened = store::Store::open(guiDatabasePath());
    QVERIFY(opened.ok());
    const std::vector<store::RunRecord> records = {
        storedRun(2, 58.25, 102.5, 115.25, 0.385, 1.0 / 3, {55.0, 71.5}, {1835008, 4718592}),
        storedRun(4, 67.5, 49.5, qQNaN(), 0.318, 0.2, {60.5, 111.25, 3.0},
                  {917504, 2359296, 1024})};
    std::vector<store::Id> ids;
    for (const auto &record : records) {
        auto id = (*opened)->saveRun(record);
        QVERIFY(id.ok());
        ids.push_back(*id);
    }
    PlacementModel placement;
    TaskRunner tasks;
    StallProbe probe;
    RunPage page(&placement, &tasks, &probe);
    QSignalSpy loaded(&page, &RunPage::historyLoaded);
    page.loadHistory();
    QVERIFY(loaded.wait(10000));
    QVERIFY(loaded.front().front().toInt() >= 2);
    // The two just stored are the newest rows.
    const int rows = page.historyModel()->rowCount();
    QVERIFY(rows >= 2);
    QCOMPARE(page.outcomes()[rows - 2].storeId, qint64(ids[0]));
    QCOMPARE(page.outcomes()[rows - 1].storeId, qint64(ids[1]));
    QCOMPARE(page.historyModel()->index(rows - 1, 6).data().toString(), QString()); // no p90

    RunComparisonModel *comparison = page.comparisonModel();
    QAbstractItemModelTester tester(comparison,
                                    QAbstractItemModelTester::FailureReportingMode::QtTest);
    QItemSelectionModel *selection = page.historyView()->selectionModel();
    selection->select(page.historyModel()->index(rows - 2, 0),
                      QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
    selection->select(page.historyModel()->index(rows - 1, 0),
                      QItemSelectionModel::Select | QItemSelectionModel::Rows);
    QCOMPARE(comparison->columnCount(), 2);
    using Figure = RunComparisonModel::Figure;
    for (int c = 0; c < 2; ++c) {
        const store::RunRecord &record = records[std::size_t(c)];
        QCOMPARE(comparison->value(Figure::Throughput, c),
                 record.metrics["throughput"].get<double>());
        QCOMPARE(comparison->value(Figure::LatencyP50, c),
                 record.metrics["latency_ms"]["p50"].get<double>());
        QCOMPARE(comparison->value(Figure::Bubble, c),
                 record.metrics["bubble_fraction"].get<double>() * 100.0);
        QCOMPARE(comparison->value(Figure::IdealBubble, c),
                 record.metrics["ideal_bubble_fraction"].get<double>() * 100.0);
        QCOMPARE(comparison->value(Figure::Microbatches, c),
                 record.config["microbatches"].get<double>());
        for (const auto &stage : record.timings["stages"]) {
            const QString device = QString::fromStdString(stage["device"].get<std::string>());
            QCOMPARE(comparison->value(Figure::StageTime, c, device),
                     stage["compute_ms"].get<double>());
            QCOMPARE(comparison->value(Figure::PeakMemory, c, device),
                     stage["peak_memory_bytes"].get<double>() / 1048576.0);
        }
    }
    QCOMPARE(comparison->value(Figure::LatencyP90, 0), 115.25);
    QVERIFY(std::isnan(comparison->value(Figure::LatencyP90, 1)));
    // cpu:2 only ran in the second run: a row, empty for the first.
    QCOMPARE(comparison->devices(), (QStringList{"cpu:0", "cpu:1", "cpu:2"}));
    const int cpu2 = comparison->rowOf(Figure::StageTime, "cpu:2");
    QVERIFY(cpu2 >= 0);
    QCOMPARE(comparison->index(cpu2, 0).data().toString(), QString());
    QCOMPARE(comparison->index(cpu2, 1).data().toString(), QStringLiteral("3.00"));
    QVERIFY(comparison->headerData(0, Qt::Horizontal).toString().contains("2 mb"));
    // The charts hold one bar per run for every set.
    const auto charts = page.comparisonView()->charts();
    QCOMPARE(charts.size(), 5);
    for (QChartView *view : charts)
        QVERIFY(!view->chart()->series().isEmpty());

    // Loading again does not list the same runs twice.
    page.loadHistory();
    QVERIFY(loaded.wait(10000));
    QCOMPARE(loaded.back().front().toInt(), 0);
    QCOMPARE(page.historyModel()->rowCount(), rows);
}

void TestUiRun::timelineFigures_data()
{
    QTest::addColumn<int>("stages");
    QTest::addColumn<int>("microbatches");
    QTest::addColumn<QVector<double>>("stageMs");
    QTest::addColumn<double>("idealBubble");
    QTest::addColumn<int>("bottleneck");
    QTest::newRow("2x4 equal") << 2 << 4 << QVector<double>{1, 1} << 1.0 / 5 << 0;
    QTest::newRow("3x8 slow middle") << 3 << 8 << QVector<double>{1, 3, 1} << 2.0 / 10 << 1;
    QTest::newRow("1 stage") << 1 << 4 << QVector<double>{2} << 0.0 << 0;
}

void TestUiRun::timelineFigures()
{
    QFETCH(int, stages);
    QFETCH(int, microbatches);
    QFETCH(QVector<double>, stageMs);
    QFETCH(double, idealBubble);
    QFETCH(int, bottleneck);
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QStringList devices;
    for (int s = 0; s < stages; ++s)
        devices << QStringLiteral("cpu:%1").arg(s);
    model.reset(devices, {}, microbatches);
    // A GPipe schedule: stage s starts micro-batch m when s-1 finished it and
    // s finished m-1.
    QVector<TimelineSpan> spans;
    QVector<double> stageEnd(stages, 0.0);
    double busy = 0;
    for (int m = 0; m < microbatches; ++m) {
        double previous = 0;
        for (int s = 0; s < stages; ++s) {
            const double start = std::max(previous, stageEnd[s]);
            spans << TimelineSpan{s, m, 0, start, start + stageMs[s]};
            stageEnd[s] = previous = start + stageMs[s];
            busy += stageMs[s];
        }
    }
    model.appendSpans(spans);
    QCOMPARE(model.rowCount(), stages * microbatches);
    QCOMPARE(model.idealBubble(), idealBubble);
    QCOMPARE(model.bottleneckStage(), bottleneck);
    const double makespan = stageEnd.back();
    QCOMPARE(model.measuredBubble(), 1.0 - busy / (makespan * stages));
    if (stages > 1 && stageMs[0] == stageMs[1]) // equal stages: measured == formula
        QVERIFY(std::abs(model.measuredBubble() - idealBubble) < 1e-12);
}

void TestUiRun::whatIfEstimate()
{
    const QStringList names = catalogueNames();
    if (names.isEmpty())
        QFAIL("resources/devices.json has no devices");
    PlacementModel placement;
    QVector<DeviceInfo> devices = catalogueDevices(names.front(), 2, 0);
    QCOMPARE(devices.size(), 2);
    placement.setDevices(devices);
    cost::DimBindings bindings;
    bindings.batch = 2;
    auto model = makeModelData(test::residualChain(4), bindings);
    QVERIFY(model.ok());
    QSignalSpy validated(&placement, &PlacementModel::validated);
    placement.setModelData(*model);
    placement.assignNodes({6, 7, 8, 9, 10, 11}, 1);
    QTRY_VERIFY_WITH_TIMEOUT(placement.report().validated, 10000);
    QVERIFY(validated.count() >= 1);
    QVERIFY2(placement.report().isValid(), qPrintable(placement.report().problems.join("; ")));
    // The estimate's stages are the validator's, in its stage order.
    QCOMPARE(placement.report().stageDevices, (QVector<int>{0, 1}));
    TaskRunner tasks;
    StallProbe probe;
    RunPage page(&placement, &tasks, &probe);
    QSignalSpy finished(&page, &RunPage::runFinished);
    QVERIFY(page.startRun());
    QCOMPARE(finished.count(), 1);
    QCOMPARE(page.timelineModel()->stageCount(), 2);
    QCOMPARE(page.timelineModel()->rowCount(), 2 * page.microbatches());
    QVERIFY(page.outcomes().back().label.startsWith("What-if"));
    QVERIFY(page.outcomes().back().throughput > 0);
    // The page draws core's schedule (runtime::simulateChain) of the
    // validator's stage times: a GPipe chain ending at sum + (M - 1) x max,
    // its bubble the one the timeline shows.
    double sum = 0, slowest = 0;
    for (const int d : placement.report().stageDevices) {
        const double ms = placement.report().devices[d].stageSeconds * 1000.0;
        sum += ms;
        slowest = std::max(slowest, ms);
    }
    const double expectedEnd = sum + (page.microbatches() - 1) * slowest;
    QVERIFY2(std::abs(page.timelineModel()->endMs() - expectedEnd) <= 1e-9 * expectedEnd,
             qPrintable(QString("%1 vs %2").arg(page.timelineModel()->endMs()).arg(expectedEnd)));
    QVERIFY(std::abs(page.outcomes().back().bubble - page.timelineModel()->measuredBubble()) <
            1e-12);
}

void TestUiRun::pipelinedRun()
{
    PlacementModel placement;
    placement.setDevices(discoverLocalCpuDevices(2));
    cost::DimBindings bindings;
    bindings.batch = 1;
    auto model = makeModelData(test::residualChain(4), bindings);
    QVERIFY(model.ok());
    placement.setModelData(*model);
    placement.assignNodes({6, 7, 8, 9, 10, 11}, 1);
    TaskRunner tasks;
    StallProbe probe;
    RunPage page(&placement, &tasks, &probe);
    RunConfig config;
    config.batch = 8;
    config.microbatches = 4;
    config.iterations = 3;
    page.setConfig(config);
    QSignalSpy finished(&page, &RunPage::runFinished);
    QSignalSpy saved(&page, &RunPage::runSaved);
    QVERIFY(page.startRun());
    QVERIFY(finished.wait(60000));
    QVERIFY(finished.front().front().toBool());
    const RunOutcome &outcome = page.outcomes().back();
    QCOMPARE(outcome.stages.size(), 2);
    QCOMPARE(page.timelineModel()->stageCount(), 2);
    QCOMPARE(page.timelineModel()->rowCount(), 2 * outcome.microbatchesUsed);
    QCOMPARE(page.metrics()->pointCount(), 3);
    QVERIFY(outcome.throughput > 0);
    QVERIFY(probe.samples() > 0);
    // The ledger of the plan as run bounds what each stage measured: the
    // executor's planned activations plus the transfer queues at full depth.
    for (const RunStage &stage : outcome.stages) {
        QVERIFY2(stage.peakMemoryBytes > 0, qPrintable(stage.device));
        QVERIFY2(stage.peakMemoryBytes <= stage.ledgerMemoryBytes,
                 qPrintable(QStringLiteral("%1: measured %2 > ledger %3")
                                .arg(stage.device)
                                .arg(stage.peakMemoryBytes)
                                .arg(stage.ledgerMemoryBytes)));
    }
    // The run goes to the store with the figures the page shows.
    QVERIFY(saved.count() == 1 || saved.wait(10000));
    const qint64 runId = saved.front().at(1).toLongLong();
    QCOMPARE(page.outcomes().back().storeId, runId);
    auto opened = store::Store::open(guiDatabasePath());
    QVERIFY(opened.ok());
    auto runs = (*opened)->runs().runs();
    QVERIFY(runs.ok());
    bool found = false;
    for (const auto &record : *runs)
        if (record.id == runId) {
            const RunOutcome stored = outcomeFromRecord(record);
            QCOMPARE(stored.throughput, outcome.throughput);
            QCOMPARE(stored.latencyP90, outcome.latencyP90);
            QCOMPARE(stored.stages.size(), outcome.stages.size());
            QCOMPARE(stored.stages[1].computeMs, outcome.stages[1].computeMs);
            found = true;
        }
    QVERIFY(found);
}

namespace {
QString workerPath()
{
    return QFileInfo(QStringLiteral(SB_CLI_PATH)).absolutePath() + "/shardbench-worker";
}
} // namespace

void TestUiRun::hostsModelParsesAndProbes_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("rows");
    QTest::addColumn<bool>("error");
    QTest::newRow("one") << "localhost:2" << 1 << false;
    QTest::newRow("spaces and commas") << "localhost:2, node2 node3:4" << 3 << false;
    QTest::newRow("duplicate") << "localhost localhost:3" << 1 << false;
    QTest::newRow("bad slots") << "localhost:0" << 0 << true;
    QTest::newRow("bad name") << "a$(b)" << 0 << true;
}

void TestUiRun::hostsModelParsesAndProbes()
{
    QFETCH(QString, text);
    QFETCH(int, rows);
    QFETCH(bool, error);
    HostsModel hosts;
    QAbstractItemModelTester tester(&hosts, QAbstractItemModelTester::FailureReportingMode::QtTest);
    hosts.setWorkerPath(workerPath());
    QCOMPARE(hosts.addHosts(text).isEmpty(), !error);
    QCOMPARE(hosts.rowCount(), rows);
    if (rows != 1 || error)
        return;
    // Probe localhost through mpirun, off the GUI thread.
    QVector<DeviceInfo> probed;
    QString failure;
    connect(&hosts, &HostsModel::probed, this, [&](const QVector<DeviceInfo> &d) { probed = d; });
    connect(&hosts, &HostsModel::probeFailed, this, [&](const QString &m) { failure = m; });
    hosts.probe();
    QVERIFY(hosts.isProbing());
    QCOMPARE(hosts.data(hosts.index(0), HostsModel::StateRole).toString(), QString("probing"));
    QTRY_VERIFY_WITH_TIMEOUT(!hosts.isProbing(), 60000);
    QVERIFY2(failure.isEmpty(), qPrintable(failure));
    QCOMPARE(probed.size(), 2); // two CPU devices per host by default
    QCOMPARE(probed.front().id, QString("localhost/cpu:0"));
    QCOMPARE(probed.front().host, QString("localhost"));
    QVERIFY(probed.front().origin == DeviceInfo::Origin::Remote);
    QCOMPARE(hosts.data(hosts.index(0), HostsModel::StateRole).toString(), QString("probed"));
    QCOMPARE(hosts.data(hosts.index(0), HostsModel::DeviceCountRole).toInt(), 2);
}

void TestUiRun::remoteDevicesTakeDropsAndRunOverMpi()
{
    PlacementModel placement;
    placement.setDevices(discoverLocalCpuDevices(1));
    cost::DimBindings bindings;
    bindings.batch = 2;
    CancelToken cancel;
    auto model = loadModel(SB_TESTDATA_DIR "/models/mlp.onnx", bindings, {}, cancel);
    QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
    placement.setModelData(*model);
    DevicesPanel panel(&placement);
    panel.resize(320, 600);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    panel.hostsModel()->setWorkerPath(workerPath());
    QVERIFY(panel.addHosts("localhost:2").isEmpty());
    QVERIFY(panel.hostsView()->isVisibleTo(&panel));
    // The probed devices join the list, grouped by host, after the local one.
    QTRY_COMPARE_WITH_TIMEOUT(placement.devices().size(), 3, 60000);
    QCOMPARE(placement.devices()[1].id, QString("localhost/cpu:0"));
    QCOMPARE(placement.devices()[2].id, QString("localhost/cpu:1"));
    // Drops on a remote device assign nodes like on a local one.
    const int nodes = (*model)->nodeCount();
    QVector<graph::NodeId> all, second;
    for (int n = 0; n < nodes; ++n)
        (n < nodes / 2 ? all : second).push_back(n);
    QVERIFY(simulateNodeDrop(panel.view(), all, 1));
    QVERIFY(simulateNodeDrop(panel.view(), second, 2));
    QCOMPARE(placement.deviceOf(0), 1);
    QCOMPARE(placement.deviceOf(nodes - 1), 2);
    QTRY_VERIFY_WITH_TIMEOUT(placement.report().validated, 10000);
    QVERIFY2(placement.report().isValid(), qPrintable(placement.report().problems.join("; ")));
    // The run goes through the MPI launcher: two ranks on localhost.
    qputenv("SHARDBENCH_WORKER", workerPath().toUtf8());
    TaskRunner tasks;
    StallProbe probe;
    RunPage page(&placement, &tasks, &probe);
    RunConfig config;
    config.batch = 2;
    config.microbatches = 2;
    config.iterations = 2;
    page.setConfig(config);
    QSignalSpy finished(&page, &RunPage::runFinished);
    QSignalSpy errors(&page, &RunPage::errorOccurred);
    QVERIFY(page.startRun());
    QVERIFY(finished.wait(120000));
    QVERIFY2(finished.front().front().toBool(),
             errors.isEmpty() ? "" : qPrintable(errors.front().front().toString()));
    const RunOutcome &outcome = page.outcomes().back();
    QCOMPARE(outcome.stages.size(), 2);
    QCOMPARE(outcome.stages[0].host, QString("localhost"));
    QCOMPARE(outcome.stages[0].rank, 0);
    QCOMPARE(outcome.stages[1].rank, 1);
    QCOMPARE(page.timelineModel()->stagePlace(1), QString("localhost · rank 1"));
    QSignalSpy saved(&page, &RunPage::runSaved);
    QTRY_COMPARE_WITH_TIMEOUT(saved.size(), 1, 10000);
    QTRY_VERIFY_WITH_TIMEOUT(mpiRanksBelowUs().isEmpty(), 5000);

    // Cancel (the page's button) while the ranks run: every rank stops, the
    // run ends as cancelled, not as an error, and nothing is kept or stored.
    QPushButton *cancelButton = nullptr;
    for (QPushButton *button : page.findChildren<QPushButton *>())
        if (button->text() == "Cancel")
            cancelButton = button;
    QVERIFY(cancelButton);
    const int outcomesBefore = page.outcomes().size();
    // The page's largest run of the fixture: long enough to be cancelled.
    config.batch = 4096;
    config.iterations = 1000;
    page.setConfig(config);
    finished.clear();
    errors.clear();
    QVERIFY(page.startRun());
    QTRY_VERIFY2_WITH_TIMEOUT(
        mpiRanksBelowUs().size() == 2,
        qPrintable(errors.isEmpty() ? QString("no ranks seen") : errors.front().front().toString()),
        60000);
    QVERIFY(cancelButton->isEnabled());
    QElapsedTimer sinceCancel;
    sinceCancel.start();
    QTest::mouseClick(cancelButton, Qt::LeftButton);
    QVERIFY(finished.wait(30000));
    QVERIFY(sinceCancel.elapsed() < 30000);
    QCOMPARE(finished.back().front().toBool(), false);
    QVERIFY2(errors.isEmpty(),
             errors.isEmpty() ? "" : qPrintable(errors.front().front().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(mpiRanksBelowUs().isEmpty(), 5000);

    // A rank that dies mid-run ends the run with an error naming it; the
    // failed run is neither shown as a result nor stored.
    finished.clear();
    errors.clear();
    QVERIFY(page.startRun());
    QList<qint64> ranks;
    QTRY_VERIFY_WITH_TIMEOUT((ranks = mpiRanksBelowUs()).size() == 2, 60000);
    QElapsedTimer sinceKill;
    sinceKill.start();
    QCOMPARE(::kill(static_cast<pid_t>(ranks.back()), SIGKILL), 0);
    QVERIFY(finished.wait(30000));
    QVERIFY(sinceKill.elapsed() < 30000);
    QCOMPARE(finished.back().front().toBool(), false);
    QCOMPARE(errors.size(), 1);
    QVERIFY2(errors.front().front().toString().contains("rank"),
             qPrintable(errors.front().front().toString()));
    QTRY_VERIFY_WITH_TIMEOUT(mpiRanksBelowUs().isEmpty(), 5000);
    QTest::qWait(300); // a save would have been queued by now
    QCOMPARE(page.outcomes().size(), outcomesBefore);
    QCOMPARE(saved.size(), 1);
}

void TestUiRun::timelineLanesShowHostAndRank()
{
    TimelineModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.reset({"cpu:0", "node2/cpu:0"}, {Qt::red, Qt::blue}, 2);
    QCOMPARE(model.stagePlace(1), QString());
    model.setStagePlaces(
        {TimelineModel::placeLabel("localhost", 0), TimelineModel::placeLabel("node2", 1)});
    QCOMPARE(model.stagePlace(1), QString("node2 · rank 1"));
    QCOMPARE(TimelineModel::placeLabel({}, 0), QString()); // in-process runs without a host
    model.reset({"cpu:0"}, {Qt::red}, 1);
    QCOMPARE(model.stagePlace(0), QString()); // a new run forgets the old places
}

QTEST_MAIN(TestUiRun)
#include "test_ui_run.moc"
