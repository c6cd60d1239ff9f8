#include "ui/graph/graph_tree_model.h"

#include "ui/graph/node_mime.h"

#include <QColor>
#include <QLocale>

#include <map>
#include <set>

namespace sb::ui {

// internalId: 0 for block rows; block index + 1 for node rows; kSubRowTag +
// the index into m_subRows for rows inside subgraphs (which, unlike the
// other two, names the row itself rather than its parent).
namespace {
constexpr quintptr kSubRowTag = quintptr(1) << 40;

QString subgraphShapeText(const graph::Graph &graph, graph::NodeId node)
{
    for (graph::ValueId out : graph.node(node).outputs)
        if (out != graph::kNoValue)
            return QString::fromStdString(graph.value(out).info.shape.toString());
    return {};
}
} // namespace

GraphTreeModel::GraphTreeModel(PlacementModel *placement, QObject *parent)
    : QAbstractItemModel(parent), m_placement(placement)
{
    connect(placement, &PlacementModel::placementChanged, this, &GraphTreeModel::placementChanged);
    connect(placement, &QAbstractItemModel::modelReset, this, &GraphTreeModel::reload);
    reload();
}

void GraphTreeModel::reload()
{
    beginResetModel();
    m_model = m_placement->modelData();
    m_rowInGroup.clear();
    m_subRows.clear();
    m_nodeSubRows.clear();
    if (m_model) {
        m_rowInGroup.assign(std::size_t(m_model->nodeCount()), -1);
        for (const auto &group : m_model->groups)
            for (std::size_t i = 0; i < group.size(); ++i)
                m_rowInGroup[std::size_t(group[i])] = int(i);
        m_nodeSubRows.resize(std::size_t(m_model->nodeCount()));
        for (graph::NodeId node = 0; node < m_model->nodeCount(); ++node)
            addSubgraphRows(*m_model->graph, node, node, -1, m_nodeSubRows[std::size_t(node)]);
    }
    endResetModel();
}

void GraphTreeModel::addSubgraphRows(const graph::Graph &graph, graph::NodeId node,
                                     graph::NodeId owner, int parent, std::vector<int> &into)
{
    for (const auto &[name, attribute] : graph.node(node).attributes) {
        std::vector<const graph::Graph *> bodies;
        if (attribute.kind == graph::Attribute::Kind::Graph && attribute.graph)
            bodies.push_back(attribute.graph.get());
        for (const auto &body : attribute.graphs)
            if (body)
                bodies.push_back(body.get());
        for (std::size_t b = 0; b < bodies.size(); ++b) {
            const int subgraphRow = int(m_subRows.size());
            SubRow sub;
            sub.owner = owner;
            sub.parent = parent;
            sub.row = int(into.size());
            sub.graph = bodies[b];
            sub.attribute = bodies.size() == 1 ? name : name + '[' + std::to_string(b) + ']';
            m_subRows.push_back(std::move(sub));
            into.push_back(subgraphRow);
            std::vector<int> children;
            for (graph::NodeId inner = 0; inner < graph::NodeId(bodies[b]->nodes().size());
                 ++inner) {
                const int bodyRow = int(m_subRows.size());
                SubRow row;
                row.owner = owner;
                row.parent = subgraphRow;
                row.row = int(children.size());
                row.graph = bodies[b];
                row.node = inner;
                m_subRows.push_back(std::move(row));
                children.push_back(bodyRow);
                std::vector<int> nested;
                addSubgraphRows(*bodies[b], inner, owner, bodyRow, nested);
                m_subRows[std::size_t(bodyRow)].children = std::move(nested);
            }
            m_subRows[std::size_t(subgraphRow)].children = std::move(children);
        }
    }
}

bool GraphTreeModel::isSubRow(const QModelIndex &index) const
{
    return index.isValid() && index.internalId() >= kSubRowTag;
}

const std::vector<int> *GraphTreeModel::childrenOf(const QModelIndex &parent) const
{
    if (isSubRow(parent))
        return &m_subRows[std::size_t(parent.internalId() - kSubRowTag)].children;
    if (parent.isValid() && parent.internalId() != 0) {
        const graph::NodeId node =
            m_model->groups[parent.internalId() - 1][std::size_t(parent.row())];
        return &m_nodeSubRows[std::size_t(node)];
    }
    return nullptr;
}

void GraphTreeModel::placementChanged()
{
    if (!m_model || m_model != m_placement->modelData())
        return;
    const int groups = rowCount();
    if (groups == 0)
        return;
    emit dataChanged(index(0, DeviceColumn), index(groups - 1, DeviceColumn));
    for (int g = 0; g < groups; ++g) {
        const QModelIndex parent = index(g, 0);
        const int rows = rowCount(parent);
        if (rows > 0)
            emit dataChanged(index(0, 0, parent), index(rows - 1, ColumnCount - 1, parent));
        for (int r = 0; r < rows; ++r)
            subRowsChanged(index(r, 0, parent));
    }
}

// Subgraph rows show their owner's device: they change with it.
void GraphTreeModel::subRowsChanged(const QModelIndex &parent)
{
    const int rows = rowCount(parent);
    if (rows == 0)
        return;
    emit dataChanged(index(0, DeviceColumn, parent), index(rows - 1, DeviceColumn, parent));
    for (int r = 0; r < rows; ++r)
        subRowsChanged(index(r, 0, parent));
}

QModelIndex GraphTreeModel::indexForNode(graph::NodeId node, int column) const
{
    if (!m_model || node < 0 || node >= m_model->nodeCount())
        return {};
    const int group = m_model->groupOfNode[std::size_t(node)];
    return createIndex(m_rowInGroup[std::size_t(node)], column, quintptr(group + 1));
}

QModelIndex GraphTreeModel::indexForGroup(int group, int column) const
{
    return index(group, column);
}

QVector<graph::NodeId> GraphTreeModel::nodesOf(const QModelIndex &index) const
{
    QVector<graph::NodeId> nodes;
    if (!index.isValid() || !m_model)
        return nodes;
    if (isSubRow(index)) {
        nodes.push_back(m_subRows[std::size_t(index.internalId() - kSubRowTag)].owner);
    } else if (index.internalId() == 0) {
        for (graph::NodeId node : m_model->groups[std::size_t(index.row())])
            nodes.push_back(node);
    } else {
        nodes.push_back(m_model->groups[index.internalId() - 1][std::size_t(index.row())]);
    }
    return nodes;
}

QModelIndex GraphTreeModel::index(int row, int column, const QModelIndex &parent) const
{
    if (!hasIndex(row, column, parent))
        return {};
    if (!parent.isValid())
        return createIndex(row, column, quintptr(0));
    if (parent.internalId() == 0)
        return createIndex(row, column, quintptr(parent.row() + 1));
    if (parent.column() != 0)
        return {};
    const std::vector<int> *children = childrenOf(parent);
    if (!children || row >= int(children->size()))
        return {};
    return createIndex(row, column, kSubRowTag + quintptr((*children)[std::size_t(row)]));
}

QModelIndex GraphTreeModel::parent(const QModelIndex &child) const
{
    if (!child.isValid() || child.internalId() == 0)
        return {};
    if (isSubRow(child)) {
        const SubRow &sub = m_subRows[std::size_t(child.internalId() - kSubRowTag)];
        if (sub.parent < 0)
            return indexForNode(sub.owner);
        return createIndex(m_subRows[std::size_t(sub.parent)].row, 0,
                           kSubRowTag + quintptr(sub.parent));
    }
    return createIndex(int(child.internalId() - 1), 0, quintptr(0));
}

int GraphTreeModel::rowCount(const QModelIndex &parent) const
{
    if (!m_model)
        return 0;
    if (!parent.isValid())
        return int(m_model->groups.size());
    if (parent.column() != 0)
        return 0;
    if (parent.internalId() == 0)
        return int(m_model->groups[std::size_t(parent.row())].size());
    const std::vector<int> *children = childrenOf(parent);
    return children ? int(children->size()) : 0;
}

int GraphTreeModel::columnCount(const QModelIndex &) const
{
    return ColumnCount;
}

QVariant GraphTreeModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || !m_model)
        return {};
    if (isSubRow(index))
        return subRowData(m_subRows[std::size_t(index.internalId() - kSubRowTag)], index.column(),
                          role);
    if (index.internalId() == 0)
        return groupData(index.row(), index.column(), role);
    const auto &group = m_model->groups[index.internalId() - 1];
    return nodeData(group[std::size_t(index.row())], index.column(), role);
}

QVariant GraphTreeModel::nodeData(graph::NodeId node, int column, int role) const
{
    const auto &n = m_model->graph->node(node);
    const auto &cost = m_model->cost.nodes[std::size_t(node)];
    const int device = m_placement->deviceOf(node);
    const auto &devices = m_placement->devices();
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case NameColumn:
            return QString::fromStdString(n.name);
        case OpColumn:
            return QString::fromStdString(n.opType);
        case ShapeColumn:
            return m_model->shapeText(node);
        case DeviceColumn:
            return device >= 0 && device < devices.size() ? devices[device].id : QString();
        case FlopsColumn:
            return formatFlops(cost.flops);
        case ParamsColumn:
            return cost.paramCount > 0 ? QLocale().toString(qulonglong(cost.paramCount))
                                       : QString();
        }
        break;
    case Qt::DecorationRole:
        if (column == DeviceColumn && device >= 0 && device < devices.size())
            return devices[device].colour;
        break;
    case Qt::ToolTipRole: {
        const auto &problems = m_placement->report().nodeProblems;
        if (std::size_t(node) < problems.size() && !problems[node].isEmpty())
            return problems[node];
        break;
    }
    case Qt::ForegroundRole: {
        const auto &problems = m_placement->report().nodeProblems;
        if (std::size_t(node) < problems.size() && !problems[node].isEmpty())
            return QColor(0xd0, 0x30, 0x30);
        break;
    }
    case NodeIdRole:
        return node;
    case GroupRole:
        return m_model->groupOfNode[std::size_t(node)];
    case SortRole:
        if (column == FlopsColumn)
            return cost.flops;
        if (column == ParamsColumn)
            return qulonglong(cost.paramCount);
        return nodeData(node, column, Qt::DisplayRole);
    case SearchTextRole:
        return QString::fromStdString(n.name + ' ' + n.opType + ' ').toLower() +
               m_model->shapeText(node);
    default:
        break;
    }
    return {};
}

// Subgraph rows run where their owner runs: device, node id and group are the
// owner's; costs are counted on the owner.
QVariant GraphTreeModel::subRowData(const SubRow &sub, int column, int role) const
{
    const bool body = sub.node != graph::kNoNode;
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case NameColumn:
            return QString::fromStdString(body ? sub.graph->node(sub.node).name : sub.attribute);
        case OpColumn:
            return body ? QString::fromStdString(sub.graph->node(sub.node).opType)
                        : tr("subgraph (%n nodes)", nullptr, int(sub.graph->nodes().size()));
        case ShapeColumn:
            return body ? subgraphShapeText(*sub.graph, sub.node) : QString();
        case DeviceColumn:
            return nodeData(sub.owner, column, role);
        default:
            return {};
        }
    case Qt::DecorationRole:
        return column == DeviceColumn ? nodeData(sub.owner, column, role) : QVariant();
    case NodeIdRole:
        return sub.owner;
    case GroupRole:
        return m_model->groupOfNode[std::size_t(sub.owner)];
    case SortRole:
        return subRowData(sub, column, Qt::DisplayRole);
    case SearchTextRole:
        return (subRowData(sub, NameColumn, Qt::DisplayRole).toString() + ' ' +
                subRowData(sub, OpColumn, Qt::DisplayRole).toString() + ' ' +
                subRowData(sub, ShapeColumn, Qt::DisplayRole).toString())
            .toLower();
    default:
        return {};
    }
}

QVariant GraphTreeModel::groupData(int group, int column, int role) const
{
    const auto &nodes = m_model->groups[std::size_t(group)];
    const auto &cost = m_model->cost;
    switch (role) {
    case Qt::DisplayRole:
        switch (column) {
        case NameColumn:
            return QString::fromStdString(m_model->groupNames[std::size_t(group)]);
        case OpColumn:
            return nodes.size() == 1
                       ? QString::fromStdString(m_model->graph->node(nodes.front()).opType)
                       : tr("block (%n nodes)", nullptr, int(nodes.size()));
        case ShapeColumn:
            return m_model->shapeText(nodes.back());
        case DeviceColumn: {
            std::set<int> used;
            for (graph::NodeId node : nodes)
                used.insert(m_placement->deviceOf(node));
            if (used.size() > 1)
                return tr("mixed");
            const int device = *used.begin();
            return device >= 0 ? m_placement->devices()[device].id : QString();
        }
        case FlopsColumn:
            return std::size_t(group) < cost.blocks.size() && nodes.size() > 1
                       ? formatFlops(cost.blocks[std::size_t(group)].flops)
                       : nodeData(nodes.front(), column, role);
        case ParamsColumn: {
            quint64 params = 0;
            for (graph::NodeId node : nodes)
                params += cost.nodes[std::size_t(node)].paramCount;
            return params > 0 ? QLocale().toString(qulonglong(params)) : QString();
        }
        }
        break;
    case Qt::DecorationRole:
        if (column == DeviceColumn) {
            const int device = m_placement->deviceOf(nodes.front());
            if (device >= 0)
                return m_placement->devices()[device].colour;
        }
        break;
    case NodeIdRole:
        return nodes.size() == 1 ? QVariant(nodes.front()) : QVariant(-1);
    case GroupRole:
        return group;
    case SortRole:
        if (column == FlopsColumn) {
            double flops = 0;
            for (graph::NodeId node : nodes)
                flops += cost.nodes[std::size_t(node)].flops;
            return flops;
        }
        return groupData(group, column, Qt::DisplayRole);
    case SearchTextRole:
        return QString::fromStdString(m_model->groupNames[std::size_t(group)]).toLower();
    default:
        break;
    }
    return {};
}

QVariant GraphTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NameColumn:
        return tr("Name");
    case OpColumn:
        return tr("Op");
    case ShapeColumn:
        return tr("Shape");
    case DeviceColumn:
        return tr("Device");
    case FlopsColumn:
        return tr("FLOPs");
    case ParamsColumn:
        return tr("Params");
    }
    return {};
}

Qt::ItemFlags GraphTreeModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsDragEnabled;
}

QStringList GraphTreeModel::mimeTypes() const
{
    return {QString::fromLatin1(kNodeMimeType)};
}

QMimeData *GraphTreeModel::mimeData(const QModelIndexList &indexes) const
{
    QVector<graph::NodeId> nodes;
    std::set<graph::NodeId> seen;
    for (const QModelIndex &index : indexes)
        for (graph::NodeId node : nodesOf(index))
            if (seen.insert(node).second)
                nodes.push_back(node);
    return makeNodeMimeData(nodes);
}

Qt::DropActions GraphTreeModel::supportedDragActions() const
{
    return Qt::CopyAction | Qt::MoveAction;
}

} // namespace sb::ui
