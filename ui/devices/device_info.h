// What the GUI knows about a device a plan can use: local devices of this
// machine, what-if devices from the catalogue, and (later) remote MPI hosts.
#pragma once

#include "core/plan/devices.h"

#include <QColor>
#include <QString>
#include <QStringList>
#include <QVector>

#include <vector>

namespace sb::ui {

struct DeviceInfo
{
    enum class Origin
    {
        Local,
        Catalogue,
        Remote
    };

    QString id;   // "cpu:0", "cuda:1", "A100-80GB:0"; remote: "HOST/cuda:0"
    QString name; // shown to the user
    QString kind; // "cpu", "cuda", or the catalogue's kind
    Origin origin = Origin::Local;
    QString host;               // empty for this machine (room for MPI hosts)
    quint64 capacityBytes = 0;  // memory the plan may use
    double flopsPerSecond = 0;  // float32; 0 = not measured/catalogued yet
    double flopsFp16 = 0;       // float16 FLOP/s from the catalogue; 0 = unknown
    double memoryBandwidth = 0; // bytes/s, 0 = unknown
    double hourlyPrice = 0;     // catalogue only
    int threads = 0;            // CPU devices: threads of its pool
    QString source;             // where the figures come from (calibrated, catalogue, default)
    QColor colour;
};

// A distinct colour per device index, readable on light and dark palettes.
QColor deviceColour(int index);

// This machine's devices through core/plan's discovery: CPU cores split into
// `count` devices (equal memory share each), rates from the calibration file
// or the documented per-core default; CUDA devices when built with CUDA.
QVector<DeviceInfo> discoverLocalCpuDevices(int count);

DeviceInfo deviceInfoFromSpec(const plan::DeviceSpec &spec, DeviceInfo::Origin origin);
plan::DeviceSpec specFromDeviceInfo(const DeviceInfo &device);
// `count` what-if devices of catalogue model `name` (resources/devices.json),
// ids "NAME:firstIndex".."NAME:firstIndex+count-1"; empty when unknown.
QVector<DeviceInfo> catalogueDevices(const QString &name, int count, int firstIndex);
QStringList catalogueNames();
// The catalogue's links between these devices, as `shardbench-cli plan
// --devices` builds them: devices of one catalogue model by its peer link
// (NVLink), a catalogue device and any other by the slower host link (PCIe);
// none between local devices (they use the default link). Empty when the
// catalogue cannot be read.
std::vector<plan::LinkSpec> catalogueLinks(const QVector<DeviceInfo> &devices);

QString formatBytes(double bytes);
QString formatFlops(double flops);
QString formatSeconds(double seconds);

} // namespace sb::ui
