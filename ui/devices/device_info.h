// What the GUI knows about a device a plan can use: local devices of this
// machine, what-if devices from the catalogue, and (later) remote MPI hosts.
#pragma once

#include <QColor>
#include <QString>
#include <QVector>

namespace sb::ui {

struct DeviceInfo
{
    enum class Origin { Local, Catalogue, Remote };

    QString id;    // "cpu:0", "cuda:1", "A100-80GB:0"; remote: "HOST/cuda:0"
    QString name;  // shown to the user
    QString kind;  // "cpu", "cuda", or the catalogue's kind
    Origin origin = Origin::Local;
    QString host;               // empty for this machine (room for MPI hosts)
    quint64 capacityBytes = 0;  // memory the plan may use
    double flopsPerSecond = 0;  // 0 = not measured/catalogued yet
    double memoryBandwidth = 0; // bytes/s, 0 = unknown
    double hourlyPrice = 0;     // catalogue only
    QColor colour;
};

// A distinct colour per device index, readable on light and dark palettes.
QColor deviceColour(int index);

// This machine's CPU cores split into `count` devices, each capped at an equal
// share of physical memory. Rates stay 0 until measured (Calibrate).
QVector<DeviceInfo> discoverLocalCpuDevices(int count);

QString formatBytes(double bytes);
QString formatFlops(double flops);
QString formatSeconds(double seconds);

} // namespace sb::ui
