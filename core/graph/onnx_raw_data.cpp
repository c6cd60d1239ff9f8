#include "core/graph/onnx_raw_data.h"

#include <cstring>

namespace sb::graph::detail {

namespace {

bool readVarint(const std::uint8_t *&p, const std::uint8_t *end, std::uint64_t &value)
{
    value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p >= end)
            return false;
        std::uint8_t byte = *p++;
        value |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
        if (!(byte & 0x80))
            return true;
    }
    return false;
}

// Calls fn(field, begin, end) for every length-delimited field of the message
// in [p, end) and skips the others. False on malformed input.
template <typename Fn>
bool forEachLengthField(const std::uint8_t *p, const std::uint8_t *end, Fn &&fn)
{
    while (p < end) {
        std::uint64_t tag = 0;
        if (!readVarint(p, end, tag))
            return false;
        std::uint64_t field = tag >> 3;
        switch (tag & 7) {
        case 0: {
            std::uint64_t ignored;
            if (!readVarint(p, end, ignored))
                return false;
            break;
        }
        case 1:
            if (end - p < 8)
                return false;
            p += 8;
            break;
        case 5:
            if (end - p < 4)
                return false;
            p += 4;
            break;
        case 2: {
            std::uint64_t length = 0;
            if (!readVarint(p, end, length) || length > static_cast<std::uint64_t>(end - p))
                return false;
            if (!fn(field, p, p + length))
                return false;
            p += length;
            break;
        }
        default:
            return false; // groups: not used by ONNX
        }
    }
    return true;
}

} // namespace

// (offset, size) of each top-level initializer's raw_data, in order; size_t(-1)
// offset when it has none. Empty when the layout is not the plain one.
std::vector<std::pair<std::size_t, std::size_t>> locateRawData(const std::uint8_t *data,
                                                               std::size_t size)
{
    std::vector<std::pair<std::size_t, std::size_t>> located;
    bool ok = forEachLengthField(
        data, data + size, [&](std::uint64_t field, const std::uint8_t *b, const std::uint8_t *e) {
            if (field != 7) // ModelProto.graph
                return true;
            return forEachLengthField(
                b, e, [&](std::uint64_t gField, const std::uint8_t *tb, const std::uint8_t *te) {
                    if (gField != 5) // GraphProto.initializer
                        return true;
                    std::pair<std::size_t, std::size_t> raw{static_cast<std::size_t>(-1), 0};
                    bool inner = forEachLengthField(
                        tb, te,
                        [&](std::uint64_t tField, const std::uint8_t *rb, const std::uint8_t *re) {
                            if (tField == 9) // TensorProto.raw_data (last one wins, as in parsing)
                                raw = {static_cast<std::size_t>(rb - data),
                                       static_cast<std::size_t>(re - rb)};
                            return true;
                        });
                    located.push_back(raw);
                    return inner;
                });
        });
    if (!ok)
        located.clear();
    return located;
}

// Maps each top-level initializer to its raw_data bytes in the file, after
// checking that the walk agrees with what protobuf parsed.
void mapRawDataToFile(ImportContext &ctx, std::string_view bytes)
{
    if (!ctx.file)
        return;
    const auto *base = reinterpret_cast<const std::uint8_t *>(bytes.data());
    auto located = locateRawData(base, bytes.size());
    const auto &inits = ctx.model->graph().initializer();
    // A model with several `graph` fields merges them; keep it simple and
    // borrow only when the walk matches one-to-one.
    if (static_cast<int>(located.size()) != inits.size())
        return;
    for (int i = 0; i < inits.size(); ++i) {
        const auto &tensor = inits.Get(i);
        const auto [offset, length] = located[static_cast<std::size_t>(i)];
        if (!tensor.has_raw_data() || offset == static_cast<std::size_t>(-1))
            continue;
        if (length != tensor.raw_data().size() ||
            std::memcmp(base + offset, tensor.raw_data().data(), length) != 0)
            return; // not the layout we think: borrow from the proto instead
    }
    for (int i = 0; i < inits.size(); ++i) {
        const auto &tensor = inits.Get(i);
        const auto [offset, length] = located[static_cast<std::size_t>(i)];
        if (tensor.has_raw_data() && offset != static_cast<std::size_t>(-1))
            ctx.rawInFile[&tensor] = {offset, length};
    }
}

} // namespace sb::graph::detail
