#include "core/runtime/device_ledger.h"

#include <algorithm>
#include <cstdio>

namespace sb::runtime {

namespace {

std::string mib(std::uint64_t bytes)
{
    const double value = static_cast<double>(bytes) / (1024.0 * 1024.0);
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.1f MiB", value);
    return buffer;
}

} // namespace

DeviceMemoryLedger::DeviceMemoryLedger(std::string deviceId, std::uint64_t physicalBytes,
                                       std::uint64_t plannedBytes, double marginFraction)
    : m_deviceId(std::move(deviceId)), m_physical(physicalBytes), m_planned(plannedBytes)
{
    m_cap = physicalBytes;
    if (plannedBytes) {
        const double margin = std::max(0.0, marginFraction) * static_cast<double>(plannedBytes);
        const std::uint64_t withMargin = plannedBytes + static_cast<std::uint64_t>(margin);
        m_cap = physicalBytes ? std::min(physicalBytes, withMargin) : withMargin;
    }
}

std::uint64_t DeviceMemoryLedger::rounded(std::uint64_t bytes)
{
    return ((bytes ? bytes : 1) + kGranularity - 1) / kGranularity * kGranularity;
}

std::string DeviceMemoryLedger::describeLocked() const
{
    std::string text = "the plan's ledger ";
    text += m_planned ? "planned " + mib(m_planned) + " for it" : "gave no figure for it";
    text += "; cap " + mib(m_cap) + ", " + mib(m_used) + " in use, peak " + mib(m_peak);
    return text;
}

Result<std::uint64_t> DeviceMemoryLedger::reserve(std::uint64_t bytes)
{
    const std::uint64_t size = rounded(bytes);
    std::lock_guard lock(m_mutex);
    if (m_cap && m_used + size > m_cap)
        return makeError(ErrorCode::Runtime, "device " + m_deviceId + ": allocating " + mib(size) +
                                                 " would exceed its memory cap (" +
                                                 describeLocked() + ")");
    m_used += size;
    m_peak = std::max(m_peak, m_used);
    ++m_allocations;
    return size;
}

void DeviceMemoryLedger::release(std::uint64_t bytes)
{
    const std::uint64_t size = rounded(bytes);
    std::lock_guard lock(m_mutex);
    m_used = size > m_used ? 0 : m_used - size;
}

Error DeviceMemoryLedger::outOfMemory(std::uint64_t bytes, const std::string &driverMessage) const
{
    std::lock_guard lock(m_mutex);
    return makeError(ErrorCode::Runtime, "device " + m_deviceId + ": out of memory allocating " +
                                             mib(rounded(bytes)) + " (" + driverMessage + "; " +
                                             describeLocked() + ")");
}

std::uint64_t DeviceMemoryLedger::usedBytes() const
{
    std::lock_guard lock(m_mutex);
    return m_used;
}

std::uint64_t DeviceMemoryLedger::peakBytes() const
{
    std::lock_guard lock(m_mutex);
    return m_peak;
}

std::uint64_t DeviceMemoryLedger::allocations() const
{
    std::lock_guard lock(m_mutex);
    return m_allocations;
}

StreamOrder::StreamOrder(int streams)
    : m_recorded(static_cast<std::size_t>(std::max(0, streams)), 0),
      m_synchronized(m_recorded.size(), 0),
      m_waited(m_recorded.size(), std::vector<std::uint64_t>(m_recorded.size(), 0))
{}

StreamEvent StreamOrder::record(int stream)
{
    if (stream < 0 || stream >= streams())
        return {};
    return StreamEvent{stream, ++m_recorded[static_cast<std::size_t>(stream)]};
}

bool StreamOrder::knownComplete(const StreamEvent &event) const
{
    if (!event.valid() || event.stream >= streams())
        return true;
    return m_synchronized[static_cast<std::size_t>(event.stream)] >= event.sequence;
}

bool StreamOrder::needsWait(int consumer, const StreamEvent &event)
{
    if (!event.valid() || consumer < 0 || consumer >= streams() || event.stream >= streams())
        return false;
    if (event.stream == consumer || knownComplete(event))
        return false; // same stream: queue order; synced: already done
    std::uint64_t &waited =
        m_waited[static_cast<std::size_t>(consumer)][static_cast<std::size_t>(event.stream)];
    if (waited >= event.sequence)
        return false;
    waited = event.sequence;
    return true;
}

void StreamOrder::hostSynchronized(int stream)
{
    if (stream < 0 || stream >= streams())
        return;
    m_synchronized[static_cast<std::size_t>(stream)] = m_recorded[static_cast<std::size_t>(stream)];
}

} // namespace sb::runtime
