// Graph page models and interactions: the tree and placement models under
// QAbstractItemModelTester, placement by real drop events on the devices
// panel and on the device lanes beside the graph, undo/redo, invalid-plan
// marking, plan files through core/plan, auto split with pins, the device
// ledger rendering, cut edges, layout, minimap and search.
#include "synthetic_graph.h"

#include "core/common/paths.h"
#include "core/common/sha256.h"
#include "core/graph/onnx_import.h"
#include "core/plan/plan_file.h"
#include "core/plan/planner.h"
#include "core/plan/validate.h"
#include "ui/common/store_access.h"
#include "ui/devices/device_delegate.h"
#include "ui/devices/devices_panel.h"
#include "ui/graph/auto_split.h"
#include "ui/graph/device_lanes.h"
#include "ui/graph/graph_layout.h"
#include "ui/graph/graph_page.h"
#include "ui/graph/graph_tree_model.h"
#include "ui/graph/model_data.h"
#include "ui/graph/node_mime.h"
#include "ui/graph/placement_model.h"
#include "ui/mainwindow/main_window.h"
#include "ui/registry/registry_page.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDropEvent>
#include <QElapsedTimer>
#include <QListView>
#include <QMenu>
#include <QPainter>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <set>

using namespace sb;
using namespace sb::ui;

namespace {

// Width 8 keeps figures easy to check by hand; the planner tests use wider
// blocks so that compute, not the per-transfer latency, decides the split.
std::shared_ptr<const ModelData> makeModel(int blocks, int width = 8)
{
    cost::DimBindings bindings;
    bindings.batch = 4;
    auto data = makeModelData(test::residualChain(blocks, width), bindings);
    if (!data.ok())
        qFatal("makeModelData: %s", data.error().message.c_str());
    return data.value();
}

QVector<DeviceInfo> twoDevices(quint64 capacity = quint64(1) << 30)
{
    QVector<DeviceInfo> devices;
    for (int i = 0; i < 2; ++i) {
        DeviceInfo d;
        d.id = QStringLiteral("cpu:%1").arg(i);
        d.kind = "cpu";
        d.capacityBytes = capacity;
        d.flopsPerSecond = 1e9;
        devices << d;
    }
    return devices;
}

QVector<graph::NodeId> blockNodes(const ModelData &model, int block)
{
    QVector<graph::NodeId> nodes;
    for (graph::NodeId n : model.groups[std::size_t(block)])
        nodes << n;
    return nodes;
}

// The result of a simulated drag over the device lanes and the drop at the end.
struct LaneDrag
{
    bool enterAccepted = false;
    bool moveAccepted = false;
    int hoveredDuringMove = -1;
    int hoveredAfterDrop = -1;
};

LaneDrag dragOntoLanes(DeviceLanes *lanes, const QMimeData *mime, const QPoint &pos)
{
    LaneDrag result;
    QDragEnterEvent enter(pos, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(lanes, &enter);
    result.enterAccepted = enter.isAccepted();
    if (!result.enterAccepted)
        return result;
    QDragMoveEvent move(pos, Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(lanes, &move);
    result.moveAccepted = move.isAccepted();
    result.hoveredDuringMove = lanes->hoveredLane();
    if (result.moveAccepted) {
        QDropEvent drop(QPointF(pos), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(lanes, &drop);
    } else {
        QDragLeaveEvent leave;
        QApplication::sendEvent(lanes, &leave);
    }
    result.hoveredAfterDrop = lanes->hoveredLane();
    return result;
}

// Waits until the placement's asynchronous validation has merged.
bool waitValidated(PlacementModel &placement)
{
    if (placement.report().validated)
        return true;
    QSignalSpy spy(&placement, &PlacementModel::validated);
    return spy.wait(10000);
}

} // namespace

class TestUiGraph : public QObject
{
    Q_OBJECT
private slots:
    void modelsPassTester();
    void treeStructure_data();
    void treeStructure();
    void dropAssigns_data();
    void dropAssigns();
    void undoRedoPin();
    void invalidMarking_data();
    void invalidMarking();
    void ledgerFigures();
    void guiAndCoreAgree();
    void dropOnLargeModelValidatesQuickly();
    void lanesDrop_data();
    void lanesDrop();
    void lanesRejectAndFollow();
    void ledgerText_data();
    void ledgerText();
    void ledgerSegments();
    void deviceRowsDoNotOverlap_data();
    void deviceRowsDoNotOverlap();
    void planSavedReadByCore();
    void planExtrasSurviveRoundTrip();
    void planFromCorePlannerLoads();
    void planLoadErrors_data();
    void planLoadErrors();
    void autoSplitKeepsPins();
    void cutEdgesThickByBytes();
    void dimsBindEstimates();
    void whatIfDevicesGetCatalogueLinks();
    void whatIfAddRemove();
    void contextMenuAssignsAndPins();
    void splitAcrossDevicesIsUndoable();
    void nodeMarksAtEveryZoom_data();
    void nodeMarksAtEveryZoom();
    void miniMapMovesView();
    void layoutCollapsedAndExpanded();
    void layoutExpandsSubgraphs();
    void layoutCancelled();
    void pageSearch_data();
    void pageSearch();
    void mainWindowPlansAndSearch();
    void subgraphRows_data();
    void subgraphRows();
};

void TestUiGraph::modelsPassTester()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    GraphTreeModel tree(&placement);
    QAbstractItemModelTester treeTester(&tree,
                                        QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester placementTester(
        &placement, QAbstractItemModelTester::FailureReportingMode::QtTest);
    placement.setModelData(makeModel(5));
    QCOMPARE(tree.rowCount(), 5);
    placement.assignNodes(blockNodes(*placement.modelData(), 3), 1);
    placement.setPinned({0, 1}, true);
    placement.undoStack()->undo();
    placement.undoStack()->redo();
    placement.setDevices(twoDevices().mid(0, 1)); // drops cpu:1: its nodes become unassigned
    QCOMPARE(placement.deviceOf(9), -1);
    placement.setModelData(makeModel(2));
    QCOMPARE(tree.rowCount(), 2);
}

void TestUiGraph::treeStructure_data()
{
    QTest::addColumn<int>("block");
    QTest::addColumn<int>("child");
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("op");
    QTest::addColumn<QString>("shape");
    QTest::newRow("block 0") << 0 << -1 << "/blocks.0"
                             << "block (3 nodes)"
                             << "[batch,8]";
    QTest::newRow("first node") << 0 << 0 << "/blocks.0/MatMul"
                                << "MatMul"
                                << "[batch,8]";
    QTest::newRow("last node") << 2 << 2 << "/blocks.2/Add"
                               << "Add"
                               << "[batch,8]";
}

void TestUiGraph::treeStructure()
{
    QFETCH(int, block);
    QFETCH(int, child);
    QFETCH(QString, name);
    QFETCH(QString, op);
    QFETCH(QString, shape);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    GraphTreeModel tree(&placement);
    QModelIndex index = tree.index(block, 0);
    if (child >= 0)
        index = tree.index(child, 0, index);
    QCOMPARE(index.data().toString(), name);
    QCOMPARE(index.siblingAtColumn(GraphTreeModel::OpColumn).data().toString(), op);
    QCOMPARE(index.siblingAtColumn(GraphTreeModel::ShapeColumn).data().toString(), shape);
    QCOMPARE(index.siblingAtColumn(GraphTreeModel::DeviceColumn).data().toString(),
             QStringLiteral("cpu:0"));
    // MatMul [4,8]x[8,8]: 2*4*8*8 FLOPs at batch 4.
    if (op == "MatMul")
        QCOMPARE(index.siblingAtColumn(GraphTreeModel::FlopsColumn)
                     .data(GraphTreeModel::SortRole)
                     .toDouble(),
                 512.0);
    if (child >= 0) {
        const int node = index.data(GraphTreeModel::NodeIdRole).toInt();
        QCOMPARE(tree.indexForNode(node), index);
    }
}

void TestUiGraph::dropAssigns_data()
{
    QTest::addColumn<int>("block");
    QTest::addColumn<int>("device");
    QTest::addColumn<int>("cuts");
    QTest::newRow("last block to cpu:1") << 3 << 1 << 2;   // MatMul and Add of block 3 read block 2
    QTest::newRow("middle block to cpu:1") << 1 << 1 << 4; // 2 pairs in, 2 pairs out
    QTest::newRow("first block stays") << 0 << 0 << 0;
}

void TestUiGraph::dropAssigns()
{
    QFETCH(int, block);
    QFETCH(int, device);
    QFETCH(int, cuts);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(4));
    DevicesPanel panel(&placement);
    panel.resize(320, 500);
    panel.show();
    QVERIFY(QTest::qWaitForWindowExposed(&panel));
    const auto nodes = blockNodes(*placement.modelData(), block);
    QVERIFY(simulateNodeDrop(panel.view(), nodes, device));
    for (graph::NodeId n : nodes)
        QCOMPARE(placement.deviceOf(n), device);
    // Cut edges counted per (producer, consumer) pair.
    QCOMPARE(int(placement.report().cuts.size()), cuts);
    QCOMPARE(placement.undoStack()->count(), device == 0 ? 0 : 1);
    if (device != 0) {
        placement.undoStack()->undo();
        for (graph::NodeId n : nodes)
            QCOMPARE(placement.deviceOf(n), 0);
        placement.undoStack()->redo();
        QCOMPARE(placement.deviceOf(nodes.front()), device);
        QVERIFY(waitValidated(placement));
        const auto ledger = placement.report().devices[device];
        QCOMPARE(ledger.nodes, 3);
        QCOMPARE(ledger.weights, quint64(8 * 8 * 4));
    }
}

void TestUiGraph::undoRedoPin()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    QVERIFY(placement.setPinned({4}, true));
    QVERIFY(!placement.setPinned({4}, true)); // no change, no command
    QVERIFY(placement.isPinned(4));
    QVERIFY(placement.assignNodes({4, 5}, 1));
    QCOMPARE(placement.undoStack()->count(), 2);
    placement.undoStack()->undo();
    QCOMPARE(placement.deviceOf(4), 0);
    QVERIFY(placement.isPinned(4));
    placement.undoStack()->undo();
    QVERIFY(!placement.isPinned(4));
    placement.undoStack()->redo();
    placement.undoStack()->redo();
    QCOMPARE(placement.deviceOf(5), 1);
    QVERIFY(placement.undoStack()->text(1).contains("cpu:1"));
}

void TestUiGraph::invalidMarking_data()
{
    QTest::addColumn<QVector<int>>("onSecond"); // node ids placed on cpu:1
    QTest::addColumn<quint64>("capacity");
    QTest::addColumn<QString>("problem");
    QTest::addColumn<int>("markedNode");
    QTest::addColumn<QString>("nodeReason");
    QTest::newRow("valid split") << QVector<int>{6, 7, 8} << quint64(1) << QString() << -1
                                 << QString();
    // Block 1's Relu on cpu:1 between MatMul and Add on cpu:0: cpu:0 -> cpu:1 -> cpu:0.
    QTest::newRow("cycle") << QVector<int>{4} << quint64(1) << "Cycle between devices" << 4
                           << "cycle between devices";
    QTest::newRow("over capacity") << QVector<int>{} << quint64(64) << "Memory over capacity" << 0
                                   << "Memory over capacity: device cpu:0 needs";
}

void TestUiGraph::invalidMarking()
{
    QFETCH(QVector<int>, onSecond);
    QFETCH(quint64, capacity);
    QFETCH(QString, problem);
    QFETCH(int, markedNode);
    QFETCH(QString, nodeReason);
    PlacementModel placement;
    placement.setDevices(twoDevices(capacity == 1 ? quint64(1) << 30 : capacity));
    placement.setModelData(makeModel(3));
    placement.assignNodes(onSecond, 1);
    QVERIFY(waitValidated(placement));
    const auto &report = placement.report();
    if (problem.isEmpty()) {
        QVERIFY2(report.isValid(), qPrintable(report.problems.join("; ")));
        return;
    }
    QVERIFY(!report.isValid());
    QVERIFY2(report.problems.join("\n").contains(problem), qPrintable(report.problems.join("; ")));
    QVERIFY2(report.nodeProblems[std::size_t(markedNode)].contains(nodeReason),
             qPrintable(report.nodeProblems[std::size_t(markedNode)]));
    // The reason reaches the views: the device row and the node's tooltip.
    GraphTreeModel tree(&placement);
    QVERIFY(tree.indexForNode(markedNode).data(Qt::ToolTipRole).toString().contains(nodeReason));
    bool deviceMarked = false;
    for (const auto &ledger : report.devices)
        deviceMarked = deviceMarked || !ledger.problems.isEmpty();
    QVERIFY(deviceMarked);
}

void TestUiGraph::ledgerFigures()
{
    // Chain of 2 blocks, width 8, the plan's batch 8 in 4 micro-batches: every
    // activation of a micro-batch is 2*8*4 = 64 B; weights 8*8*4 = 256 B a block.
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    QCOMPARE(placement.batch(), std::int64_t(8));
    QCOMPARE(placement.microbatches(), 4);
    placement.assignNodes(blockNodes(*placement.modelData(), 1), 1);
    QVERIFY(!placement.report().validated); // the model's analysis runs on a worker
    QVERIFY(waitValidated(placement));
    const auto &report = placement.report();
    QCOMPARE(report.devices[0].weights, quint64(256));
    QCOMPARE(report.devices[1].weights, quint64(256));
    // Block 0's output crosses once (two consumers, one tensor): queued
    // messages of it on the sending side, transfer buffers on the receiving.
    QCOMPARE(report.devices[0].buffers, quint64(plan::kTransferQueueDepth * 64));
    QCOMPARE(report.devices[1].buffers, quint64(plan::kTransferBuffersCharged * 64));
    // On cpu:1 the MatMul and Relu outputs are live together, then Relu + Add: peak 128 B.
    QCOMPARE(report.devices[1].activations, quint64(128));
    // Every figure is core/plan's: the validator on the same plan agrees.
    const auto core = plan::validatePlan(*placement.modelData()->graph, placement.makePlan(), {});
    QVERIFY(core.estimate);
    for (std::size_t s = 0; s < core.estimate->stages.size(); ++s) {
        const int d =
            placement.deviceIndex(QString::fromStdString(core.estimate->stages[s].device));
        QCOMPARE(report.devices[d].stageSeconds, core.estimate->stages[s].seconds());
        QCOMPARE(report.devices[d].flops, core.estimate->stages[s].flops);
    }
    QCOMPARE(report.throughput, core.estimate->throughput);
    QCOMPARE(report.bubbleFraction, core.estimate->bubbleFraction);
    // A later edit is validated at once, with the kept analysis.
    placement.undoStack()->undo();
    QVERIFY(placement.report().validated);
    QCOMPARE(placement.report().devices[1].nodes, 0);
}

void TestUiGraph::guiAndCoreAgree()
{
    // Block 1's Relu alone on cpu:1 (cpu:0 -> cpu:1 -> cpu:0) and 64 B of
    // memory per device: a device cycle and memory over capacity at once.
    PlacementModel placement;
    placement.setDevices(twoDevices(64));
    placement.setModelData(makeModel(3));
    placement.assignNodes({4}, 1);
    QVERIFY(waitValidated(placement));
    const auto &report = placement.report();
    const auto &graph = *placement.modelData()->graph;
    const auto core = plan::validatePlan(graph, placement.makePlan(), {});
    QVERIFY(!core.ok());
    QVERIFY(!core.estimate); // a cycle: no runnable estimate, but memory is still checked
    QVERIFY(core.assignedEstimate);
    QStringList coreCodes;
    for (const plan::Problem &problem : core.problems)
        if (!problem.warning)
            coreCodes << QString::fromStdString(problem.code);
    QVERIFY2(coreCodes.contains("device_cycle") && coreCodes.contains("memory_over_capacity"),
             qPrintable(coreCodes.join(", ")));
    QCOMPARE(report.problemCodes, coreCodes);
    QCOMPARE(report.problems.size(), coreCodes.size());
    // Each node is marked with the first core problem that names it.
    for (int n = 0; n < placement.modelData()->nodeCount(); ++n) {
        QString expected;
        for (const plan::Problem &problem : core.problems)
            if (!problem.warning && expected.isEmpty() &&
                std::find(problem.nodes.begin(), problem.nodes.end(), graph.node(n).name) !=
                    problem.nodes.end())
                expected = QString::fromStdString(problem.message);
        QVERIFY2(expected.isEmpty() ? report.nodeProblems[std::size_t(n)].isEmpty()
                                    : report.nodeProblems[std::size_t(n)].endsWith(expected),
                 qPrintable(report.nodeProblems[std::size_t(n)]));
    }
    QVERIFY(report.nodeProblems[4].contains("cycle between devices"));
    // The ledger shown per device is the core's.
    for (const plan::DeviceLedger &ledger : core.assignedEstimate->ledger) {
        const int d = placement.deviceIndex(QString::fromStdString(ledger.device));
        QVERIFY(d >= 0);
        QCOMPARE(report.devices[d].weights, quint64(ledger.weights));
        QCOMPARE(report.devices[d].activations, quint64(ledger.activations));
        QCOMPARE(report.devices[d].buffers, quint64(ledger.transferBuffers + ledger.workspace));
        QVERIFY(report.devices[d].total() > 64);
        QVERIFY(!report.devices[d].problems.isEmpty());
    }
}

void TestUiGraph::dropOnLargeModelValidatesQuickly()
{
    // 1,700 blocks of 3 nodes (5,100 nodes): with the model's analysis kept,
    // core/plan's validator checks each edit on the GUI thread in O(nodes +
    // edges). The bound only catches a blow-up (quadratic work would take
    // seconds); the measured time is printed.
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(1700));
    QVERIFY(placement.modelData()->nodeCount() >= 5000);
    QVERIFY(waitValidated(placement));
    QElapsedTimer timer;
    timer.start();
    constexpr int kDrops = 5;
    for (int i = 0; i < kDrops; ++i)
        QVERIFY(placement.assignNodes(blockNodes(*placement.modelData(), 1600 + i * 20), 1));
    const double perDrop = double(timer.nsecsElapsed()) / 1e6 / kDrops;
    qInfo("validation per drop on %d nodes: %.1f ms", placement.modelData()->nodeCount(), perDrop);
    QVERIFY(placement.report().validated);
    QVERIFY2(perDrop < 1000, qPrintable(QString::number(perDrop)));
}

void TestUiGraph::lanesDrop_data()
{
    QTest::addColumn<QVector<int>>("nodes"); // what is dragged
    QTest::addColumn<int>("lane");
    QTest::addColumn<int>("changed"); // nodes that change device
    QTest::newRow("one node") << QVector<int>{10} << 1 << 1;
    QTest::newRow("a selection") << QVector<int>{9, 10, 11} << 1 << 3;
    QTest::newRow("a whole block") << QVector<int>{6, 7, 8, 9, 10, 11} << 1 << 6;
    QTest::newRow("onto the lane it is on") << QVector<int>{0, 1, 2} << 0 << 0;
}

void TestUiGraph::lanesDrop()
{
    QFETCH(QVector<int>, nodes);
    QFETCH(int, lane);
    QFETCH(int, changed);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    TaskRunner tasks;
    GraphPage page(&placement, &tasks);
    page.resize(900, 600);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    placement.setModelData(makeModel(4));
    DeviceLanes *lanes = page.lanes();
    QVERIFY(lanes->isVisible());
    QCOMPARE(lanes->laneCount(), 2);
    // The lanes sit beside the graph view, not over it.
    const QRect lanesOnPage(lanes->mapTo(&page, QPoint(0, 0)), lanes->size());
    const QRect viewOnPage(page.view()->mapTo(&page, QPoint(0, 0)), page.view()->size());
    QVERIFY(!lanesOnPage.intersects(viewOnPage));
    QVERIFY(lanes->laneLines(1).value(1).startsWith("0 node"));

    std::unique_ptr<QMimeData> mime(makeNodeMimeData(nodes));
    const LaneDrag drag = dragOntoLanes(lanes, mime.get(), lanes->laneRect(lane).center());
    QVERIFY(drag.enterAccepted);
    QVERIFY(drag.moveAccepted);
    QCOMPARE(drag.hoveredDuringMove, lane); // the lane under the drag is highlighted
    QCOMPARE(drag.hoveredAfterDrop, -1);
    for (int n : nodes)
        QCOMPARE(placement.deviceOf(n), lane);
    QCOMPARE(placement.undoStack()->count(), changed > 0 ? 1 : 0);
    if (changed == 0)
        return;
    // The lane shows the new node count at once.
    QCOMPARE(lanes->laneLines(lane).value(1).section(' ', 0, 0).toInt(), changed);
    placement.undoStack()->undo();
    for (int n : nodes)
        QCOMPARE(placement.deviceOf(n), 0);
    QVERIFY(lanes->laneLines(lane).value(1).startsWith("0 node"));
    placement.undoStack()->redo();
    for (int n : nodes)
        QCOMPARE(placement.deviceOf(n), lane);
    QVERIFY(placement.undoStack()->text(0).contains("cpu:1"));
}

void TestUiGraph::lanesRejectAndFollow()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    DeviceListModel devices(&placement);
    DeviceLanes lanes(&devices);
    lanes.resize(lanes.sizeHint().width(), 400);
    lanes.show();
    QVERIFY(QTest::qWaitForWindowExposed(&lanes));
    // Text is not a node list: refused at the door.
    QMimeData text;
    text.setText("/blocks.0/MatMul");
    QVERIFY(!dragOntoLanes(&lanes, &text, lanes.laneRect(1).center()).enterAccepted);
    // Node lists over the gap between lanes are refused, nothing changes.
    std::unique_ptr<QMimeData> mime(makeNodeMimeData({0}));
    const QPoint gap(lanes.width() / 2, lanes.laneRect(0).bottom() + 2);
    QCOMPARE(lanes.laneAt(gap), -1);
    const LaneDrag overGap = dragOntoLanes(&lanes, mime.get(), gap);
    QVERIFY(overGap.enterAccepted);
    QVERIFY(!overGap.moveAccepted);
    QCOMPARE(overGap.hoveredAfterDrop, -1);
    QCOMPARE(placement.undoStack()->count(), 0);
    // Lanes follow the device list: a what-if device adds a lane that takes drops.
    DeviceInfo extra;
    extra.id = "A100-80GB:0";
    extra.kind = "cuda";
    extra.capacityBytes = quint64(80) << 30;
    extra.flopsPerSecond = 19.5e12;
    placement.addDevice(extra);
    QCOMPARE(lanes.laneCount(), 3);
    QVERIFY(lanes.laneRect(2).isValid());
    QVERIFY(dragOntoLanes(&lanes, mime.get(), lanes.laneRect(2).center()).moveAccepted);
    QCOMPARE(placement.deviceOf(0), 2);
    QCOMPARE(lanes.laneLines(2).value(0), QStringLiteral("A100-80GB:0"));
    // Invalid states reach the lanes: an over-capacity device lists its problem.
    placement.setDevices(twoDevices(64));
    QVERIFY(waitValidated(placement));
    QVERIFY(!devices.index(0).data(DeviceListModel::ProblemsRole).toStringList().isEmpty());
    QCOMPARE(lanes.laneCount(), 2);
}

void TestUiGraph::ledgerText_data()
{
    QTest::addColumn<quint64>("weights");
    QTest::addColumn<quint64>("capacity");
    QTest::addColumn<QString>("text");
    const quint64 gib = quint64(1) << 30;
    // The demo's case: 23.4 MB on an 11.8 GB CPU device.
    QTest::newRow("small share") << quint64(23.4 * 1024 * 1024) << quint64(11.8 * gib)
                                 << "23.4 MB of 11.8 GB (0.2%)";
    QTest::newRow("tiny share") << quint64(1024) << quint64(80) * gib
                                << "1.00 KB of 80.0 GB (<0.1%)";
    QTest::newRow("empty") << quint64(0) << gib << "0 B of 1.00 GB (0%)";
    QTest::newRow("half") << gib / 2 << gib << "512.0 MB of 1.00 GB (50%)";
    QTest::newRow("over") << 3 * gib / 2 << gib << "1.50 GB of 1.00 GB (150%)";
    QTest::newRow("no capacity") << gib << quint64(0) << "1.00 GB (capacity unknown)";
}

void TestUiGraph::ledgerText()
{
    QFETCH(quint64, weights);
    QFETCH(quint64, capacity);
    QFETCH(QString, text);
    LedgerFigures ledger;
    ledger.weights = weights;
    ledger.capacity = capacity;
    QCOMPARE(sb::ui::ledgerText(ledger), text);
}

void TestUiGraph::ledgerSegments()
{
    const quint64 gib = quint64(1) << 30;
    LedgerFigures small;
    small.weights = 20 << 20;
    small.activations = 2 << 20;
    small.capacity = 12 * gib;
    // 22 MB of 12 GB on 200 px is 0.36 px: each part still shows, at least 3 px.
    const auto widths = segmentWidths(small, 200, double(small.capacity));
    QCOMPARE(widths[0], kMinSegmentWidth);
    QCOMPARE(widths[1], kMinSegmentWidth);
    QCOMPARE(widths[2], 0.0); // no buffers, no segment
    // Large parts are proportional; the bar never overflows.
    LedgerFigures full;
    full.weights = 99 * gib;
    full.buffers = 1;
    full.capacity = 100 * gib;
    const auto fullWidths = segmentWidths(full, 200, double(full.capacity));
    QVERIFY(fullWidths[0] + fullWidths[1] + fullWidths[2] <= 200.0 + 1e-9);
    QVERIFY(fullWidths[2] > 0);
    QVERIFY(std::abs(fullWidths[0] - 198.0) < 3.5);
    // The composition bar (scale = used) shows the split whatever the capacity.
    const auto parts = segmentWidths(small, 220, double(small.total()));
    QVERIFY(std::abs(parts[0] - 200.0) < 1e-6);
    QVERIFY(std::abs(parts[1] - 20.0) < 1e-6);
}

void TestUiGraph::deviceRowsDoNotOverlap_data()
{
    QTest::addColumn<int>("width");
    QTest::addColumn<bool>("problems");
    QTest::newRow("narrow dock") << 140 << false;
    QTest::newRow("narrow dock with a problem") << 140 << true;
    QTest::newRow("usual dock") << 300 << true;
    QTest::newRow("wide dock") << 700 << false;
}

void TestUiGraph::deviceRowsDoNotOverlap()
{
    QFETCH(int, width);
    QFETCH(bool, problems);
    const QFontMetrics metrics(QApplication::font());
    const auto layout = DeviceDelegate::rowLayout(QRect(0, 0, width, 0), metrics, problems);
    QList<QRect> parts{layout.title, layout.usageBar, layout.compositionBar, layout.memoryText,
                       layout.timingText};
    if (problems)
        parts << layout.problemText;
    for (int i = 0; i < parts.size(); ++i) {
        QVERIFY(parts[i].isValid());
        QVERIFY(parts[i].right() < width);
        QVERIFY(parts[i].bottom() < layout.height);
        QVERIFY2(parts[i].height() >= (i == 1 || i == 2 ? 4 : metrics.height()),
                 qPrintable(QString::number(i)));
        for (int j = i + 1; j < parts.size(); ++j)
            QVERIFY2(!parts[i].intersects(parts[j]),
                     qPrintable(QStringLiteral("%1/%2").arg(i).arg(j)));
    }
    // The view gets the same height from sizeHint.
    PlacementModel placement;
    placement.setDevices(twoDevices(problems ? 64 : quint64(1) << 30));
    placement.setModelData(makeModel(2));
    QVERIFY(waitValidated(placement));
    DevicesPanel panel(&placement);
    const QModelIndex row = panel.model()->index(0, 0);
    QStyleOptionViewItem option;
    option.initFrom(panel.view());
    option.fontMetrics = metrics;
    QCOMPARE(panel.view()->itemDelegate()->sizeHint(option, row).height(), layout.height);
}

void TestUiGraph::planSavedReadByCore()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    placement.setPlanSettings(8, 4);
    placement.assignNodes({6, 7, 8}, 1);
    placement.setPinned({7}, true);
    QTemporaryDir dir;
    const std::string path = dir.filePath("plan.json").toStdString();
    QVERIFY(plan::writePlanFile(placement.makePlan("abc"), path).ok());
    // Core reads what the GUI wrote, and its validator accepts it.
    auto read = plan::readPlanFile(path);
    QVERIFY2(read.ok(), read.ok() ? "" : read.error().message.c_str());
    QCOMPARE(read->modelSha256, std::string("abc"));
    QCOMPARE(read->batch, std::int64_t(8));
    QCOMPARE(read->microbatches, 4);
    QCOMPARE(int(read->assignment.size()), 9);
    QCOMPARE(read->assignment.at("/blocks.2/Relu"), std::string("cpu:1"));
    QCOMPARE(read->assignment.at("/blocks.0/MatMul"), std::string("cpu:0"));
    QCOMPARE(read->pinned, std::vector<std::string>{"/blocks.2/Relu"});
    QCOMPARE(int(read->devices.devices.size()), 2);
    QCOMPARE(read->devices.devices[1].memoryBytes, std::uint64_t(1) << 30);
    QCOMPARE(read->devices.devices[1].flops, 1e9);
    const auto report = plan::validatePlan(*placement.modelData()->graph, *read, {"abc"});
    QVERIFY(report.ok());
    QVERIFY(report.estimate.has_value());
}

void TestUiGraph::planExtrasSurviveRoundTrip()
{
    // A plan with keys the GUI does not edit: they must come back unchanged.
    const std::string text = R"({
      "version": 1, "model_sha256": "", "batch": 4, "microbatches": 2,
      "objective": "latency",
      "devices": [
        {"id": "cpu:0", "kind": "cpu", "memory_bytes": 1073741824, "flops": 2e9,
         "memory_bandwidth": 5e9, "threads": 2, "source": "calibrated"},
        {"id": "A100-80GB:0", "kind": "cuda", "memory_bytes": 85899345920, "flops": 1.95e13,
         "flops_fp16": 3.12e14, "price_per_hour": 1.5, "source": "catalogue"}],
      "links": [{"from": "cpu:0", "to": "A100-80GB:0", "name": "pcie4", "bandwidth": 2.5e10,
                 "latency_s": 1e-5}],
      "assignment": {"/blocks.0/MatMul": "cpu:0", "/blocks.0/Relu": "cpu:0",
                     "/blocks.0/Add": "cpu:0", "/blocks.1/MatMul": "A100-80GB:0",
                     "/blocks.1/Relu": "A100-80GB:0", "/blocks.1/Add": "A100-80GB:0"},
      "pinned": ["/blocks.1/Add"],
      "dims": {"seq": 64},
      "tensor_parallel": [],
      "annotations": {"reviewer": "kim", "tags": [1, 2]}
    })";
    auto parsed = plan::parsePlan(text, "in.json");
    QVERIFY(parsed.ok());
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    QVERIFY(placement.loadPlan(*parsed, "", "Load").ok());
    // The GUI adopted the plan's devices (a what-if one included).
    QCOMPARE(placement.devices().size(), 2);
    QCOMPARE(placement.devices()[1].id, QStringLiteral("A100-80GB:0"));
    QCOMPARE(placement.devices()[1].origin, DeviceInfo::Origin::Catalogue);
    QCOMPARE(placement.deviceOf(3), 1);
    QVERIFY(placement.isPinned(5));
    QCOMPARE(placement.batch(), std::int64_t(4));
    QCOMPARE(placement.microbatches(), 2);
    // Edit, then save: the edit is there and nothing else was lost.
    placement.assignNodes({2}, 1);
    const nlohmann::json out = plan::planToJson(placement.makePlan(""));
    nlohmann::json expected = nlohmann::json::parse(text);
    expected["assignment"]["/blocks.0/Add"] = "A100-80GB:0";
    QVERIFY2(out["annotations"] == expected["annotations"], out["annotations"].dump().c_str());
    QVERIFY2(out["dims"] == expected["dims"], out["dims"].dump().c_str());
    QVERIFY2(out["objective"] == expected["objective"], out["objective"].dump().c_str());
    QVERIFY2(out["assignment"] == expected["assignment"], out["assignment"].dump().c_str());
    QVERIFY2(out["pinned"] == expected["pinned"], out["pinned"].dump().c_str());
    QVERIFY2(out["links"][0]["name"] == expected["links"][0]["name"],
             out["links"][0]["name"].dump().c_str());
    QCOMPARE(out["links"][0]["bandwidth"].get<double>(), 2.5e10);
    for (std::size_t d = 0; d < 2; ++d)
        for (const char *key : {"id", "kind", "memory_bytes", "source"})
            QVERIFY2(out["devices"][d][key] == expected["devices"][d][key],
                     out["devices"][d][key].dump().c_str());
    QCOMPARE(out["devices"][1]["flops_fp16"].get<double>(), 3.12e14);
    QCOMPARE(out["devices"][1]["price_per_hour"].get<double>(), 1.5);
    QCOMPARE(out["devices"][0]["threads"].get<int>(), 2);
    // And core reads it back as the same plan.
    auto again = plan::parsePlan(out.dump(), "out.json");
    QVERIFY(again.ok());
    QVERIFY2(again->extra == parsed->extra, again->extra.dump().c_str());
    // Without the what-if device its link goes too; the annotations stay.
    placement.setDevices(placement.devices().mid(0, 1));
    const nlohmann::json cpuOnly = plan::planToJson(placement.makePlan(""));
    QVERIFY2(cpuOnly["links"].empty(), cpuOnly["links"].dump().c_str());
    QVERIFY(cpuOnly["annotations"] == expected["annotations"]);
}

void TestUiGraph::planFromCorePlannerLoads()
{
    // A plan as `shardbench-cli plan` writes it: core's planner + writePlanFile.
    auto model = makeModel(6, 256);
    plan::DeviceSet devices;
    for (int i = 0; i < 3; ++i) {
        plan::DeviceSpec spec;
        spec.id = "cpu:" + std::to_string(i);
        spec.kind = "cpu";
        spec.memoryBytes = std::uint64_t(1) << 30;
        spec.flops = 1e9;
        spec.memoryBandwidth = 1e10;
        spec.source = "test";
        devices.devices.push_back(spec);
    }
    plan::PlannerOptions options;
    options.batch = 4;
    options.microbatches = 2;
    auto planned = plan::autoPlan(*model->graph, devices, options);
    QVERIFY2(planned.ok(), planned.ok() ? "" : planned.error().message.c_str());
    QTemporaryDir dir;
    const std::string path = dir.filePath("cli.plan.json").toStdString();
    QVERIFY(plan::writePlanFile(planned->plan, path).ok());

    // The GUI has two local devices; the plan brings three.
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(model);
    auto read = plan::readPlanFile(path);
    QVERIFY(read.ok());
    QVERIFY(placement.loadPlan(*read, "", "Load plan").ok());
    QCOMPARE(placement.devices().size(), 3);
    int used = 0;
    std::set<int> usedDevices;
    for (const auto &[name, device] : planned->plan.assignment) {
        const auto node = model->graph->findNode(name);
        QVERIFY(node.has_value());
        QCOMPARE(placement.devices()[placement.deviceOf(*node)].id, QString::fromStdString(device));
        usedDevices.insert(placement.deviceOf(*node));
        ++used;
    }
    QCOMPARE(used, model->nodeCount());
    QVERIFY(usedDevices.size() >= 2); // equal devices: the planner splits the chain
    QVERIFY(waitValidated(placement));
    QVERIFY2(placement.report().isValid(), qPrintable(placement.report().problems.join("; ")));
    QCOMPARE(placement.undoStack()->count(), 1);
    // Undo returns to the placement before the load (all on cpu:0, which the
    // plan's device list kept).
    placement.undoStack()->undo();
    for (int n = 0; n < model->nodeCount(); ++n)
        QCOMPARE(placement.deviceOf(n), 0);
}

void TestUiGraph::planLoadErrors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("modelSha");
    QTest::addColumn<QString>("message");
    const QString head = R"({"version": 1, "model_sha256": "%1", "batch": 1, "microbatches": 1,
        "devices": [{"id": "cpu:0", "memory_bytes": 1000000}], %2})";
    QTest::newRow("wrong model") << head.arg("aaaaaaaaaaaaaaaaaaaa", R"("assignment": {})")
                                 << "bbbbbbbbbbbbbbbbbbbb"
                                 << "made for the model with sha256 aaaaaaaaaaaa…";
    QTest::newRow("unknown node") << head.arg("", R"("assignment": {"/nope": "cpu:0"})") << ""
                                  << "node '/nope', which is not in the model";
    QTest::newRow("unknown device")
        << head.arg("", R"("assignment": {"/blocks.0/Relu": "tpu:9"})") << ""
        << "node '/blocks.0/Relu' to device 'tpu:9', which is not in the plan's device list";
    QTest::newRow("unknown pin") << head.arg("", R"("assignment": {}, "pinned": ["/ghost"])") << ""
                                 << "pins node '/ghost'";
    QTest::newRow("malformed")
        << head.arg("", R"("assignment": {"/blocks.0/Relu": 3})") << ""
        << R"(plan.json: "assignment"["/blocks.0/Relu"] must be a device id string)";
}

void TestUiGraph::planLoadErrors()
{
    QFETCH(QString, text);
    QFETCH(QString, modelSha);
    QFETCH(QString, message);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(1));
    placement.assignNodes({2}, 1);
    const auto before = placement.assignment();
    auto parsed = plan::parsePlan(text.toStdString(), "plan.json");
    Status status = Status::success();
    if (!parsed.ok())
        status = parsed.error();
    else
        status = placement.loadPlan(*parsed, modelSha.toStdString(), "Load");
    QVERIFY(!status.ok());
    QVERIFY2(QString::fromStdString(status.error().message).contains(message),
             status.error().message.c_str());
    // Nothing changed: same devices, same placement, no new command.
    QCOMPARE(placement.devices().size(), 2);
    QCOMPARE(placement.assignment(), before);
    QCOMPARE(placement.undoStack()->count(), 1);
}

void TestUiGraph::autoSplitKeepsPins()
{
    auto model = makeModel(4, 256);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(model);
    TaskRunner tasks;
    auto split = [&]() {
        bool finished = false;
        bool ok = false;
        startAutoSplit(&placement, &tasks, plan::Objective::Throughput, &placement,
                       [&](Result<plan::PlannerResult> result) {
                           finished = true;
                           ok = result.ok();
                       });
        return QTest::qWaitFor([&]() { return finished; }, 20000) && ok;
    };
    // Without pins, two equal devices split the 4 blocks 2 + 2.
    QVERIFY(split());
    QCOMPARE(placement.deviceOf(0), 0);
    QCOMPARE(placement.deviceOf(9), 1);
    QCOMPARE(placement.deviceOf(11), 1);
    placement.undoStack()->undo();
    QCOMPARE(placement.deviceOf(9), 0);
    // Pin block 3's MatMul where it is (cpu:0): the planner must leave it there.
    QVERIFY(placement.setPinned({9}, true));
    const plan::PlannerOptions options = autoSplitOptions(placement, plan::Objective::Throughput);
    QCOMPARE(options.pins.size(), std::size_t(1));
    QCOMPARE(options.pins.at("/blocks.3/MatMul"), std::string("cpu:0"));
    QVERIFY(split());
    QCOMPARE(placement.deviceOf(9), 0);
    QVERIFY(placement.isPinned(9));
    // The GUI applied exactly what core's planner gives for these pins.
    auto reference = plan::autoPlan(*model->graph, placement.makePlan().devices, options);
    QVERIFY(reference.ok());
    for (int n = 0; n < model->nodeCount(); ++n)
        QCOMPARE(placement.devices()[placement.deviceOf(n)].id.toStdString(),
                 reference->plan.assignment.at(model->graph->node(n).name));
    QCOMPARE(placement.makePlan().objective, std::string("throughput"));
    // One undo returns to the hand-made placement, pin included.
    placement.undoStack()->undo();
    for (int n = 0; n < model->nodeCount(); ++n)
        QCOMPARE(placement.deviceOf(n), 0);
    QVERIFY(placement.isPinned(9));
}

void TestUiGraph::cutEdgesThickByBytes()
{
    cost::DimBindings bindings;
    bindings.batch = 4;
    auto data = makeModelData(test::widthChain({8, 64, 4, 16}), bindings);
    QVERIFY(data.ok());
    auto model = data.value();
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(model);
    CancelToken cancel;
    auto layout = computeLayout(model, {}, cancel);
    QVERIFY(layout.ok());
    GraphScene scene(std::move(layout).value(), &placement);
    auto edgeBetween = [&](graph::NodeId from, graph::NodeId to) {
        for (std::size_t e = 0; e < scene.layout().edges.size(); ++e)
            for (const auto &pair : scene.layout().edges[e].nodeEdges)
                if (pair.first == from && pair.second == to)
                    return int(e);
        return -1;
    };
    const int wide = edgeBetween(0, 1);   // [4,64] float: 1024 B
    const int narrow = edgeBetween(1, 2); // [4,4] float: 64 B
    QVERIFY(wide >= 0 && narrow >= 0);
    QCOMPARE(scene.layout().edges[std::size_t(wide)].bytes, quint64(1024));
    QCOMPARE(scene.layout().edges[std::size_t(narrow)].bytes, quint64(64));
    QCOMPARE(scene.layout().edges[std::size_t(wide)].label, QStringLiteral("[batch,64]"));
    QVERIFY(!scene.isCut(wide));
    QCOMPARE(scene.edgeWidth(wide), scene.edgeWidth(narrow));
    // /mm.1 on the other device cuts both of its edges; the heavier one is thicker.
    placement.assignNodes({1}, 1);
    QVERIFY(scene.isCut(wide) && scene.isCut(narrow));
    QVERIFY(scene.edgeWidth(wide) > scene.edgeWidth(narrow));
    QVERIFY(scene.edgeWidth(narrow) > 1.2);
    // Undo: no cut, thin again.
    placement.undoStack()->undo();
    QVERIFY(!scene.isCut(wide));
    QCOMPARE(scene.edgeWidth(wide), 1.2);
}

void TestUiGraph::dimsBindEstimates()
{
    cost::DimBindings bindings;
    bindings.batch = 4;
    auto data = makeModelData(test::residualChain(2, 64, true), bindings);
    QVERIFY(data.ok());
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(data.value());
    DevicesPanel panel(&placement);
    panel.show();
    QCOMPARE(data.value()->unboundSymbols({}), QStringList{"seq"});
    QVERIFY(panel.dimsStatus().contains("seq"));
    QVERIFY(waitValidated(placement));
    const double unboundStage = placement.report().devices[0].stageSeconds;
    // A bad binding is refused with the parser's message; nothing changes.
    panel.dimsEdit()->setText("seq=many");
    emit panel.dimsEdit()->editingFinished();
    QVERIFY2(panel.dimsStatus().contains("not a positive integer"), qPrintable(panel.dimsStatus()));
    QVERIFY(placement.planDims().empty());
    // seq=32 counts the MatMuls: 2 blocks x 2*(8/4 micro-batch)*32*64*64 FLOPs at 1 GFLOP/s.
    panel.dimsEdit()->setText("seq=32");
    emit panel.dimsEdit()->editingFinished();
    QCOMPARE(placement.planDims().at("seq"), std::int64_t(32));
    QVERIFY(panel.dimsStatus().isEmpty());
    QVERIFY(waitValidated(placement));
    const double boundStage = placement.report().devices[0].stageSeconds;
    const double matmulSeconds = 2 * (2.0 * 2 * 32 * 64 * 64) / 1e9;
    QVERIFY2(boundStage - unboundStage >= matmulSeconds * 0.99,
             qPrintable(QStringLiteral("%1 -> %2").arg(unboundStage).arg(boundStage)));
    // Saved with the plan, and Auto split plans with them.
    QCOMPARE(placement.makePlan().dims.at("seq"), std::int64_t(32));
    QCOMPARE(autoSplitOptions(placement, plan::Objective::Throughput).dims.at("seq"),
             std::int64_t(32));
    // A new model starts unbound again.
    placement.setModelData(data.value());
    QVERIFY(placement.planDims().empty());
    QVERIFY(panel.dimsEdit()->text().isEmpty());
}

void TestUiGraph::whatIfDevicesGetCatalogueLinks()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    const auto gpus = catalogueDevices("A100-40GB", 2, 0);
    QCOMPARE(gpus.size(), 2);
    QCOMPARE(gpus[1].id, QStringLiteral("A100-40GB:1"));
    QCOMPARE(gpus[0].capacityBytes, quint64(40e9)); // resources/devices.json
    QCOMPARE(gpus[0].flopsPerSecond, 19.5e12);
    QCOMPARE(gpus[0].origin, DeviceInfo::Origin::Catalogue);
    for (const DeviceInfo &gpu : gpus)
        placement.addDevice(gpu);
    auto find = [](const plan::Plan &plan, const std::string &from, const std::string &to) {
        for (const plan::LinkSpec &link : plan.devices.links)
            if (link.from == from && link.to == to)
                return link;
        return plan::LinkSpec{};
    };
    const plan::Plan plan = placement.makePlan();
    // Two A100 SXM4 in one box: NVLink 3 (300 GB/s per direction, devices.json).
    const auto peer = find(plan, "A100-40GB:0", "A100-40GB:1");
    QCOMPARE(peer.name, std::string("nvlink3"));
    QCOMPARE(peer.bandwidth, 300e9);
    // Host to GPU: the GPU's host link, PCIe 4.0 x16.
    const auto host = find(plan, "cpu:0", "A100-40GB:1");
    QCOMPARE(host.name, std::string("pcie4x16"));
    QCOMPARE(host.bandwidth, 31.5e9);
    // Two local devices: no explicit link (the default applies).
    QVERIFY(find(plan, "cpu:0", "cpu:1").name.empty());
    // The validator uses them: an activation crossing the NVLink costs less
    // than the same one crossing from the host.
    QVERIFY(plan.devices.transferSeconds("A100-40GB:0", "A100-40GB:1", 1e9) <
            plan.devices.transferSeconds("cpu:0", "A100-40GB:0", 1e9));
}

void TestUiGraph::whatIfAddRemove()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    DevicesPanel panel(&placement);
    DeviceListModel lanesModel(&placement);
    DeviceLanes lanes(&lanesModel);
    QCOMPARE(panel.addWhatIfDevices("A100-40GB", 2), 2);
    QCOMPARE(panel.addWhatIfDevices("no-such-gpu", 1), 0);
    QCOMPARE(placement.devices().size(), 4);
    QCOMPARE(lanes.laneCount(), 4);
    QCOMPARE(panel.model()->index(3, 0).data(DeviceListModel::OriginRole).toString(),
             QStringLiteral("what-if"));
    // Nodes placed on a what-if device lose it when it goes: the plan says so.
    placement.assignNodes(blockNodes(*placement.modelData(), 1), 2);
    QVERIFY(!panel.removeDevice(0)); // local devices follow the count box
    QVERIFY(panel.removeDevice(2));
    QCOMPARE(placement.devices().size(), 3);
    QCOMPARE(placement.devices()[2].id, QStringLiteral("A100-40GB:1"));
    QCOMPARE(placement.deviceOf(3), -1);
    QCOMPARE(placement.report().unassigned, 3);
    QCOMPARE(lanes.laneCount(), 3);
    // New ids continue after the highest present, never reusing A100-40GB:1.
    QCOMPARE(panel.addWhatIfDevices("A100-40GB", 1), 1);
    QCOMPARE(placement.devices()[3].id, QStringLiteral("A100-40GB:2"));
}

void TestUiGraph::contextMenuAssignsAndPins()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    CancelToken cancel;
    auto layout = computeLayout(placement.modelData(), {}, cancel);
    QVERIFY(layout.ok());
    GraphScene scene(std::move(layout).value(), &placement);
    QSignalSpy toggles(&scene, &GraphScene::toggleGroupRequested);
    const auto block = blockNodes(*placement.modelData(), 2);
    std::unique_ptr<QMenu> menu(scene.makeContextMenu(block, 2, nullptr));
    auto action = [&](const QString &prefix) -> QAction * {
        for (QAction *a : menu->actions()) {
            if (a->text().startsWith(prefix))
                return a;
            if (a->menu())
                for (QAction *sub : a->menu()->actions())
                    if (sub->text().startsWith(prefix))
                        return sub;
        }
        return nullptr;
    };
    QVERIFY(action("cpu:1"));
    action("cpu:1")->trigger();
    for (graph::NodeId n : block)
        QCOMPARE(placement.deviceOf(n), 1);
    QVERIFY(action("Pin"));
    action("Pin")->trigger();
    QVERIFY(placement.isPinned(block.front()));
    QCOMPARE(placement.undoStack()->count(), 2); // both undoable
    action("Expand block")->trigger();
    QCOMPARE(toggles.count(), 1);
    QCOMPARE(toggles.front().front().toInt(), 2);
    // Once pinned, the menu offers Unpin.
    menu.reset(scene.makeContextMenu(block, 2, nullptr));
    QVERIFY(action("Unpin"));
}

void TestUiGraph::splitAcrossDevicesIsUndoable()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    const auto block = blockNodes(*placement.modelData(), 2); // the last: no device cycle
    QVERIFY(!placement.splitAcrossDevices(block, {1}));       // a group needs two devices
    QVERIFY(placement.splitAcrossDevices(block, {1, 0}));
    QCOMPARE(placement.undoStack()->count(), 1);
    // The block's MatMul is split (column: Relu and the residual Add need it whole).
    QCOMPARE(placement.tensorParallelGroup(block.front()), (QVector<int>{1, 0}));
    for (graph::NodeId n : block)
        QCOMPARE(placement.deviceOf(n), 1);
    QCOMPARE(placement
                 .data(placement.index(int(block.front()), PlacementModel::DeviceColumn),
                       Qt::DisplayRole)
                 .toString(),
             QStringLiteral("cpu:1 + cpu:0"));
    plan::Plan plan = placement.makePlan();
    QCOMPARE(plan.tensorParallel.size(), std::size_t(1));
    QCOMPARE(plan.tensorParallel[0]["mode"].get<std::string>(), std::string("column"));
    QCOMPARE(plan.tensorParallel[0]["nodes"][0].get<std::string>(),
             std::string("/blocks.2/MatMul"));
    QVERIFY(plan.tensorParallel[0]["devices"] == nlohmann::json({"cpu:1", "cpu:0"}));
    QVERIFY(plan::validatePlan(*placement.modelData()->graph, plan, {}).ok());
    // Undo and redo like any placement.
    placement.undoStack()->undo();
    QVERIFY(placement.tensorParallelGroup(block.front()).isEmpty());
    QCOMPARE(placement.deviceOf(block.front()), 0);
    QVERIFY(placement.makePlan().tensorParallel.empty());
    placement.undoStack()->redo();
    QCOMPARE(placement.tensorParallelGroup(block.front()).size(), 2);
    // The context menu offers the split and, once split, stopping it.
    CancelToken cancel;
    auto layout = computeLayout(placement.modelData(), {}, cancel);
    QVERIFY(layout.ok());
    GraphScene scene(std::move(layout).value(), &placement);
    std::unique_ptr<QMenu> menu(scene.makeContextMenu(block, 2, nullptr));
    QAction *split = nullptr, *stop = nullptr;
    for (QAction *a : menu->actions()) {
        if (a->text().startsWith("Split across devices"))
            split = a;
        if (a->text() == "Stop splitting")
            stop = a;
    }
    QVERIFY(split && split->isEnabled());
    QVERIFY(stop);
    stop->trigger();
    QVERIFY(placement.tensorParallelGroup(block.front()).isEmpty());
    QCOMPARE(placement.undoStack()->count(), 2);
    placement.undoStack()->undo();
    QCOMPARE(placement.tensorParallelGroup(block.front()).size(), 2);
}

void TestUiGraph::nodeMarksAtEveryZoom_data()
{
    QTest::addColumn<double>("zoom");
    QTest::newRow("1:1") << 1.0;
    QTest::newRow("zoomed out (level of detail)") << 0.2;
}

void TestUiGraph::nodeMarksAtEveryZoom()
{
    QFETCH(double, zoom);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    CancelToken cancel;
    auto layout = computeLayout(placement.modelData(), {}, cancel);
    QVERIFY(layout.ok());
    GraphScene scene(std::move(layout).value(), &placement);
    // Pixels of exactly `colour` in the box showing `node`, rendered at `zoom`.
    auto pixels = [&](graph::NodeId node, const QColor &colour) {
        const QRectF box = scene.boxForNode(node)->sceneBoundingRect();
        QImage image((box.size() * zoom).toSize(), QImage::Format_ARGB32);
        image.fill(Qt::white);
        QPainter painter(&image);
        scene.render(&painter, QRectF(QPointF(0, 0), box.size() * zoom), box);
        painter.end();
        int count = 0;
        for (int y = 0; y < image.height(); ++y)
            for (int x = 0; x < image.width(); ++x)
                count += QColor(image.pixel(x, y)).rgb() == colour.rgb() ? 1 : 0;
        return count;
    };
    const QColor pin = GraphScene::pinColour();
    const QColor problem = GraphScene::problemColour();
    QCOMPARE(pixels(4, pin), 0);
    // Pinning a node of block 1 puts a pin on its box, and only there.
    placement.setPinned({4}, true);
    QVERIFY(pixels(4, pin) > 0);
    QCOMPARE(pixels(0, pin), 0);
    QCOMPARE(pixels(4, problem), 0);
    // Block 1's Relu alone on cpu:1 makes a device cycle: its box is marked.
    QVERIFY(waitValidated(placement));
    placement.assignNodes({4}, 1);
    QVERIFY(!placement.report().nodeProblems[4].isEmpty());
    QVERIFY(pixels(4, problem) > 0);
    QCOMPARE(pixels(0, problem), 0);
    placement.undoStack()->undo();
    QCOMPARE(pixels(4, problem), 0);
}

void TestUiGraph::miniMapMovesView()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    TaskRunner tasks;
    GraphPage page(&placement, &tasks);
    page.resize(700, 400);
    page.show();
    QVERIFY(QTest::qWaitForWindowExposed(&page));
    placement.setModelData(makeModel(30));
    page.reloadModel();
    QTRY_VERIFY_WITH_TIMEOUT(page.scene() != nullptr, 10000);
    MiniMap *miniMap = page.view()->miniMap();
    QVERIFY(miniMap->isVisible());
    // Clicking the bottom of the minimap shows the bottom of the graph.
    const QRectF bounds = page.scene()->sceneRect();
    const QPoint target = miniMap->mapFromScene(QPointF(bounds.center().x(), bounds.bottom() - 60));
    QTest::mouseClick(miniMap->viewport(), Qt::LeftButton, {}, target);
    const QPointF centre = page.view()->mapToScene(page.view()->viewport()->rect().center());
    const QRectF visible = page.view()->mapToScene(page.view()->viewport()->rect()).boundingRect();
    QVERIFY2(
        visible.bottom() >= bounds.bottom() - 100,
        qPrintable(
            QStringLiteral("centre y %1, bounds bottom %2").arg(centre.y()).arg(bounds.bottom())));
}

void TestUiGraph::layoutCollapsedAndExpanded()
{
    auto model = makeModel(6);
    CancelToken cancel;
    auto collapsed = computeLayout(model, {}, cancel);
    QVERIFY(collapsed.ok());
    QCOMPARE(int(collapsed->items.size()), 6);
    QCOMPARE(int(collapsed->edges.size()), 5);                // block i -> block i+1
    for (std::size_t i = 1; i < collapsed->items.size(); ++i) // top to bottom
        QVERIFY(collapsed->items[i].rect.top() > collapsed->items[i - 1].rect.bottom());
    std::vector<bool> expanded(6, false);
    expanded[2] = true;
    auto open = computeLayout(model, expanded, cancel);
    QVERIFY(open.ok());
    QCOMPARE(int(open->items.size()), 8);
    QCOMPARE(int(open->clusters.size()), 1);
    QVERIFY(
        open->clusters.front().rect.contains(open->items[std::size_t(open->itemOfNode[7])].rect));
    QCOMPARE(open->edges.front().label, QStringLiteral("[batch,8]"));
}

// An If/Loop/Scan node is one box; expanding it shows its bodies' nodes and
// the edges between them inside its cluster, coloured by the node's device.
void TestUiGraph::layoutExpandsSubgraphs()
{
    CancelToken cancel;
    auto model = loadModel(SB_TESTDATA_DIR "/ops/control_flow.onnx", {}, {}, cancel);
    QVERIFY2(model.ok(), model.ok() ? "" : model.error().message.c_str());
    const auto &graph = *(*model)->graph;
    std::optional<graph::NodeId> loop;
    for (std::size_t n = 0; n < graph.nodes().size(); ++n)
        if (graph.nodes()[n].opType == "Loop")
            loop = graph::NodeId(n);
    QVERIFY(loop && graph.node(*loop).opType == "Loop");
    const int group = (*model)->groupOfNode[std::size_t(*loop)];
    QCOMPARE((*model)->groups[std::size_t(group)].size(), std::size_t{1});
    QVERIFY((*model)->isExpandable(group));
    const int matMulGroup = (*model)->groupOfNode[0];
    QVERIFY(!(*model)->isExpandable(matMulGroup)); // a plain single node

    auto collapsed = computeLayout(*model, {}, cancel);
    QVERIFY(collapsed.ok());
    std::vector<bool> expanded((*model)->groups.size(), false);
    expanded[std::size_t(group)] = true;
    auto open = computeLayout(*model, expanded, cancel);
    QVERIFY2(open.ok(), open.ok() ? "" : open.error().message.c_str());
    const auto &body = *graph.node(*loop).attribute("body")->graph;
    QCOMPARE(open->items.size(), collapsed->items.size() + body.nodes().size());
    QCOMPARE(int(open->clusters.size()), 1);
    std::set<std::string> ops;
    int bodyItems = 0;
    for (std::size_t i = 0; i < open->items.size(); ++i) {
        const LayoutItem &item = open->items[i];
        if (!item.bodyNode)
            continue;
        ++bodyItems;
        QCOMPARE(item.node, *loop); // placed with the Loop
        QCOMPARE(item.bodyName, QStringLiteral("body"));
        QVERIFY(open->clusters.front().rect.contains(item.rect));
        ops.insert(item.bodyNode->opType);
    }
    QCOMPARE(bodyItems, int(body.nodes().size()));
    QVERIFY(ops.count("SequenceInsert") && ops.count("If"));
    // Mul(acc_in, half) -> Add(scaled, th) inside the body is an edge.
    QVERIFY(open->edges.size() > collapsed->edges.size());
}

void TestUiGraph::layoutCancelled()
{
    CancelToken cancel;
    cancel.cancel();
    auto result = computeLayout(makeModel(3), {}, cancel);
    QVERIFY(!result.ok());
    QCOMPARE(result.error().code, ErrorCode::Cancelled);
}

void TestUiGraph::pageSearch_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<int>("matches");
    QTest::newRow("op") << "relu" << 4;
    QTest::newRow("name") << "blocks.2/" << 3;
    QTest::newRow("shape") << "batch,8" << 12;
    QTest::newRow("none") << "conv" << 0;
}

void TestUiGraph::pageSearch()
{
    QFETCH(QString, text);
    QFETCH(int, matches);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    TaskRunner tasks;
    GraphPage page(&placement, &tasks);
    page.resize(800, 600);
    page.show();
    placement.setModelData(makeModel(4));
    page.reloadModel();
    QTRY_VERIFY_WITH_TIMEOUT(page.scene() != nullptr, 10000);
    QCOMPARE(page.find(text), matches);
    // Selecting from outside selects the box (a collapsed block shows its nodes).
    page.selectNodes({4});
    QCOMPARE(page.scene()->selectedNodes().size(), 3);
    // Expanding re-lays out and keeps the selection.
    page.toggleGroup(1);
    QTRY_VERIFY_WITH_TIMEOUT(!page.isLayoutPending() && page.scene()->layout().items.size() == 6,
                             10000);
    QCOMPARE(page.scene()->selectedNodes().size(), 3);
}

void TestUiGraph::mainWindowPlansAndSearch()
{
    QStandardPaths::setTestModeEnabled(true);
    QTemporaryDir dir;
    setGuiDatabasePath(dir.filePath("store.db").toStdString());
    MainWindow window;
    window.resize(1400, 900);
    window.show();
    QVERIFY(QTest::qWaitForWindowExposed(&window));
    const QString demo = QString::fromStdString(demoDecoderPath().string());
    window.openModel(demo);
    QTRY_VERIFY_WITH_TIMEOUT(window.placement()->modelData() && !window.isBusy(), 60000);
    const auto model = window.placement()->modelData();
    QCOMPARE(model->sha256, sha256File(demo.toStdString()).value());
    QVERIFY(window.graphPage()->lanes()->isVisible());
    QCOMPARE(window.graphPage()->lanes()->laneCount(), window.placement()->devices().size());

    // Ctrl+F opens the search bar of the graph page.
    window.activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(&window));
    QVERIFY(!window.graphPage()->isSearchVisible());
    QTest::keyClick(&window, Qt::Key_F, Qt::ControlModifier);
    QVERIFY(window.graphPage()->isSearchVisible());

    // A plan written by the CLI loads with its assignment.
    const QString cliPlan = dir.filePath("cli.plan.json");
    QProcess cli;
    cli.start(QStringLiteral(SB_CLI_PATH),
              {"plan", demo, "--devices", "cpu:0,cpu:1", "--objective", "latency", "--batch", "4",
               "--microbatches", "2", "--cpu-devices", "2", "--out", cliPlan});
    QVERIFY(cli.waitForFinished(120000));
    QVERIFY2(cli.exitCode() == 0, cli.readAllStandardError().constData());
    const Status loaded = window.loadPlanFile(cliPlan);
    QVERIFY2(loaded.ok(), loaded.ok() ? "" : loaded.error().message.c_str());
    auto written = plan::readPlanFile(cliPlan.toStdString());
    QVERIFY(written.ok());
    for (const auto &[name, device] : written->assignment) {
        const auto node = model->graph->findNode(name);
        QVERIFY(node.has_value());
        const int d = window.placement()->deviceOf(*node);
        QVERIFY(d >= 0);
        QCOMPARE(window.placement()->devices()[d].id.toStdString(), device);
    }
    QCOMPARE(window.placement()->microbatches(), 2);
    QCOMPARE(window.placement()->batch(), std::int64_t(4));

    // Saved from the GUI: core reads it, it names this model and validates.
    window.placement()->setPinned({0}, true);
    const QString saved = dir.filePath("gui.plan.json");
    QVERIFY(window.savePlanFile(saved).ok());
    auto read = plan::readPlanFile(saved.toStdString());
    QVERIFY(read.ok());
    QCOMPARE(read->modelSha256, model->sha256);
    QCOMPARE(read->objective, std::string("latency"));
    QCOMPARE(read->assignment, written->assignment);
    QCOMPARE(read->pinned, std::vector<std::string>{model->graph->node(0).name});
    const auto report = plan::validatePlan(*model->graph, *read, {model->sha256});
    QVERIFY(report.ok());

    // A plan for another model is refused with a message naming the hash.
    read->modelSha256 = std::string(64, 'f');
    const QString other = dir.filePath("other.plan.json");
    QVERIFY(plan::writePlanFile(*read, other.toStdString()).ok());
    const Status refused = window.loadPlanFile(other);
    QVERIFY(!refused.ok());
    QVERIFY2(QString::fromStdString(refused.error().message).contains("ffffffffffff…"),
             refused.error().message.c_str());
    QVERIFY(QString::fromStdString(refused.error().message).contains("other.plan.json"));

    // The tabs are the window's page list: each page's widget under its title,
    // and turning to a page activates it (the Registry page re-reads the store).
    const auto &pages = window.pageList();
    QCOMPARE(int(pages.size()), window.pages()->count());
    for (int i = 0; i < window.pages()->count(); ++i) {
        QCOMPARE(window.pages()->widget(i), pages[std::size_t(i)]->widget());
        QCOMPARE(window.pages()->tabText(i), pages[std::size_t(i)]->title());
    }
    QSignalSpy refreshed(window.registryPage(), &RegistryPage::refreshed);
    window.pages()->setCurrentWidget(window.registryPage());
    QVERIFY(refreshed.wait(20000));
}

// A node with subgraphs (the ONNX node suite's If and Loop models, installed
// by scripts/setup with libonnx-testdata) expands into one row per subgraph
// and that subgraph's nodes; those rows drag and show the owning node.
void TestUiGraph::subgraphRows_data()
{
    QTest::addColumn<QString>("model");
    QTest::addColumn<QString>("op");
    QTest::addColumn<QStringList>("subgraphs");
    QTest::addColumn<QStringList>("firstBodyOps");
    QTest::newRow("If") << "test_if"
                        << "If" << QStringList{"else_branch", "then_branch"}
                        << QStringList{"Constant"};
    QTest::newRow("Loop") << "test_loop11"
                          << "Loop" << QStringList{"body"}
                          << QStringList{"Identity", "Constant",  "Constant",
                                         "Add",      "Unsqueeze", "Unsqueeze",
                                         "Slice",    "Add",       "Identity"};
}

void TestUiGraph::subgraphRows()
{
    QFETCH(QString, model);
    QFETCH(QString, op);
    QFETCH(QStringList, subgraphs);
    QFETCH(QStringList, firstBodyOps);
    const std::filesystem::path path =
        std::filesystem::path("/usr/share/libonnx-testdata/data/node") / model.toStdString() /
        "model.onnx";
    if (!std::filesystem::exists(path))
        QSKIP("libonnx-testdata is not installed (scripts/setup installs it)");
    auto graph = graph::importOnnxFile(path);
    QVERIFY2(graph.ok(), graph.ok() ? "" : graph.error().message.c_str());
    auto data = makeModelData(*graph, cost::DimBindings{});
    QVERIFY2(data.ok(), data.ok() ? "" : data.error().message.c_str());
    PlacementModel placement;
    placement.setDevices(twoDevices());
    GraphTreeModel tree(&placement);
    QAbstractItemModelTester tester(&tree, QAbstractItemModelTester::FailureReportingMode::QtTest);
    placement.setModelData(*data);

    const QModelIndex nodeRow = tree.indexForNode(0);
    QCOMPARE(nodeRow.siblingAtColumn(GraphTreeModel::OpColumn).data().toString(), op);
    QCOMPARE(tree.rowCount(nodeRow), subgraphs.size());
    for (int s = 0; s < subgraphs.size(); ++s) {
        const QModelIndex subgraph = tree.index(s, 0, nodeRow);
        QCOMPARE(subgraph.data().toString(), subgraphs[s]);
        QCOMPARE(tree.parent(subgraph), nodeRow);
        QCOMPARE(subgraph.data(GraphTreeModel::NodeIdRole).toInt(), 0);
    }
    const QModelIndex first = tree.index(0, 0, nodeRow);
    QCOMPARE(tree.rowCount(first), firstBodyOps.size());
    for (int r = 0; r < firstBodyOps.size(); ++r) {
        const QModelIndex body = tree.index(r, 0, first);
        QCOMPARE(body.siblingAtColumn(GraphTreeModel::OpColumn).data().toString(), firstBodyOps[r]);
        QCOMPARE(tree.parent(body), first);
        QCOMPARE(tree.rowCount(body), 0);
        // A body row drags its owner: the node and its subgraphs move as one.
        QCOMPARE(tree.nodesOf(body), QVector<graph::NodeId>{0});
    }
    // Body rows run where the owner runs.
    const QModelIndex lastBody = tree.index(firstBodyOps.size() - 1, 0, first);
    placement.assignNodes({0}, 1);
    QCOMPARE(lastBody.siblingAtColumn(GraphTreeModel::DeviceColumn).data().toString(),
             QStringLiteral("cpu:1"));
}

QTEST_MAIN(TestUiGraph)
#include "test_ui_graph.moc"
