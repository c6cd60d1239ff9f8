// The model graph as a tree: blocks are top-level rows, their nodes are
// children. A node with subgraphs (If, Loop, Scan) has one child row per
// subgraph attribute ("then_branch", "body"), whose children are the
// subgraph's nodes, nested as deep as the model nests them. Columns: name,
// op, shape, device, FLOPs, params. Drags carry the NodeIds of the dragged
// rows (a block drags all its nodes; a subgraph row drags the node that owns
// it, because a node and its subgraphs are placed as one unit).
#pragma once

#include "ui/graph/placement_model.h"

#include <QAbstractItemModel>

namespace sb::ui {

class GraphTreeModel : public QAbstractItemModel
{
    Q_OBJECT
public:
    enum Column
    {
        NameColumn,
        OpColumn,
        ShapeColumn,
        DeviceColumn,
        FlopsColumn,
        ParamsColumn,
        ColumnCount
    };
    enum Role
    {
        NodeIdRole = Qt::UserRole + 1, // int, -1 for block rows
        GroupRole,                     // int, the block index of the row
        SortRole,                      // numbers for FLOPs/params, text otherwise
        SearchTextRole,                // "name op shape", lower case
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
    // A row inside a node's subgraphs: an attribute's graph, or one of its nodes.
    struct SubRow
    {
        graph::NodeId owner = graph::kNoNode; // the top-level node that owns the nesting
        int parent = -1;                      // index into m_subRows; -1: the owner's row
        int row = 0;                          // row under the parent
        const graph::Graph *graph = nullptr;  // the subgraph (body rows: the one holding it)
        graph::NodeId node = graph::kNoNode;  // body rows: the node in `graph`; else kNoNode
        std::string attribute;                // subgraph rows: the attribute's name
        std::vector<int> children;            // indices into m_subRows
    };
    // Appends the subgraph rows of `node` (of `graph`) under `parent`.
    void addSubgraphRows(const graph::Graph &graph, graph::NodeId node, graph::NodeId owner,
                         int parent, std::vector<int> &into);
    bool isSubRow(const QModelIndex &index) const;
    const std::vector<int> *childrenOf(const QModelIndex &parent) const;
    QVariant subRowData(const SubRow &sub, int column, int role) const;
    QVariant nodeData(graph::NodeId node, int column, int role) const;
    QVariant groupData(int group, int column, int role) const;
    void placementChanged();
    void subRowsChanged(const QModelIndex &parent);

    PlacementModel *m_placement;
    std::shared_ptr<const ModelData> m_model;
    std::vector<int> m_rowInGroup; // per NodeId: row under its block
    std::vector<SubRow> m_subRows;
    std::vector<std::vector<int>> m_nodeSubRows; // per NodeId: its subgraph rows
};

} // namespace sb::ui
