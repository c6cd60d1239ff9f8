// The devices panel's model: one row per device of the placement model, with
// its ledger (weights, activations, buffers against capacity), estimated stage
// time and problems. Accepts node drops: dropping nodes on a device row assigns
// them to that device (an undoable command).
#pragma once

#include "ui/graph/placement_model.h"

#include <QAbstractListModel>

namespace sb::ui {

class DeviceListModel : public QAbstractListModel
{
    Q_OBJECT
public:
    enum Role
    {
        DeviceIdRole = Qt::UserRole + 1,
        KindRole,
        OriginRole,      // "local", "what-if", "remote"
        CapacityRole,    // quint64
        WeightsRole,     // quint64
        ActivationsRole, // quint64
        BuffersRole,     // quint64
        StageTimeRole,   // double seconds, -1 unknown
        NodeCountRole,
        ProblemsRole, // QStringList
        ColourRole,
        RateRole,       // FLOP/s
        BottleneckRole, // bool: the slowest stage of the validated estimate
    };

    explicit DeviceListModel(PlacementModel *placement, QObject *parent = nullptr);

    int rowCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    QStringList mimeTypes() const override;
    Qt::DropActions supportedDropActions() const override;
    bool canDropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column,
                         const QModelIndex &parent) const override;
    bool dropMimeData(const QMimeData *data, Qt::DropAction action, int row, int column,
                      const QModelIndex &parent) override;

private:
    PlacementModel *m_placement;
};

} // namespace sb::ui
