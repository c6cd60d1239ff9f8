// The binary frame a TransportMessage travels in between processes (MPI
// ranks). Little-endian, version 2:
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
//                 8 data bytes D (= element count x element size),
//                 P zero bytes (0..63) so the data starts at a multiple of
//                 kFrameDataAlignment from the frame's first byte, D bytes
//
// The padding (new in version 2) lets a receiver whose frame buffer is
// 64-byte aligned hand out the tensors as views of that buffer instead of
// copying them (decodeFrame with an owner).
// Contract: decodeFrame checks every length against the bytes at hand and
// the limit before reading or allocating, and fails with InvalidInput naming
// what is wrong and where (offset, tensor name); it never reads past the end.
#pragma once

#include "core/common/result.h"
#include "core/runtime/pipeline_transport.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace sb::runtime {

inline constexpr std::uint16_t kFrameVersion = 2;
inline constexpr std::size_t kFrameDataAlignment = 64; // as Tensor::empty allocates
// Largest frame accepted (both ways) unless the caller gives another limit.
inline constexpr std::uint64_t kMaxFrameBytes = std::uint64_t(4) << 30; // 4 GiB

Result<std::vector<std::uint8_t>> encodeFrame(const TransportMessage &message,
                                              std::uint64_t maxBytes = kMaxFrameBytes);
// Tensors are copies, independent of `data`.
Result<TransportMessage> decodeFrame(const std::uint8_t *data, std::size_t size,
                                     std::uint64_t maxBytes = kMaxFrameBytes);
// The same checks; tensors whose data in `frame` is kFrameDataAlignment-aligned
// (all of them when `frame` is) are views of it that keep `frame` alive, the
// others copies. The caller must not change the frame's bytes afterwards.
Result<TransportMessage> decodeFrame(std::shared_ptr<std::uint8_t> frame, std::size_t size,
                                     std::uint64_t maxBytes = kMaxFrameBytes);

} // namespace sb::runtime
