// Bookkeeping of accelerator devices that needs no accelerator: what the
// CUDA device (kernels/cuda) does with bytes and streams is decided here, in
// plain C++, so the host unit tests check it on machines without a GPU.
//
//  - DeviceMemoryLedger: the byte accounting of one device's memory pool. The
//    cap is the device's physical memory, or the plan's ledger figure for the
//    device plus a margin when a plan gave one; the pool's release threshold
//    (bytes kept cached between runs instead of being returned to the driver)
//    is the planned figure. Allocations that would pass the cap, and
//    allocations the driver refuses, become errors naming the device, the
//    bytes asked for and what the ledger planned, never a crash.
//  - StreamOrder: which cross-stream waits a consumer needs. Every stream
//    numbers the events it records; a tensor carries the (stream, sequence)
//    of the event recorded after its producer. A consumer on another stream
//    waits for that event unless it already waited for that event or a later
//    one of the same stream (events of one stream complete in order), or the
//    host has synchronised that stream since.
#pragma once

#include "core/common/result.h"

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace sb::runtime {

class DeviceMemoryLedger
{
public:
    // Allocation granularity of the stream-ordered allocator (bytes).
    static constexpr std::uint64_t kGranularity = 256;

    // physicalBytes: what the device reports; plannedBytes: the plan ledger's
    // peak for this device (0: no plan, cap at physical); marginFraction:
    // slack over the planned figure (allocator rounding, workspace).
    DeviceMemoryLedger(std::string deviceId, std::uint64_t physicalBytes,
                       std::uint64_t plannedBytes = 0, double marginFraction = 0.25);

    const std::string &deviceId() const { return m_deviceId; }
    std::uint64_t physicalBytes() const { return m_physical; }
    std::uint64_t plannedBytes() const { return m_planned; }
    std::uint64_t cap() const { return m_cap; }
    std::uint64_t releaseThreshold() const { return m_planned ? m_planned : 0; }

    static std::uint64_t rounded(std::uint64_t bytes);

    // Reserves the rounded bytes against the cap (before asking the driver).
    [[nodiscard]] Result<std::uint64_t> reserve(std::uint64_t bytes);
    // Returns a reservation (after a free, or when the driver refused).
    void release(std::uint64_t bytes);
    // The error for an allocation the driver refused (`driverMessage`: its text).
    Error outOfMemory(std::uint64_t bytes, const std::string &driverMessage) const;

    std::uint64_t usedBytes() const;
    std::uint64_t peakBytes() const;
    std::uint64_t allocations() const; // successful reservations

private:
    std::string describeLocked() const;

    std::string m_deviceId;
    std::uint64_t m_physical;
    std::uint64_t m_planned;
    std::uint64_t m_cap;
    mutable std::mutex m_mutex;
    std::uint64_t m_used = 0;
    std::uint64_t m_peak = 0;
    std::uint64_t m_allocations = 0;
};

// Event of a stream: sequence numbers start at 1; 0 means "no event".
struct StreamEvent
{
    int stream = -1;
    std::uint64_t sequence = 0;
    bool valid() const { return stream >= 0 && sequence > 0; }
};

class StreamOrder
{
public:
    explicit StreamOrder(int streams);
    int streams() const { return static_cast<int>(m_recorded.size()); }
    // Records the next event on `stream` (after work queued there).
    StreamEvent record(int stream);
    // True when `consumer` must wait for `event` before reading what it
    // guards; marks the wait as done (so later reads need none).
    bool needsWait(int consumer, const StreamEvent &event);
    // The host waited for everything queued on `stream` so far.
    void hostSynchronized(int stream);
    // Every event recorded on `event.stream` up to `event` is known complete.
    bool knownComplete(const StreamEvent &event) const;

private:
    std::vector<std::uint64_t> m_recorded;            // by stream: last sequence
    std::vector<std::uint64_t> m_synchronized;        // by stream: last host-synced sequence
    std::vector<std::vector<std::uint64_t>> m_waited; // [consumer][producer]: last waited
};

} // namespace sb::runtime
