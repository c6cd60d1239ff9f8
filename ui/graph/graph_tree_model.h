// The model graph as a tree: blocks are top-level rows, their nodes are
// children. Columns: name, op, shape, device, FLOPs, params. Drags carry the
// NodeIds of the dragged rows (a block drags all its nodes).
#pragma once

#include "ui/graph/placement_model.h"

#include <QAbstractItemModel>

namespace sb::ui {

class GraphTreeModel : public QAbstractItemModel
{
    Q_OBJECT
public:
    enum Column { NameColumn, OpColumn, ShapeColumn, DeviceColumn, FlopsColumn, ParamsColumn,
                  ColumnCount };
    enum Role {
        NodeIdRole = Qt::UserRole + 1,  // int, -1 for block rows
        GroupRole,                      // int, the block index of the row
        SortRole,                       // numbers for FLOPs/params, text otherwise
        SearchTextRole,                 // "name op shape", lower case
    };

    explicit GraphTreeModel(PlacementModel *placement, QObject *parent = nullptr);

    // Rebuilds from the placement model's ModelData.
    void reload();

    QModelIndex indexForNode(graph::NodeId node, int column = 0) const;
    QModelIndex indexForGroup(int group, int column = 0) const;
    // NodeIds of a row: the node itself, or every node of a block.
    QVector<graph::NodeId> nodesOf(const QModelIndex &index) const;

    QModelIndex index(int row, int column, const QModelIndex &parent = {}) const override;
    QModelIndex parent(const QModelIndex &child) const override;
    int rowCount(const QModelIndex &parent = {}) const override;
    int columnCount(const QModelIndex &parent = {}) const override;
    QVariant data(const QModelIndex &index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;
    Qt::ItemFlags flags(const QModelIndex &index) const override;
    QStringList mimeTypes() const override;
    QMimeData *mimeData(const QModelIndexList &indexes) const override;
    Qt::DropActions supportedDragActions() const override;

private:
    QVariant nodeData(graph::NodeId node, int column, int role) const;
    QVariant groupData(int group, int column, int role) const;
    void placementChanged();

    PlacementModel *m_placement;
    std::shared_ptr<const ModelData> m_model;
    std::vector<int> m_rowInGroup;  // per NodeId: row under its block
};

} // namespace sb::ui
