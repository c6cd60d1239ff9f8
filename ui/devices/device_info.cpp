#include "ui/devices/device_info.h"

#include <QObject>
#include <QThread>

#include <cmath>
#include <unistd.h>

namespace sb::ui {

QColor deviceColour(int index)
{
    // Tableau-like qualitative palette: distinct hues, medium lightness.
    static const QColor colours[] = {
        QColor(0x4e, 0x79, 0xa7), QColor(0xf2, 0x8e, 0x2b), QColor(0x59, 0xa1, 0x4f),
        QColor(0xb0, 0x7a, 0xa1), QColor(0x76, 0xb7, 0xb2), QColor(0xed, 0xc9, 0x48),
        QColor(0xe1, 0x57, 0x59), QColor(0x9c, 0x75, 0x5f), QColor(0xff, 0x9d, 0xa7),
        QColor(0xba, 0xb0, 0xac)};
    const int n = int(std::size(colours));
    return colours[((index % n) + n) % n];
}

QVector<DeviceInfo> discoverLocalCpuDevices(int count)
{
    QVector<DeviceInfo> devices;
    count = std::max(1, count);
    const long pages = sysconf(_SC_PHYS_PAGES);
    const long pageSize = sysconf(_SC_PAGE_SIZE);
    const quint64 memory = pages > 0 && pageSize > 0 ? quint64(pages) * quint64(pageSize) : 0;
    const int cores = std::max(1, QThread::idealThreadCount());
    for (int i = 0; i < count; ++i) {
        DeviceInfo device;
        device.id = QStringLiteral("cpu:%1").arg(i);
        const int share = std::max(1, cores / count);
        device.name = QObject::tr("CPU %1 (%2 core%3)").arg(i).arg(share).arg(share == 1 ? "" : "s");
        device.kind = QStringLiteral("cpu");
        device.capacityBytes = memory / quint64(count);
        device.colour = deviceColour(i);
        devices.push_back(device);
    }
    return devices;
}

QString formatBytes(double bytes)
{
    static const char *units[] = {"B", "KB", "MB", "GB", "TB"};
    int unit = 0;
    while (std::abs(bytes) >= 1024.0 && unit < 4) {
        bytes /= 1024.0;
        ++unit;
    }
    return unit == 0 ? QStringLiteral("%1 B").arg(qint64(bytes))
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
