// Per-device memory ledger and plan problems for the placement being edited,
// recomputed on every change on the GUI thread (O(nodes + edges); a whole
// drop on a 5,000-node model, this check included, measured 12-22 ms).
//
// The immediate check, at the model's import bindings (batch 1): weights =
// initializers read by the device's nodes; activations = peak of live tensors
// over the device's nodes in topological order; buffers = tensors received
// from or sent to other devices. Problems: nodes without a device, unknown
// devices, memory over capacity, cycles between devices (A -> B -> A).
// core/plan's validator then runs on a worker for the plan's micro-batch and
// dims, and its verdict replaces these problems and ledger figures
// (PlacementModel::mergeValidation).
#pragma once

#include "ui/devices/device_info.h"
#include "ui/graph/model_data.h"

#include <QString>
#include <QStringList>
#include <QVector>

#include <vector>

namespace sb::ui {

struct DeviceLedger
{
    quint64 weights = 0;
    quint64 activations = 0;
    quint64 buffers = 0;
    double flops = 0;
    double stageSeconds = -1;  // compute estimate; -1 when the device has no rate
    int nodes = 0;
    QStringList problems;
    quint64 total() const { return weights + activations + buffers; }
};

struct CutEdge
{
    graph::ValueId value = graph::kNoValue;
    graph::NodeId from = graph::kNoNode;
    graph::NodeId to = graph::kNoNode;
    quint64 bytes = 0;
};

struct PlacementReport
{
    QVector<DeviceLedger> devices;  // parallel to the device list
    std::vector<QString> nodeProblems;  // per NodeId, empty when fine
    QStringList problems;               // every problem, for the console
    QVector<CutEdge> cuts;
    int unassigned = 0;
    // Filled when core/plan's validator has checked this placement: its
    // problem codes (device_cycle, memory_over_capacity, ...) and estimate.
    bool validated = false;
    QStringList problemCodes;
    QStringList warnings;
    double throughput = 0;       // samples/s, steady state
    double latencySeconds = 0;   // one batch
    double bubbleFraction = 0;   // (p-1)/(M+p-1)
    int bottleneckDevice = -1;   // index into devices
    bool isValid() const { return problems.isEmpty(); }
};

// `deviceOfNode[n]` is an index into `devices`, or -1 when unassigned.
PlacementReport checkPlacement(const ModelData &model, const QVector<DeviceInfo> &devices,
                               const std::vector<int> &deviceOfNode);

} // namespace sb::ui
