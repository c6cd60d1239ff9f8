#include "ui/graph/placement_check.h"

#include <QObject>

namespace sb::ui {

QString problemTitle(const std::string &code)
{
    if (code == "device_cycle")
        return QObject::tr("Cycle between devices");
    if (code == "memory_over_capacity")
        return QObject::tr("Memory over capacity");
    if (code == "unassigned_node")
        return QObject::tr("Nodes without a device");
    if (code == "unknown_device")
        return QObject::tr("Unknown device");
    if (code == "unknown_node" || code == "unknown_pinned_node")
        return QObject::tr("Unknown node");
    if (code == "batch_not_divisible")
        return QObject::tr("Batch not divisible");
    if (code == "baked_batch")
        return QObject::tr("Batch baked into the model");
    if (code == "tensor_parallel_invalid")
        return QObject::tr("Tensor parallelism");
    if (code == "estimate_failed")
        return QObject::tr("No estimate");
    if (code == "model_hash_mismatch")
        return QObject::tr("Plan made for another model");
    return QString::fromStdString(code);
}

PlacementReport placementReport(const ModelData &model, const QVector<DeviceInfo> &devices,
                                const std::vector<int> &deviceOfNode,
                                const plan::ValidationReport *validation)
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
    auto deviceIndex = [&](const std::string &id) {
        const QString key = QString::fromStdString(id);
        for (int d = 0; d < deviceCount; ++d)
            if (devices[d].id == key)
                return d;
        return -1;
    };

    // What the views draw and count: nodes per device, cut edges per
    // (producer, consumer) pair.
    for (int n = 0; n < nodeCount; ++n) {
        if (const int d = deviceOf(n); d >= 0)
            ++report.devices[d].nodes;
        else
            ++report.unassigned;
    }
    for (std::size_t v = 0; v < graph.values().size(); ++v) {
        const auto &value = graph.values()[v];
        const int from = deviceOf(value.producer);
        if (value.producer == graph::kNoNode || from < 0)
            continue;
        for (graph::NodeId consumer : value.consumers) {
            const int to = deviceOf(consumer);
            if (to >= 0 && to != from)
                report.cuts.push_back(
                    CutEdge{graph::ValueId(v), value.producer, consumer, model.valueBytes[v]});
        }
    }
    if (!validation)
        return report;

    // The validator's verdict.
    report.validated = true;
    for (const plan::Problem &problem : validation->problems) {
        const QString message = QString::fromStdString(problem.message);
        if (problem.warning) {
            report.warnings << message;
            continue;
        }
        const QString text = problemTitle(problem.code) + QStringLiteral(": ") + message;
        report.problems << text;
        report.problemCodes << QString::fromStdString(problem.code);
        for (const std::string &name : problem.nodes)
            if (const auto node = graph.findNode(name))
                if (report.nodeProblems[std::size_t(*node)].isEmpty())
                    report.nodeProblems[std::size_t(*node)] = text;
        for (const std::string &device : problem.devices)
            if (const int d = deviceIndex(device); d >= 0)
                report.devices[d].problems << text;
    }
    const auto &estimate =
        validation->estimate ? validation->estimate : validation->assignedEstimate;
    if (!estimate)
        return report;
    for (const plan::DeviceLedger &ledger : estimate->ledger)
        if (const int d = deviceIndex(ledger.device); d >= 0) {
            report.devices[d].weights = ledger.weights;
            report.devices[d].activations = ledger.activations;
            report.devices[d].buffers = ledger.transferBuffers + ledger.workspace;
        }
    for (std::size_t s = 0; s < estimate->stages.size(); ++s)
        if (const int d = deviceIndex(estimate->stages[s].device); d >= 0) {
            report.devices[d].flops = estimate->stages[s].flops;
            report.devices[d].stageSeconds = estimate->stages[s].seconds();
        }
    // Pipeline figures only for a runnable plan.
    if (validation->estimate) {
        for (const plan::StageEstimate &stage : estimate->stages)
            report.stageDevices << deviceIndex(stage.device);
        if (!estimate->stages.empty())
            report.bottleneckDevice =
                deviceIndex(estimate->stages[std::size_t(estimate->bottleneck)].device);
        report.throughput = estimate->throughput;
        report.latencySeconds = estimate->latencySeconds;
        report.bubbleFraction = estimate->bubbleFraction;
    }
    return report;
}

} // namespace sb::ui
