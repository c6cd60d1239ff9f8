#include "ui/graph/placement_check.h"

#include <QObject>

#include <algorithm>
#include <functional>
#include <set>

namespace sb::ui {

namespace {

// Strongly connected components of the device graph (Tarjan); returns the
// component index per device.
std::vector<int> deviceComponents(int count, const std::vector<std::set<int>> &edges)
{
    std::vector<int> index(std::size_t(count), -1), low(std::size_t(count), 0),
        comp(std::size_t(count), -1);
    std::vector<bool> onStack(std::size_t(count), false);
    std::vector<int> stack;
    int next = 0, components = 0;
    std::function<void(int)> visit = [&](int v) {
        index[v] = low[v] = next++;
        stack.push_back(v);
        onStack[v] = true;
        for (int w : edges[v]) {
            if (index[w] < 0) {
                visit(w);
                low[v] = std::min(low[v], low[w]);
            } else if (onStack[w]) {
                low[v] = std::min(low[v], index[w]);
            }
        }
        if (low[v] == index[v]) {
            int w;
            do {
                w = stack.back();
                stack.pop_back();
                onStack[w] = false;
                comp[w] = components;
            } while (w != v);
            ++components;
        }
    };
    for (int v = 0; v < count; ++v)
        if (index[v] < 0)
            visit(v);
    return comp;
}

} // namespace

PlacementReport checkPlacement(const ModelData &model, const QVector<DeviceInfo> &devices,
                               const std::vector<int> &deviceOfNode)
{
    PlacementReport report;
    const auto &graph = *model.graph;
    const int deviceCount = int(devices.size());
    const int nodeCount = model.nodeCount();
    report.devices.resize(deviceCount);
    report.nodeProblems.assign(std::size_t(nodeCount), QString());

    auto deviceOf = [&](graph::NodeId n) {
        const int d = n >= 0 && std::size_t(n) < deviceOfNode.size() ? deviceOfNode[n] : -1;
        return d >= 0 && d < deviceCount ? d : -1;
    };

    // Weights and FLOPs per device; unassigned nodes.
    for (int n = 0; n < nodeCount; ++n) {
        const int d = deviceOf(n);
        if (d < 0) {
            ++report.unassigned;
            report.nodeProblems[n] = QObject::tr("not assigned to a device");
            continue;
        }
        auto &ledger = report.devices[d];
        ledger.weights += model.cost.nodes[n].paramBytes;
        ledger.flops += model.cost.nodes[n].flops;
        ++ledger.nodes;
    }
    if (report.unassigned > 0)
        report.problems << QObject::tr("%n node(s) have no device", nullptr, report.unassigned);

    // Cut edges and transfer buffers: a tensor crossing to another device is
    // held once on the sender and once on each receiving device.
    std::vector<std::set<int>> deviceEdges(static_cast<std::size_t>(deviceCount));
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        const auto &value = graph.values()[v];
        const int from = deviceOf(value.producer);
        if (value.producer == graph::kNoNode || from < 0)
            continue;
        std::set<int> receivers;
        for (graph::NodeId consumer : value.consumers) {
            const int to = deviceOf(consumer);
            if (to < 0 || to == from)
                continue;
            report.cuts.push_back(
                CutEdge{graph::ValueId(v), value.producer, consumer, model.valueBytes[v]});
            receivers.insert(to);
            deviceEdges[from].insert(to);
        }
        if (!receivers.empty()) {
            report.devices[from].buffers += model.valueBytes[v];
            for (int to : receivers)
                report.devices[to].buffers += model.valueBytes[v];
        }
    }

    // Peak live activations per device over the topological order: a tensor
    // is live from its producer until its last consumer on the same device.
    std::vector<int> lastLocalUse(graph.values().size(), -1);
    for (int n = 0; n < nodeCount; ++n)
        for (graph::ValueId in : graph.node(n).inputs)
            if (in != graph::kNoValue && graph.value(in).producer != graph::kNoNode &&
                deviceOf(graph.value(in).producer) == deviceOf(n))
                lastLocalUse[in] = n;
    std::vector<std::uint64_t> live(static_cast<std::size_t>(deviceCount), 0);
    std::vector<std::vector<graph::ValueId>> freeAt(static_cast<std::size_t>(nodeCount));
    for (std::size_t v = 0; v < lastLocalUse.size(); ++v)
        if (lastLocalUse[v] >= 0)
            freeAt[std::size_t(lastLocalUse[v])].push_back(graph::ValueId(v));
    for (int n = 0; n < nodeCount; ++n) {
        const int d = deviceOf(n);
        if (d < 0)
            continue;
        for (graph::ValueId out : graph.node(n).outputs)
            if (out != graph::kNoValue)
                live[d] += model.valueBytes[out];
        report.devices[d].activations = std::max<quint64>(report.devices[d].activations, live[d]);
        for (graph::ValueId v : freeAt[n])
            live[d] -= std::min<std::uint64_t>(live[d], model.valueBytes[v]);
        // Outputs nobody on this device reads are handed off (or are graph
        // outputs) right away.
        for (graph::ValueId out : graph.node(n).outputs)
            if (out != graph::kNoValue && lastLocalUse[out] < 0)
                live[d] -= std::min<std::uint64_t>(live[d], model.valueBytes[out]);
    }

    // Memory over capacity and stage time.
    for (int d = 0; d < deviceCount; ++d) {
        auto &ledger = report.devices[d];
        const auto &device = devices[d];
        if (device.flopsPerSecond > 0)
            ledger.stageSeconds = ledger.flops / device.flopsPerSecond;
        if (device.capacityBytes > 0 && ledger.total() > device.capacityBytes) {
            const QString text = QObject::tr("%1: needs %2 but has %3 (weights %4, activations %5, "
                                             "buffers %6)")
                                     .arg(device.id, formatBytes(double(ledger.total())),
                                          formatBytes(double(device.capacityBytes)),
                                          formatBytes(double(ledger.weights)),
                                          formatBytes(double(ledger.activations)),
                                          formatBytes(double(ledger.buffers)));
            ledger.problems << QObject::tr("memory over capacity: %1").arg(text);
            report.problems << QObject::tr("Memory over capacity on %1").arg(text);
            for (int n = 0; n < nodeCount; ++n)
                if (deviceOf(n) == d && report.nodeProblems[n].isEmpty())
                    report.nodeProblems[n] =
                        QObject::tr("device %1 is over its memory capacity").arg(device.id);
        }
    }

    // Cycles between devices: devices in one strongly connected component.
    const auto comp = deviceComponents(deviceCount, deviceEdges);
    std::vector<int> compSize(std::size_t(deviceCount), 0);
    for (int d = 0; d < deviceCount; ++d)
        ++compSize[comp[d]];
    std::set<int> reported;
    for (int d = 0; d < deviceCount; ++d) {
        if (compSize[comp[d]] < 2 || reported.count(comp[d]))
            continue;
        reported.insert(comp[d]);
        QStringList members;
        for (int e = 0; e < deviceCount; ++e)
            if (comp[e] == comp[d])
                members << devices[e].id;
        const QString cycle = members.join(QStringLiteral(" ⇄ "));
        report.problems << QObject::tr("Cycle between devices %1: a stage would wait for itself")
                               .arg(cycle);
        for (int e = 0; e < deviceCount; ++e)
            if (comp[e] == comp[d])
                report.devices[e].problems << QObject::tr("cycle between devices %1").arg(cycle);
    }
    for (const CutEdge &cut : report.cuts) {
        const int a = deviceOf(cut.from), b = deviceOf(cut.to);
        if (comp[a] == comp[b] && compSize[comp[a]] >= 2) {
            const QString reason =
                QObject::tr("edge '%1' is part of a cycle between devices %2 and %3")
                    .arg(QString::fromStdString(graph.value(cut.value).name), devices[a].id,
                         devices[b].id);
            report.nodeProblems[cut.from] = reason;
            report.nodeProblems[cut.to] = reason;
        }
    }
    return report;
}

} // namespace sb::ui
