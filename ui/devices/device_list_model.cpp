#include "ui/devices/device_list_model.h"

#include "ui/devices/device_delegate.h"
#include "ui/graph/node_mime.h"

#include <QMimeData>

namespace sb::ui {

DeviceListModel::DeviceListModel(PlacementModel *placement, QObject *parent)
    : QAbstractListModel(parent), m_placement(placement)
{
    connect(placement, &PlacementModel::devicesChanged, this, [this]() {
        beginResetModel();
        endResetModel();
    });
    connect(placement, &PlacementModel::placementChanged, this, [this]() {
        if (rowCount() > 0)
            emit dataChanged(index(0), index(rowCount() - 1));
    });
}

int DeviceListModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_placement->devices().size());
}

QVariant DeviceListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= rowCount())
        return {};
    const DeviceInfo &device = m_placement->devices()[index.row()];
    const auto &ledgers = m_placement->report().devices;
    const DeviceLedger ledger =
        index.row() < ledgers.size() ? ledgers[index.row()] : DeviceLedger{};
    switch (role) {
    case Qt::DisplayRole:
        return device.name.isEmpty() ? device.id : device.name;
    case Qt::ToolTipRole: {
        LedgerFigures figures;
        figures.weights = ledger.weights;
        figures.activations = ledger.activations;
        figures.buffers = ledger.buffers;
        figures.capacity = device.capacityBytes;
        QString tip = tr("<b>%1</b> %2 (%3)<br>memory: %4<br>%5<br><i>upper bar: used against "
                         "capacity; lower bar: what the used memory is made of</i>")
                          .arg(device.id.toHtmlEscaped(), device.name.toHtmlEscaped(), device.kind,
                               ledgerText(figures), ledgerBreakdownText(figures));
        if (device.flopsPerSecond > 0)
            tip += tr("<br>rate %1/s (%2)")
                       .arg(formatFlops(device.flopsPerSecond), device.source.toHtmlEscaped());
        if (ledger.stageSeconds >= 0)
            tip += tr("<br>estimated stage time %1 per micro-batch")
                       .arg(formatSeconds(ledger.stageSeconds));
        for (const QString &problem : ledger.problems)
            tip += "<br><font color='#d03030'>⚠ " + problem.toHtmlEscaped() + "</font>";
        return tip;
    }
    case DeviceIdRole:
        return device.id;
    case KindRole:
        return device.kind;
    case OriginRole:
        switch (device.origin) {
        case DeviceInfo::Origin::Local:
            return tr("local");
        case DeviceInfo::Origin::Catalogue:
            return tr("what-if");
        case DeviceInfo::Origin::Remote:
            return tr("remote");
        }
        return {};
    case CapacityRole:
        return device.capacityBytes;
    case WeightsRole:
        return ledger.weights;
    case ActivationsRole:
        return ledger.activations;
    case BuffersRole:
        return ledger.buffers;
    case StageTimeRole:
        return ledger.stageSeconds;
    case NodeCountRole:
        return ledger.nodes;
    case ProblemsRole:
        return ledger.problems;
    case ColourRole:
        return device.colour;
    case RateRole:
        return device.flopsPerSecond;
    case BottleneckRole: {
        // Only meaningful when the plan has more than one stage.
        int stages = 0;
        for (const auto &other : ledgers)
            stages += other.nodes > 0 ? 1 : 0;
        return stages > 1 && m_placement->report().bottleneckDevice == index.row();
    }
    default:
        return {};
    }
}

Qt::ItemFlags DeviceListModel::flags(const QModelIndex &index) const
{
    if (!index.isValid())
        return Qt::NoItemFlags;
    return Qt::ItemIsEnabled | Qt::ItemIsSelectable | Qt::ItemIsDropEnabled;
}

QStringList DeviceListModel::mimeTypes() const
{
    return {QString::fromLatin1(kNodeMimeType)};
}

Qt::DropActions DeviceListModel::supportedDropActions() const
{
    return Qt::CopyAction | Qt::MoveAction;
}

bool DeviceListModel::canDropMimeData(const QMimeData *data, Qt::DropAction, int row, int,
                                      const QModelIndex &parent) const
{
    const int device = parent.isValid() ? parent.row() : row;
    return data && data->hasFormat(kNodeMimeType) && device >= 0 && device < rowCount();
}

bool DeviceListModel::dropMimeData(const QMimeData *data, Qt::DropAction action, int row,
                                   int column, const QModelIndex &parent)
{
    if (!canDropMimeData(data, action, row, column, parent))
        return false;
    const int device = parent.isValid() ? parent.row() : row;
    const auto nodes = nodesFromMimeData(data);
    if (nodes.isEmpty())
        return false;
    m_placement->assignNodes(nodes, device);
    // Returning false keeps views from treating this as a move and removing
    // the dragged rows from the source.
    return false;
}

} // namespace sb::ui
