// The binary frame a TransportMessage travels in between processes (MPI
// ranks). Little-endian, version 3:
//
//   offset size
//   0      4    magic "SBTM"
//   4      2    version (3)
//   6      1    kind (0 data, 1 metrics, 2 error)
//   7      1    flags: 0 a whole frame, 1 (kFrameSplitData) a split header
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
// A split header (new in version 3) is the same frame with flag 1 and, for
// every tensor, neither padding nor data bytes (D still says how many follow):
// the data travel as separate messages, one per tensor with D > 0, in the
// frame's tensor order (value names sorted), so that a sender hands MPI each
// tensor's own memory instead of first copying it into a frame (the driver's
// rank receives 8 MiB of logits per demo-decoder run).
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

inline constexpr std::uint16_t kFrameVersion = 3;
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

inline constexpr std::uint8_t kFrameSplitData = 1;

// A message as a split header plus the tensors' data, which stay where they
// are: `data[i]` is the i-th tensor with data in frame order. The pointers are
// the message's tensors' own; they live as long as those tensors.
struct SplitFrame
{
    std::vector<std::uint8_t> header;
    struct Piece
    {
        const void *bytes = nullptr;
        std::size_t size = 0;
    };
    std::vector<Piece> data;
};
// The limit applies to the whole frame the message would be (as encodeFrame).
Result<SplitFrame> encodeSplitFrame(const TransportMessage &message,
                                    std::uint64_t maxBytes = kMaxFrameBytes);
// Checks a split header as decodeFrame checks a frame (and the limit against
// header plus data). Its tensors are allocated, 64-byte aligned and
// uninitialised; the caller receives each one's data (in map order, those with
// byteSize() > 0) into data() before using the message.
Result<TransportMessage> decodeSplitHeader(const std::uint8_t *data, std::size_t size,
                                           std::uint64_t maxBytes = kMaxFrameBytes);

} // namespace sb::runtime
