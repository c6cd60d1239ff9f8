#include "ui/devices/device_info.h"

#include <QObject>

#include <cmath>
#include <map>

namespace sb::ui {

QColor deviceColour(int index)
{
    // Tableau-like qualitative palette: distinct hues, medium lightness.
    static const QColor colours[] = {QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b),
                                     QColor(0x59, 0xa1, 0x4f), QColor(0xb0, 0x7a, 0xa1),
                                     QColor(0x76, 0xb7, 0xb2), QColor(0xed, 0xc9, 0x48),
                                     QColor(0xe1, 0x57, 0x59), QColor(0x9c, 0x75, 0x5f),
                                     QColor(0xff, 0x9d, 0xa7), QColor(0xba, 0xb0, 0xac)};
    const int n = int(std::size(colours));
    return colours[((index % n) + n) % n];
}

QVector<DeviceInfo> discoverLocalCpuDevices(int count)
{
    QVector<DeviceInfo> devices;
    plan::LocalDeviceOptions options;
    options.cpuDevices = std::max(1, count);
    auto discovered = plan::discoverLocalDevices(options);
    if (!discovered.ok())
        return devices;
    for (const auto &spec : discovered->devices) {
        DeviceInfo device = deviceInfoFromSpec(spec, DeviceInfo::Origin::Local);
        device.colour = deviceColour(int(devices.size()));
        devices.push_back(device);
    }
    return devices;
}

DeviceInfo deviceInfoFromSpec(const plan::DeviceSpec &spec, DeviceInfo::Origin origin)
{
    DeviceInfo device;
    device.id = QString::fromStdString(spec.id);
    device.name = QString::fromStdString(spec.name);
    device.kind = QString::fromStdString(spec.kind);
    device.origin = origin;
    device.capacityBytes = spec.memoryBytes;
    device.flopsPerSecond = spec.flops;
    device.flopsFp16 = spec.flopsFp16;
    device.memoryBandwidth = spec.memoryBandwidth;
    device.hourlyPrice = spec.pricePerHour;
    device.threads = spec.threads;
    device.source = QString::fromStdString(spec.source);
    return device;
}

plan::DeviceSpec specFromDeviceInfo(const DeviceInfo &device)
{
    plan::DeviceSpec spec;
    spec.id = device.id.toStdString();
    spec.kind = device.kind.toStdString();
    spec.name = device.name.toStdString();
    spec.memoryBytes = device.capacityBytes;
    spec.flops = device.flopsPerSecond;
    spec.flopsFp16 = device.flopsFp16;
    spec.memoryBandwidth = device.memoryBandwidth;
    spec.pricePerHour = device.hourlyPrice;
    spec.threads = device.threads;
    spec.source = device.source.toStdString();
    return spec;
}

QVector<DeviceInfo> catalogueDevices(const QString &name, int count, int firstIndex)
{
    // The same devices `shardbench-cli plan --devices catalog:NAME*N` uses
    // (core's figures and source text); ids continue at `firstIndex`.
    QVector<DeviceInfo> devices;
    auto catalog = plan::loadCatalog();
    if (!catalog.ok() || count < 1 || firstIndex < 0)
        return devices;
    auto set = plan::parseDeviceList(
        "catalog:" + name.toStdString() + "*" + std::to_string(firstIndex + count), {}, *catalog);
    if (!set.ok())
        return devices;
    for (std::size_t i = std::size_t(firstIndex); i < set->devices.size(); ++i)
        devices.push_back(deviceInfoFromSpec(set->devices[i], DeviceInfo::Origin::Catalogue));
    return devices;
}

std::vector<plan::LinkSpec> catalogueLinks(const QVector<DeviceInfo> &devices)
{
    bool anyCatalogue = false;
    for (const DeviceInfo &device : devices)
        anyCatalogue = anyCatalogue || device.origin == DeviceInfo::Origin::Catalogue;
    if (!anyCatalogue)
        return {};
    auto catalog = plan::loadCatalog();
    if (!catalog.ok())
        return {};
    // Core numbers catalogue devices itself; device i of its set is devices[i].
    plan::DeviceSet others;
    std::string spec;
    for (const DeviceInfo &device : devices) {
        if (!spec.empty())
            spec += ",";
        if (device.origin == DeviceInfo::Origin::Catalogue) {
            spec += "catalog:" + device.id.section(QLatin1Char(':'), 0, -2).toStdString();
        } else {
            others.devices.push_back(specFromDeviceInfo(device));
            spec += device.id.toStdString();
        }
    }
    auto set = plan::parseDeviceList(spec, others, *catalog);
    if (!set.ok() || set->devices.size() != std::size_t(devices.size()))
        return {};
    std::map<std::string, std::string> guiId;
    for (std::size_t i = 0; i < set->devices.size(); ++i)
        guiId[set->devices[i].id] = devices[int(i)].id.toStdString();
    std::vector<plan::LinkSpec> links = set->links;
    for (plan::LinkSpec &link : links) {
        link.from = guiId[link.from];
        link.to = guiId[link.to];
    }
    return links;
}

QStringList catalogueNames()
{
    QStringList names;
    auto catalog = plan::loadCatalog();
    if (catalog.ok())
        for (const auto &device : catalog->devices)
            names << QString::fromStdString(device.name);
    return names;
}

QString formatBytes(double bytes)
{
    static const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int unit = 0;
    while (std::abs(bytes) >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    return unit == 0
               ? QStringLiteral("%1 B").arg(qint64(bytes))
               : QStringLiteral("%1 %2").arg(bytes, 0, 'f', bytes < 10 ? 2 : 1).arg(units[unit]);
}

QString formatFlops(double flops)
{
    static const char *units[] = {"", "K", "M", "G", "T", "P"};
    int unit = 0;
    while (std::abs(flops) >= 1000.0 && unit < 5) {
        flops /= 1000.0;
        ++unit;
    }
    return QStringLiteral("%1 %2FLOP").arg(flops, 0, 'f', unit == 0 ? 0 : 2).arg(units[unit]);
}

QString formatSeconds(double seconds)
{
    if (seconds < 0)
        return QStringLiteral("—");
    if (seconds < 1e-3)
        return QStringLiteral("%1 µs").arg(seconds * 1e6, 0, 'f', 1);
    if (seconds < 1.0)
        return QStringLiteral("%1 ms").arg(seconds * 1e3, 0, 'f', 2);
    return QStringLiteral("%1 s").arg(seconds, 0, 'f', 2);
}

} // namespace sb::ui
