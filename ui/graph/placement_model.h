// Which device each node runs on, which nodes are pinned, and the devices a
// plan may use. Rows are nodes (columns: node, device, pinned, problem). Every
// change goes through the undo stack; after each change core/plan's validator
// checks the placement (placementChanged, validated). The validator's
// placement-independent analysis (plan::analysePlan) runs on a TaskRunner
// worker when the model, batch, micro-batches or dims change; until it is
// back the report says it is not validated yet.
#pragma once

#include "core/plan/plan_file.h"
#include "core/plan/validate.h"
#include "ui/common/task_runner.h"
#include "ui/devices/device_info.h"
#include "ui/graph/model_data.h"
#include "ui/graph/placement_check.h"

#include <QAbstractTableModel>
#include <QUndoStack>

#include <memory>
#include <set>
#include <vector>

namespace sb::ui {

class PlacementModel : public QAbstractTableModel
{
    Q_OBJECT
public:
    enum Column
    {
        NodeColumn,
        DeviceColumn,
        PinnedColumn,
        ProblemColumn,
        ColumnCount
    };

    explicit PlacementModel(QObject *parent = nullptr);

    // A new model starts with every node on the first device (a valid
    // single-device plan); the undo history is cleared.
    void setModelData(std::shared_ptr<const ModelData> model);
    const std::shared_ptr<const ModelData> &modelData() const { return m_model; }
    // Replacing the device list keeps assignments to devices that remain. The
    // undo history survives when the ids stay the same in the same order (the
    // commands hold device indices); otherwise it is cleared.
    void setDevices(const QVector<DeviceInfo> &devices);
    void addDevice(const DeviceInfo &device);
    const QVector<DeviceInfo> &devices() const { return m_devices; }
    int deviceIndex(const QString &id) const;

    int deviceOf(graph::NodeId node) const;
    bool isPinned(graph::NodeId node) const;
    const std::vector<int> &assignment() const { return m_deviceOf; }
    const std::vector<bool> &pinned() const { return m_pinned; }
    const PlacementReport &report() const { return m_report; }

    // Undoable edits. Return false (and push nothing) when nothing changes.
    bool assignNodes(const QVector<graph::NodeId> &nodes, int device);
    bool setPinned(const QVector<graph::NodeId> &nodes, bool pinned);
    bool applyPlacement(const std::vector<int> &assignment, const std::vector<bool> &pinned,
                        const QString &text);
    QUndoStack *undoStack() { return &m_undo; }
    // Tensor parallelism: puts `nodes` (a block) on the first of `devices`
    // and splits them across all of them (core/plan proposeSplits: column,
    // then row where the input arrives sharded), replacing the plan's
    // tensor_parallel entries for those nodes. One undoable command. False
    // (nothing pushed) with fewer than 2 devices or nothing to split.
    bool splitAcrossDevices(const QVector<graph::NodeId> &nodes, const QVector<int> &devices);
    // Removes the nodes' tensor_parallel entries (undoable); false if none.
    bool unsplit(const QVector<graph::NodeId> &nodes);
    // The device indices of the tensor-parallel group that lists `node`, empty if none.
    QVector<int> tensorParallelGroup(graph::NodeId node) const;
    const nlohmann::json &tensorParallel() const { return m_planExtras.tensorParallel; }

    // Batch and micro-batches the ledger and the validator assume.
    void setPlanSettings(std::int64_t batch, int microbatches);
    std::int64_t batch() const { return m_batch; }
    int microbatches() const { return m_microbatches; }
    // Symbolic dims (other than the batch) bound for the validator's and the
    // planner's estimates, e.g. {"seq": 64}; saved as the plan's "dims".
    // `source` says where the dims came from, for the user ("the model's sample
    // input decoder_input.npy", "the opened plan", ...); empty when unknown.
    void setPlanDims(const std::map<std::string, std::int64_t> &dims, const QString &source = {});
    const std::map<std::string, std::int64_t> &planDims() const { return m_planExtras.dims; }
    const QString &planDimsSource() const { return m_planDimsSource; }
    // The placement as a plan file (core/plan), for validation, saving, running:
    // devices with their figures, assignment, pins, batch and micro-batches,
    // plus what the GUI does not edit but keeps from the last loaded or
    // planned plan (objective, links, dims, tensor_parallel and unknown
    // top-level keys, which docs/plan-format.md says survive a round trip).
    plan::Plan makePlan(const std::string &modelSha256 = {}) const;
    // Applies a plan's assignment and pins (devices matched by id against the
    // current list) as one undoable command and keeps its objective; errors
    // name unknown nodes or devices. For planner results.
    Status applyPlan(const plan::Plan &plan, const QString &text);
    // Opens a plan file's content: checks it against the model first (model
    // hash when both are known, every assigned and pinned node, every device
    // of the assignment in the plan's device list) and changes nothing on an
    // error, whose message names the node or device. Then adopts the plan's
    // devices (figures from the plan; colours and origins kept for ids already
    // listed), batch, micro-batches and extras, and applies the assignment and
    // pins as one undoable command.
    Status loadPlan(const plan::Plan &plan, const std::string &modelSha256, const QString &text);

    // Used by the undo commands.
    void setState(const std::vector<int> &assignment, const std::vector<bool> &pinned);
    void setState(const std::vector<int> &assignment, const std::vector<bool> &pinned,
                  const nlohmann::json &tensorParallel);

    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

signals:
    void placementChanged();
    void devicesChanged();
    // The bound dims changed (setPlanDims, a loaded plan, a new model).
    void planDimsChanged();
    // core/plan's validator checked the current placement.
    void validated();

private:
    void recheck();
    void startAnalysis(const plan::Plan &plan);

    std::shared_ptr<const ModelData> m_model;
    QVector<DeviceInfo> m_devices;
    std::vector<int> m_deviceOf;
    std::vector<bool> m_pinned;
    PlacementReport m_report;
    QUndoStack m_undo;
    std::int64_t m_batch = 8;
    int m_microbatches = 4;
    // The validator's analysis for the current plan settings, and the one
    // being computed (its settings only) on m_tasks.
    std::shared_ptr<const plan::PlanAnalysis> m_analysis;
    std::shared_ptr<const plan::PlanAnalysis> m_analysisPending;
    // Kept for makePlan(): objective, links, dims, tensor_parallel, extra.
    plan::Plan m_planExtras;
    QString m_planDimsSource; // where m_planExtras.dims came from
    // Catalogue links between the current devices (recomputed when the list
    // changes); a loaded plan's own links win for the same pair.
    std::vector<plan::LinkSpec> m_catalogueLinks;
    // Devices of the loaded plan: between them, its links are the whole truth.
    std::set<std::string> m_planDeviceIds;
    // Last member: destroyed first, it waits for its worker.
    TaskRunner m_tasks;
};

} // namespace sb::ui
