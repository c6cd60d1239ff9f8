// Runs page: timeline figures (bubble against (p-1)/(m+p-1), bottleneck), a
// what-if estimate on catalogue devices filling the timeline, and a real
// pipelined run of a small model driven from the GUI objects.
#include "synthetic_graph.h"

#include "core/runtime/kernel_registry.h"
#include "ui/common/stall_probe.h"
#include "ui/devices/device_info.h"
#include "ui/graph/placement_model.h"
#include "ui/run/run_backend.h"
#include "ui/run/run_page.h"
#include "ui/run/timeline_model.h"

#include <QAbstractItemModelTester>
#include <QSignalSpy>
#include <QTest>

using namespace sb;
using namespace sb::ui;

class TestUiRun : public QObject
{
    Q_OBJECT
private slots:
    void timelineFigures_data();
    void timelineFigures();
    void whatIfEstimate();
    void pipelinedRun();
};

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
    if (stages > 1 && stageMs[0] == stageMs[1])  // equal stages: measured == formula
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
}

void TestUiRun::pipelinedRun()
{
    if (!guiKernelRegistry().find("MatMul", "", runtime::DeviceKind::Cpu))
        QSKIP("this build has no CPU kernels (kernels/registry.h not on main yet)");
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
}

QTEST_MAIN(TestUiRun)
#include "test_ui_run.moc"
