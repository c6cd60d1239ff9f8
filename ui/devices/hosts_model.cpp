#include "ui/devices/hosts_model.h"

#include <QRegularExpression>

namespace sb::ui {

HostsModel::HostsModel(QObject *parent) : QAbstractListModel(parent) {}

HostsModel::~HostsModel() = default; // m_tasks cancels a running probe

QString HostsModel::addParsed(const std::vector<plan::HostSlots> &hosts)
{
    QVector<Host> added;
    for (const plan::HostSlots &host : hosts) {
        const QString name = QString::fromStdString(host.host);
        bool known = false;
        for (const Host &existing : m_hosts)
            known = known || existing.name == name;
        for (const Host &existing : added)
            known = known || existing.name == name;
        if (!known)
            added.push_back(Host{name, host.slotCount, QStringLiteral("new"), {}, {}});
    }
    if (added.isEmpty())
        return {};
    beginInsertRows({}, int(m_hosts.size()), int(m_hosts.size() + added.size() - 1));
    m_hosts += added;
    endInsertRows();
    return {};
}

QString HostsModel::addHosts(const QString &text)
{
    QString joined = text.trimmed();
    joined.replace(QRegularExpression(QStringLiteral("[\\s,]+")), QStringLiteral(","));
    auto hosts = plan::parseHostList(joined.toStdString());
    if (!hosts)
        return QString::fromStdString(hosts.error().message);
    return addParsed(*hosts);
}

QString HostsModel::addHostfile(const QString &path)
{
    auto hosts = plan::readHostfile(path.toStdString());
    if (!hosts)
        return QString::fromStdString(hosts.error().message);
    return addParsed(*hosts);
}

bool HostsModel::removeHost(int row)
{
    if (row < 0 || row >= m_hosts.size() || m_probing)
        return false;
    beginRemoveRows({}, row, row);
    m_hosts.removeAt(row);
    endRemoveRows();
    return true;
}

void HostsModel::probe()
{
    if (m_probing)
        return;
    std::vector<plan::HostSlots> hosts;
    QStringList names;
    for (int row = 0; row < m_hosts.size(); ++row) {
        Host &host = m_hosts[row];
        if (host.state == QLatin1String("probed"))
            continue;
        host.state = QStringLiteral("probing");
        host.error.clear();
        hosts.push_back({host.name.toStdString(), host.slotCount});
        names << host.name;
        emit dataChanged(index(row), index(row));
    }
    if (hosts.empty())
        return;
    m_probing = true;
    const std::string worker = m_worker.toStdString();
    const int cpuDevices = m_cpuDevices;
    using Probes = std::vector<plan::HostProbe>;
    m_tasks.start<Probes>(
        tr("Probing hosts"),
        [hosts, worker, cpuDevices](const ProgressFn &, const CancelToken &cancel) {
            return plan::probeHosts(hosts, worker, cpuDevices, {}, &cancel);
        },
        this, [this, names](Result<Probes> result) { finishProbe(names, result); });
}

void HostsModel::finishProbe(const QStringList &names,
                             const Result<std::vector<plan::HostProbe>> &result)
{
    m_probing = false;
    for (int row = 0; row < m_hosts.size(); ++row) {
        Host &host = m_hosts[row];
        if (!names.contains(host.name))
            continue;
        host.devices.clear();
        if (!result) {
            host.state = QStringLiteral("failed");
            host.error = QString::fromStdString(result.error().message);
        } else {
            host.state = QStringLiteral("probed");
            for (const plan::HostProbe &probe : *result) {
                if (QString::fromStdString(probe.host) != host.name)
                    continue;
                for (const plan::DeviceSpec &spec : probe.devices) {
                    DeviceInfo device = deviceInfoFromSpec(spec, DeviceInfo::Origin::Remote);
                    device.host = host.name;
                    host.devices.push_back(device);
                }
            }
        }
        emit dataChanged(index(row), index(row));
    }
    if (!result) {
        emit probeFailed(QString::fromStdString(result.error().message));
        return;
    }
    emit probed(devices());
}

QVector<DeviceInfo> HostsModel::devices() const
{
    QVector<DeviceInfo> all;
    for (const Host &host : m_hosts)
        all += host.devices;
    return all;
}

int HostsModel::rowCount(const QModelIndex &parent) const
{
    return parent.isValid() ? 0 : int(m_hosts.size());
}

QVariant HostsModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() >= m_hosts.size())
        return {};
    const Host &host = m_hosts[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        if (host.state == QLatin1String("probed"))
            return tr("%1 (%n device(s))", nullptr, int(host.devices.size())).arg(host.name);
        if (host.state == QLatin1String("failed"))
            return tr("%1: %2").arg(host.name, host.error);
        return tr("%1 (%2)").arg(host.name, host.state);
    case Qt::ToolTipRole:
        return host.error.isEmpty() ? tr("%1, %n slot(s)", nullptr, host.slotCount).arg(host.name)
                                    : host.error;
    case HostRole:
        return host.name;
    case SlotsRole:
        return host.slotCount;
    case StateRole:
        return host.state;
    case DeviceCountRole:
        return int(host.devices.size());
    case ErrorRole:
        return host.error;
    default:
        return {};
    }
}

} // namespace sb::ui
