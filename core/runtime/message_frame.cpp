#include "core/runtime/message_frame.h"

#include <cstring>

namespace sb::runtime {

namespace {

constexpr char kMagic[4] = {'S', 'B', 'T', 'M'};
constexpr std::size_t kHeaderBytes = 24; // magic .. text length
constexpr int kMaxRank = 8;

template <typename T> void put(std::vector<std::uint8_t> &out, T value)
{
    static_assert(std::is_trivially_copyable_v<T>);
    const auto *bytes = reinterpret_cast<const std::uint8_t *>(&value);
    out.insert(out.end(), bytes, bytes + sizeof(T)); // little-endian hosts only (x86-64, arm64)
}

class Reader
{
public:
    Reader(const std::uint8_t *data, std::size_t size) : m_data(data), m_size(size) {}
    std::size_t offset() const { return m_offset; }
    std::size_t left() const { return m_size - m_offset; }

    template <typename T> Result<T> get(const char *what)
    {
        if (left() < sizeof(T))
            return truncated(what, sizeof(T));
        T value;
        std::memcpy(&value, m_data + m_offset, sizeof(T));
        m_offset += sizeof(T);
        return value;
    }
    Result<const std::uint8_t *> bytes(std::size_t count, const std::string &what)
    {
        if (left() < count)
            return truncated(what, count);
        const std::uint8_t *at = m_data + m_offset;
        m_offset += count;
        return at;
    }
    Error truncated(const std::string &what, std::size_t need) const
    {
        return makeError(ErrorCode::InvalidInput,
                         "bad frame: truncated at byte " + std::to_string(m_offset) + ": " + what +
                             " needs " + std::to_string(need) + " bytes, " +
                             std::to_string(left()) + " left");
    }

private:
    const std::uint8_t *m_data;
    std::size_t m_size;
    std::size_t m_offset = 0;
};

Error bad(const std::string &message)
{
    return makeError(ErrorCode::InvalidInput, "bad frame: " + message);
}

// Zero bytes before tensor data at `offset` (from the frame's first byte).
std::size_t paddingAt(std::uint64_t offset)
{
    return static_cast<std::size_t>((kFrameDataAlignment - offset % kFrameDataAlignment) %
                                    kFrameDataAlignment);
}

} // namespace

namespace {

// The frame (split: the split header, with each tensor's data appended to
// `pieces` instead).
Result<std::vector<std::uint8_t>> encode(const TransportMessage &message, std::uint64_t maxBytes,
                                         std::vector<SplitFrame::Piece> *pieces)
{
    const bool split = pieces != nullptr;
    std::uint64_t total = kHeaderBytes + message.text.size() + 4;
    std::uint64_t headerOnly = total; // the split header's length
    for (const auto &[name, tensor] : message.tensors) {
        if (name.size() > 0xffff)
            return bad("value name of " + std::to_string(name.size()) + " bytes is too long");
        if (!tensor.isTensor())
            return makeError(ErrorCode::Unsupported,
                             "value '" + name + "' is a " + graph::valueKindName(tensor.kind()) +
                                 ", which frames do not carry (keep the sequence's producer "
                                 "and consumers on one rank)");
        if (tensor.rank() > kMaxRank)
            return bad("tensor '" + name + "' has rank " + std::to_string(tensor.rank()) +
                       " (at most " + std::to_string(kMaxRank) + ")");
        if (graph::elementSize(tensor.type()) == 0)
            return bad("tensor '" + name + "' has dtype " + graph::elementTypeName(tensor.type()) +
                       ", which frames do not carry");
        if (!tensor.isHost())
            return bad("tensor '" + name + "' is on " + tensor.deviceId() +
                       "; copy it to the host first");
        const std::uint64_t described = 2 + name.size() + 2 + 8 * tensor.rank() + 8;
        total += described;
        total += paddingAt(total) + tensor.byteSize();
        headerOnly += described;
    }
    if (message.text.size() > 0xffffffffu || message.tensors.size() > 0xffffffffu)
        return bad("message too large");
    if (total > maxBytes)
        return makeError(ErrorCode::InvalidInput,
                         "message of micro-batch " + std::to_string(message.microbatch) +
                             " needs " + std::to_string(total) +
                             " bytes, more than the frame limit of " + std::to_string(maxBytes));
    if (split)
        total = headerOnly;
    std::vector<std::uint8_t> out;
    out.reserve(static_cast<std::size_t>(total));
    out.insert(out.end(), kMagic, kMagic + 4);
    put<std::uint16_t>(out, kFrameVersion);
    put<std::uint8_t>(out, static_cast<std::uint8_t>(message.kind));
    put<std::uint8_t>(out, split ? kFrameSplitData : 0);
    put<std::uint64_t>(out, total);
    put<std::int32_t>(out, message.microbatch);
    put<std::uint32_t>(out, static_cast<std::uint32_t>(message.text.size()));
    out.insert(out.end(), message.text.begin(), message.text.end());
    put<std::uint32_t>(out, static_cast<std::uint32_t>(message.tensors.size()));
    for (const auto &[name, tensor] : message.tensors) {
        put<std::uint16_t>(out, static_cast<std::uint16_t>(name.size()));
        out.insert(out.end(), name.begin(), name.end());
        put<std::uint8_t>(out, static_cast<std::uint8_t>(tensor.type()));
        put<std::uint8_t>(out, static_cast<std::uint8_t>(tensor.rank()));
        for (std::int64_t dim : tensor.shape())
            put<std::int64_t>(out, dim);
        put<std::uint64_t>(out, tensor.byteSize());
        if (split) {
            if (tensor.byteSize())
                pieces->push_back({tensor.data(), static_cast<std::size_t>(tensor.byteSize())});
            continue;
        }
        out.insert(out.end(), paddingAt(out.size()), std::uint8_t(0));
        const auto *bytes = static_cast<const std::uint8_t *>(tensor.data());
        out.insert(out.end(), bytes, bytes + tensor.byteSize());
    }
    return out;
}

} // namespace

Result<std::vector<std::uint8_t>> encodeFrame(const TransportMessage &message,
                                              std::uint64_t maxBytes)
{
    return encode(message, maxBytes, nullptr);
}

Result<SplitFrame> encodeSplitFrame(const TransportMessage &message, std::uint64_t maxBytes)
{
    SplitFrame frame;
    SB_ASSIGN_OR_RETURN(frame.header, encode(message, maxBytes, &frame.data));
    return frame;
}

namespace {

// `owner` (may be null) holds `data`: aligned tensors become views of it.
// `split`: `data` must be a split header, whose tensors are allocated empty.
Result<TransportMessage> decode(const std::uint8_t *data, std::size_t size,
                                const std::shared_ptr<std::uint8_t> &owner, std::uint64_t maxBytes,
                                bool split)
{
    if (size < kHeaderBytes)
        return bad("truncated header: " + std::to_string(size) + " bytes, a header needs " +
                   std::to_string(kHeaderBytes));
    if (std::memcmp(data, kMagic, 4) != 0)
        return bad("no SBTM magic at byte 0 (not a Shardbench transport frame)");
    Reader in(data, size);
    SB_TRY(in.bytes(4, "magic"));
    SB_ASSIGN_OR_RETURN(auto version, in.get<std::uint16_t>("version"));
    if (version != kFrameVersion)
        return bad("version " + std::to_string(version) + " (this build reads version " +
                   std::to_string(kFrameVersion) + ")");
    SB_ASSIGN_OR_RETURN(auto kind, in.get<std::uint8_t>("kind"));
    if (kind > static_cast<std::uint8_t>(TransportMessage::Kind::Error))
        return bad("unknown message kind " + std::to_string(kind));
    SB_ASSIGN_OR_RETURN(auto flags, in.get<std::uint8_t>("flags"));
    if (flags > kFrameSplitData)
        return bad("unknown flags " + std::to_string(flags));
    if ((flags == kFrameSplitData) != split)
        return bad(split ? "a whole frame where a split header was expected"
                         : "a split header (its tensors' data travel separately) where a whole "
                           "frame was expected");
    SB_ASSIGN_OR_RETURN(auto total, in.get<std::uint64_t>("total length"));
    if (total > maxBytes)
        return bad("frame of " + std::to_string(total) + " bytes exceeds the limit of " +
                   std::to_string(maxBytes));
    if (total != size)
        return bad("header says " + std::to_string(total) + " bytes, " + std::to_string(size) +
                   " arrived (truncated or padded)");
    TransportMessage message;
    message.kind = static_cast<TransportMessage::Kind>(kind);
    SB_ASSIGN_OR_RETURN(message.microbatch, in.get<std::int32_t>("micro-batch"));
    SB_ASSIGN_OR_RETURN(auto textBytes, in.get<std::uint32_t>("text length"));
    SB_ASSIGN_OR_RETURN(const std::uint8_t *text, in.bytes(textBytes, "text"));
    message.text.assign(reinterpret_cast<const char *>(text), textBytes);
    SB_ASSIGN_OR_RETURN(auto count, in.get<std::uint32_t>("tensor count"));
    std::uint64_t splitDataBytes = 0; // split: the data bytes that follow
    for (std::uint32_t t = 0; t < count; ++t) {
        const std::string which = "tensor " + std::to_string(t);
        SB_ASSIGN_OR_RETURN(auto nameBytes,
                            in.get<std::uint16_t>((which + " name length").c_str()));
        SB_ASSIGN_OR_RETURN(const std::uint8_t *nameData, in.bytes(nameBytes, which + " name"));
        std::string name(reinterpret_cast<const char *>(nameData), nameBytes);
        const std::string where = "tensor '" + name + "' at byte " + std::to_string(in.offset());
        SB_ASSIGN_OR_RETURN(auto dtype, in.get<std::uint8_t>("dtype"));
        const auto type = static_cast<graph::ElementType>(dtype);
        if (dtype > static_cast<std::uint8_t>(graph::ElementType::BFloat16) ||
            graph::elementSize(type) == 0)
            return bad(where + ": dtype code " + std::to_string(dtype) + " is not a numeric type");
        SB_ASSIGN_OR_RETURN(auto rank, in.get<std::uint8_t>("rank"));
        if (rank > kMaxRank)
            return bad(where + ": rank " + std::to_string(rank) + " (at most " +
                       std::to_string(kMaxRank) + ")");
        Shape shape;
        std::uint64_t elements = 1;
        for (int d = 0; d < rank; ++d) {
            SB_ASSIGN_OR_RETURN(auto dim, in.get<std::int64_t>("dim"));
            if (dim < 0)
                return bad(where + ": negative dim " + std::to_string(dim));
            // A split header's data follow it: bounded by the limit instead.
            const std::uint64_t room = split ? maxBytes : total;
            if (dim > 0 && elements > room / static_cast<std::uint64_t>(dim))
                return bad(where + ": shape larger than the frame");
            elements *= static_cast<std::uint64_t>(dim);
            shape.push_back(dim);
        }
        SB_ASSIGN_OR_RETURN(auto dataBytes, in.get<std::uint64_t>("data length"));
        if (dataBytes != elements * graph::elementSize(type))
            return bad(where + ": " + std::to_string(dataBytes) + " data bytes for shape " +
                       shapeToString(shape) + " of " + graph::elementTypeName(type) + " (needs " +
                       std::to_string(elements * graph::elementSize(type)) + ")");
        if (split) {
            splitDataBytes += dataBytes;
            if (splitDataBytes > maxBytes - total)
                return bad(where + ": " + std::to_string(total + splitDataBytes) +
                           " bytes of header and data exceed the limit of " +
                           std::to_string(maxBytes));
            if (message.tensors.count(name))
                return bad(where + ": value name repeated");
            message.tensors[name] = Tensor::empty(type, std::move(shape));
            continue;
        }
        const std::size_t padding = paddingAt(in.offset());
        SB_ASSIGN_OR_RETURN(const std::uint8_t *pad, in.bytes(padding, "'" + name + "' padding"));
        for (std::size_t i = 0; i < padding; ++i)
            if (pad[i] != 0)
                return bad(where + ": non-zero padding before the data");
        SB_ASSIGN_OR_RETURN(const std::uint8_t *bytes,
                            in.bytes(static_cast<std::size_t>(dataBytes), "'" + name + "' data"));
        if (message.tensors.count(name))
            return bad(where + ": value name repeated");
        if (owner && reinterpret_cast<std::uintptr_t>(bytes) % kFrameDataAlignment == 0) {
            // The frame is the receiver's own (see the header): no copy.
            message.tensors[name] =
                Tensor::view(type, std::move(shape), const_cast<std::uint8_t *>(bytes), owner);
            continue;
        }
        Tensor tensor = Tensor::empty(type, shape);
        if (dataBytes)
            std::memcpy(tensor.data(), bytes, static_cast<std::size_t>(dataBytes));
        message.tensors[name] = std::move(tensor);
    }
    if (in.left() != 0)
        return bad(std::to_string(in.left()) + " bytes after the last tensor");
    return message;
}

} // namespace

Result<TransportMessage> decodeFrame(const std::uint8_t *data, std::size_t size,
                                     std::uint64_t maxBytes)
{
    return decode(data, size, nullptr, maxBytes, false);
}

Result<TransportMessage> decodeSplitHeader(const std::uint8_t *data, std::size_t size,
                                           std::uint64_t maxBytes)
{
    return decode(data, size, nullptr, maxBytes, true);
}

Result<TransportMessage> decodeFrame(std::shared_ptr<std::uint8_t> frame, std::size_t size,
                                     std::uint64_t maxBytes)
{
    const std::uint8_t *data = frame.get();
    return decode(data, size, frame, maxBytes, false);
}

} // namespace sb::runtime
