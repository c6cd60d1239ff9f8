#include "ui/graph/placement_model.h"

#include <QUndoCommand>

namespace sb::ui {

namespace {

// Stores the whole before/after state: placements are small (4 bytes per
// node) and this keeps every command trivially exact to undo.
class PlacementCommand : public QUndoCommand
{
public:
    PlacementCommand(PlacementModel *model, std::vector<int> after, std::vector<bool> pinnedAfter,
                     const QString &text)
        : m_model(model), m_before(model->assignment()), m_after(std::move(after)),
          m_pinnedBefore(model->pinned()), m_pinnedAfter(std::move(pinnedAfter))
    {
        setText(text);
    }
    void redo() override { m_model->setState(m_after, m_pinnedAfter); }
    void undo() override { m_model->setState(m_before, m_pinnedBefore); }

private:
    PlacementModel *m_model;
    std::vector<int> m_before, m_after;
    std::vector<bool> m_pinnedBefore, m_pinnedAfter;
};

} // namespace

PlacementModel::PlacementModel(QObject *parent) : QAbstractTableModel(parent) {}

void PlacementModel::setModelData(std::shared_ptr<const ModelData> model)
{
    beginResetModel();
    m_model = std::move(model);
    const std::size_t n = std::size_t(m_model ? m_model->nodeCount() : 0);
    m_deviceOf.assign(n, m_devices.isEmpty() ? -1 : 0);
    m_pinned.assign(n, false);
    m_undo.clear();
    endResetModel();
    recheck();
}

void PlacementModel::setDevices(const QVector<DeviceInfo> &devices)
{
    std::vector<int> remap(std::size_t(m_devices.size()), -1);
    for (int i = 0; i < m_devices.size(); ++i)
        for (int j = 0; j < devices.size(); ++j)
            if (devices[j].id == m_devices[i].id)
                remap[i] = j;
    m_devices = devices;
    for (int i = 0; i < m_devices.size(); ++i)
        if (!m_devices[i].colour.isValid())
            m_devices[i].colour = deviceColour(i);
    for (int &d : m_deviceOf)
        d = d >= 0 && std::size_t(d) < remap.size() ? remap[d] : -1;
    m_undo.clear();  // commands hold device indices of the old list
    emit devicesChanged();
    if (!m_deviceOf.empty())
        emit dataChanged(index(0, DeviceColumn), index(rowCount() - 1, ProblemColumn));
    recheck();
}

void PlacementModel::addDevice(const DeviceInfo &device)
{
    DeviceInfo copy = device;
    if (!copy.colour.isValid())
        copy.colour = deviceColour(m_devices.size());
    m_devices.push_back(copy);  // appending keeps indices held by undo commands valid
    emit devicesChanged();
    recheck();
}

int PlacementModel::deviceIndex(const QString &id) const
{
    for (int i = 0; i < m_devices.size(); ++i)
        if (m_devices[i].id == id)
            return i;
    return -1;
}

void PlacementModel::setDeviceRate(int device, double flopsPerSecond)
{
    if (device < 0 || device >= m_devices.size())
        return;
    m_devices[device].flopsPerSecond = flopsPerSecond;
    emit devicesChanged();
    recheck();
}

int PlacementModel::deviceOf(graph::NodeId node) const
{
    return node >= 0 && std::size_t(node) < m_deviceOf.size() ? m_deviceOf[node] : -1;
}

bool PlacementModel::isPinned(graph::NodeId node) const
{
    return node >= 0 && std::size_t(node) < m_pinned.size() && m_pinned[node];
}

bool PlacementModel::assignNodes(const QVector<graph::NodeId> &nodes, int device)
{
    if (device < 0 || device >= m_devices.size())
        return false;
    std::vector<int> after = m_deviceOf;
    int changed = 0;
    for (graph::NodeId node : nodes) {
        if (node < 0 || std::size_t(node) >= after.size() || after[node] == device)
            continue;
        after[node] = device;
        ++changed;
    }
    if (changed == 0)
        return false;
    const QString text =
        changed == 1 ? tr("Assign %1 to %2")
                           .arg(QString::fromStdString(
                                    m_model->graph->node(nodes.front()).name),
                                m_devices[device].id)
                     : tr("Assign %1 nodes to %2").arg(changed).arg(m_devices[device].id);
    m_undo.push(new PlacementCommand(this, std::move(after), m_pinned, text));
    return true;
}

bool PlacementModel::setPinned(const QVector<graph::NodeId> &nodes, bool pinned)
{
    std::vector<bool> after = m_pinned;
    int changed = 0;
    for (graph::NodeId node : nodes) {
        if (node < 0 || std::size_t(node) >= after.size() || after[node] == pinned)
            continue;
        after[node] = pinned;
        ++changed;
    }
    if (changed == 0)
        return false;
    m_undo.push(new PlacementCommand(this, m_deviceOf, std::move(after),
                                     pinned ? tr("Pin %n node(s)", nullptr, changed)
                                            : tr("Unpin %n node(s)", nullptr, changed)));
    return true;
}

bool PlacementModel::applyPlacement(const std::vector<int> &assignment,
                                    const std::vector<bool> &pinned, const QString &text)
{
    if (assignment.size() != m_deviceOf.size() || pinned.size() != m_pinned.size())
        return false;
    if (assignment == m_deviceOf && pinned == m_pinned)
        return false;
    m_undo.push(new PlacementCommand(this, assignment, pinned, text));
    return true;
}

void PlacementModel::setState(const std::vector<int> &assignment, const std::vector<bool> &pinned)
{
    m_deviceOf = assignment;
    m_pinned = pinned;
    if (!m_deviceOf.empty())
        emit dataChanged(index(0, DeviceColumn), index(rowCount() - 1, ProblemColumn));
    recheck();
}

void PlacementModel::recheck()
{
    if (m_model && m_model->graph)
        m_report = checkPlacement(*m_model, m_devices, m_deviceOf);
    else
        m_report = PlacementReport{};
    emit placementChanged();
}

int PlacementModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_deviceOf.size());
}

int PlacementModel::columnCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant PlacementModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const int node = index.row();
    const int device = m_deviceOf[node];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case NodeColumn:
            return QString::fromStdString(m_model->graph->node(node).name);
        case DeviceColumn:
            return device >= 0 ? m_devices[device].id : QString();
        case PinnedColumn:
            return m_pinned[node] ? tr("pinned") : QString();
        case ProblemColumn:
            return std::size_t(node) < m_report.nodeProblems.size() ? m_report.nodeProblems[node]
                                                                    : QString();
        }
        break;
    case Qt::DecorationRole:
        if (index.column() == DeviceColumn && device >= 0)
            return m_devices[device].colour;
        break;
    default:
        break;
    }
    return {};
}

QVariant PlacementModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case NodeColumn:
        return tr("Node");
    case DeviceColumn:
        return tr("Device");
    case PinnedColumn:
        return tr("Pinned");
    case ProblemColumn:
        return tr("Problem");
    }
    return {};
}

} // namespace sb::ui
