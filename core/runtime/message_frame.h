// The binary frame a TransportMessage travels in between processes (MPI
// ranks). Little-endian, version 1:
//
//   offset size
//   0      4    magic "SBTM"
//   4      2    version (1)
//   6      1    kind (0 data, 1 metrics, 2 error)
//   7      1    reserved (0)
//   8      8    total frame bytes (header included)
//   16     4    micro-batch (int32)
//   20     4    text bytes T, then T bytes of UTF-8 text (metrics JSON, error)
//   ..     4    tensor count N, then N tensors:
//                 2 name bytes L, L bytes of name (the value name),
//                 1 dtype (graph::ElementType; not undefined or string),
//                 1 rank R (<= 8), R x int64 dims (>= 0),
//                 8 data bytes D (= element count x element size), D bytes
//
// Contract: decodeFrame checks every length against the bytes at hand and
// the limit before reading or allocating, and fails with InvalidInput naming
// what is wrong and where (offset, tensor name); it never reads past the end.
#pragma once

#include "core/common/result.h"
#include "core/runtime/pipeline_transport.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace sb::runtime {

inline constexpr std::uint16_t kFrameVersion = 1;
// Largest frame accepted (both ways) unless the caller gives another limit.
inline constexpr std::uint64_t kMaxFrameBytes = std::uint64_t(4) << 30; // 4 GiB

Result<std::vector<std::uint8_t>> encodeFrame(const TransportMessage &message,
                                              std::uint64_t maxBytes = kMaxFrameBytes);
Result<TransportMessage> decodeFrame(const std::uint8_t *data, std::size_t size,
                                     std::uint64_t maxBytes = kMaxFrameBytes);

} // namespace sb::runtime
