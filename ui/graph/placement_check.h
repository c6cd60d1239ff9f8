// The view state of the placement being edited: per-device ledger, problems
// per node and device, cut edges and the estimate, as the Graph page and the
// Devices panel show them.
//
// Nothing here judges a plan: problems, memory ledger and estimate come from
// core/plan's validator (plan::validatePlan), the one definition of a valid
// plan for the CLI and the GUI. PlacementModel keeps the validator's
// placement-independent analysis (plan::analysePlan, computed on a worker)
// and validates every edit with it on the GUI thread, O(nodes + edges). Only
// what the views need beyond that is derived from the assignment here: cut
// edges (per producer/consumer pair, for drawing), node counts and the number
// of nodes without a device.
#pragma once

#include "core/plan/validate.h"
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
    quint64 buffers = 0; // transfer buffers + kernel workspace
    double flops = 0;
    double stageSeconds = -1; // estimated stage time; -1 when not estimated
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
    QVector<DeviceLedger> devices;     // parallel to the device list
    std::vector<QString> nodeProblems; // per NodeId, empty when fine
    QStringList problems;              // every error, for the console
    QVector<CutEdge> cuts;
    int unassigned = 0;
    // Set once core/plan's validator has checked this placement (false while
    // its analysis of the model is pending): its problem codes
    // (device_cycle, memory_over_capacity, ...), warnings and estimate.
    bool validated = false;
    QStringList problemCodes;
    QStringList warnings;
    double throughput = 0;     // samples/s, steady state
    double latencySeconds = 0; // one batch
    double bubbleFraction = 0; // core/plan's ideal bubble
    int bottleneckDevice = -1; // index into devices
    QVector<int> stageDevices; // devices in core's stage order; empty without an estimate
    bool isValid() const { return problems.isEmpty(); }
};

// A heading for a validator problem code ("Memory over capacity").
QString problemTitle(const std::string &code);

// `deviceOfNode[n]` is an index into `devices`, or -1 when unassigned;
// `validation` is the validator's report for this placement (null while it
// is pending: then only cuts and counts are filled).
PlacementReport placementReport(const ModelData &model, const QVector<DeviceInfo> &devices,
                                const std::vector<int> &deviceOfNode,
                                const plan::ValidationReport *validation);

} // namespace sb::ui
