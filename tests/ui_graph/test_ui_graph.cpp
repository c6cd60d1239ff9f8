// Graph page models and interactions: the tree and placement models under
// QAbstractItemModelTester, placement by real drop events on the devices
// panel, undo/redo, invalid-plan marking, plan JSON, layout and search.
#include "synthetic_graph.h"

#include "ui/devices/devices_panel.h"
#include "ui/graph/graph_layout.h"
#include "ui/graph/graph_page.h"
#include "ui/graph/graph_tree_model.h"
#include "ui/graph/node_mime.h"
#include "ui/graph/placement_model.h"
#include "ui/graph/plan_json.h"

#include <QAbstractItemModelTester>
#include <QApplication>
#include <QDropEvent>
#include <QListView>
#include <QSignalSpy>
#include <QTest>

using namespace sb;
using namespace sb::ui;

namespace {

std::shared_ptr<const ModelData> makeModel(int blocks)
{
    cost::DimBindings bindings;
    bindings.batch = 4;
    auto data = makeModelData(test::residualChain(blocks), bindings);
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

// Drops `nodes` on the devices view's row `device`, as a drag from the graph does.
bool dropOnDevice(QListView *view, const QVector<graph::NodeId> &nodes, int device)
{
    std::unique_ptr<QMimeData> mime(makeNodeMimeData(nodes));
    const QRect target = view->visualRect(view->model()->index(device, 0));
    const QPointF pos = target.center();
    QDragEnterEvent enter(pos.toPoint(), Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &enter);
    QDragMoveEvent move(pos.toPoint(), Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &move);
    QDropEvent drop(pos, Qt::CopyAction, mime.get(), Qt::LeftButton, Qt::NoModifier);
    QApplication::sendEvent(view->viewport(), &drop);
    return move.isAccepted();
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
    void planJsonRoundTrip();
    void planJsonErrors_data();
    void planJsonErrors();
    void layoutCollapsedAndExpanded();
    void layoutCancelled();
    void pageSearch_data();
    void pageSearch();
};

void TestUiGraph::modelsPassTester()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    GraphTreeModel tree(&placement);
    QAbstractItemModelTester treeTester(&tree, QAbstractItemModelTester::FailureReportingMode::QtTest);
    QAbstractItemModelTester placementTester(&placement,
                                             QAbstractItemModelTester::FailureReportingMode::QtTest);
    placement.setModelData(makeModel(5));
    QCOMPARE(tree.rowCount(), 5);
    placement.assignNodes(blockNodes(*placement.modelData(), 3), 1);
    placement.setPinned({0, 1}, true);
    placement.undoStack()->undo();
    placement.undoStack()->redo();
    placement.setDevices(twoDevices().mid(0, 1));  // drops cpu:1: its nodes become unassigned
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
    QTest::newRow("block 0") << 0 << -1 << "/blocks.0" << "block (3 nodes)" << "[batch,8]";
    QTest::newRow("first node") << 0 << 0 << "/blocks.0/MatMul" << "MatMul" << "[batch,8]";
    QTest::newRow("last node") << 2 << 2 << "/blocks.2/Add" << "Add" << "[batch,8]";
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
    QTest::newRow("last block to cpu:1") << 3 << 1 << 2;  // MatMul and Add of block 3 read block 2
    QTest::newRow("middle block to cpu:1") << 1 << 1 << 4;  // 2 pairs in, 2 pairs out
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
    QVERIFY(dropOnDevice(panel.view(), nodes, device));
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
    QVERIFY(!placement.setPinned({4}, true));  // no change, no command
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
    QTest::addColumn<QVector<int>>("onSecond");  // node ids placed on cpu:1
    QTest::addColumn<quint64>("capacity");
    QTest::addColumn<QString>("problem");
    QTest::addColumn<int>("markedNode");
    QTest::addColumn<QString>("nodeReason");
    QTest::newRow("valid split") << QVector<int>{6, 7, 8} << quint64(1) << QString() << -1 << QString();
    // Block 1's Relu on cpu:1 between MatMul and Add on cpu:0: cpu:0 -> cpu:1 -> cpu:0.
    QTest::newRow("cycle") << QVector<int>{4} << quint64(1) << "Cycle between devices" << 4
                           << "cycle between devices";
    QTest::newRow("over capacity") << QVector<int>{} << quint64(64) << "Memory over capacity" << 0
                                   << "over its memory capacity";
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
    // Chain of 2 blocks at batch 4, width 8: every activation is 4*8*4 = 128 B.
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(2));
    placement.assignNodes(blockNodes(*placement.modelData(), 1), 1);
    const auto &report = placement.report();
    QCOMPARE(report.devices[0].weights, quint64(256));
    QCOMPARE(report.devices[1].weights, quint64(256));
    // Block 0's output crosses: 128 B buffered on each side (two consumers, one tensor).
    QCOMPARE(report.devices[0].buffers, quint64(128));
    QCOMPARE(report.devices[1].buffers, quint64(128));
    // On cpu:1, the MatMul output and the Relu output are live together (256 B), then
    // Relu + Add outputs (256 B): peak 256 B.
    QCOMPARE(report.devices[1].activations, quint64(256));
    // Stage time = FLOPs / rate.
    QCOMPARE(report.devices[1].stageSeconds, report.devices[1].flops / 1e9);
}

void TestUiGraph::planJsonRoundTrip()
{
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(3));
    placement.assignNodes({6, 7, 8}, 1);
    placement.setPinned({7}, true);
    const std::string text = planToJson(placement, PlanSettings{8, 4}, "abc");
    PlacementModel other;
    other.setDevices(twoDevices());
    other.setModelData(placement.modelData());
    auto plan = planFromJson(text, other, "plan.json");
    QVERIFY2(plan.ok(), plan.ok() ? "" : plan.error().message.c_str());
    QCOMPARE(plan->assignment, placement.assignment());
    QCOMPARE(plan->pinned, placement.pinned());
    QCOMPARE(plan->settings.microbatches, 4);
    QCOMPARE(plan->modelSha256, std::string("abc"));
}

void TestUiGraph::planJsonErrors_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("message");
    QTest::newRow("not json") << "{" << "plan.json: not a JSON object";
    QTest::newRow("unknown node") << R"({"assignment": {"/nope": "cpu:0"}})" << "'/nope'";
    QTest::newRow("unknown device") << R"({"assignment": {"/blocks.0/Relu": "tpu:9"}})"
                                    << "unknown device 'tpu:9'";
}

void TestUiGraph::planJsonErrors()
{
    QFETCH(QString, text);
    QFETCH(QString, message);
    PlacementModel placement;
    placement.setDevices(twoDevices());
    placement.setModelData(makeModel(1));
    auto plan = planFromJson(text.toStdString(), placement, "plan.json");
    QVERIFY(!plan.ok());
    QVERIFY2(QString::fromStdString(plan.error().message).contains(message),
             plan.error().message.c_str());
}

void TestUiGraph::layoutCollapsedAndExpanded()
{
    auto model = makeModel(6);
    CancelToken cancel;
    auto collapsed = computeLayout(model, {}, cancel);
    QVERIFY(collapsed.ok());
    QCOMPARE(int(collapsed->items.size()), 6);
    QCOMPARE(int(collapsed->edges.size()), 5);  // block i -> block i+1
    for (std::size_t i = 1; i < collapsed->items.size(); ++i)  // top to bottom
        QVERIFY(collapsed->items[i].rect.top() > collapsed->items[i - 1].rect.bottom());
    std::vector<bool> expanded(6, false);
    expanded[2] = true;
    auto open = computeLayout(model, expanded, cancel);
    QVERIFY(open.ok());
    QCOMPARE(int(open->items.size()), 8);
    QCOMPARE(int(open->clusters.size()), 1);
    QVERIFY(open->clusters.front().rect.contains(
        open->items[std::size_t(open->itemOfNode[7])].rect));
    QCOMPARE(open->edges.front().label, QStringLiteral("[batch,8]"));
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

QTEST_MAIN(TestUiGraph)
#include "test_ui_graph.moc"
